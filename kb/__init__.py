"""Tier Zero's knowledge base: articles, their index, and hybrid retrieval that knows when it does not know.

Plain Python over SQLAlchemy, faiss and an embedding model; nothing here knows about Rasa or HTTP.
"""

from kb.embeddings import DEFAULT_MODEL, EmbeddingError, load_embedder
from kb.lang import SUPPORTED_LANGUAGES, detect_language
from kb.models import Article, KBBase
from kb.search import Candidate, DecisionPolicy, KnowledgeBase, SearchResult

__all__ = [
    "DEFAULT_MODEL",
    "SUPPORTED_LANGUAGES",
    "Article",
    "Candidate",
    "DecisionPolicy",
    "EmbeddingError",
    "KBBase",
    "KnowledgeBase",
    "SearchResult",
    "detect_language",
    "load_embedder",
]
