"""Any engine in a process of its own (``process:<spec>``): the caller's thread sleeps on a pipe while the model
computes, so neither process waits for the other's interpreter lock."""

from __future__ import annotations

import signal
import threading

import numpy as np

from kb.embeddings import EmbeddingError, load_embedder


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
