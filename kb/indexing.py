"""The searchable articles, kept in step with the database: their passages' vectors, a lexical index over the same
passages, and what search shows of each article."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.embeddings import Embedder, same_model_as, same_vectors_as
from kb.index import VectorIndex
from kb.lexical import BM25Index
from kb.models import Article
from kb.passages import QUESTION_KINDS, article_view, split_passages
from kb.results import ArticleView


class ArticleIndex:
    """The published articles as search reads them, and the writes that keep them so.

    `vectors` is loaded from `index_dir` when a saved index there was built by this embedder or one whose vectors
    are the same, embedded again article by article when it was built by the same model at another precision, and
    started empty otherwise. Every write happens under `lock` and bumps `generation`, which the classifier's
    training uses to tell whether what it learned is still current. Search reads without the lock: the vector and
    lexical indexes lock themselves, and it ignores a passage whose article is no longer in `articles`.
    """

    def __init__(
        self, session_factory: Callable[[], Session], embedder: Embedder, index_dir: Path, autosave: bool = True
    ) -> None:
        self._sessions = session_factory
        self.embedder = embedder
        self.index_dir = Path(index_dir)
        self.autosave = autosave
        self.lock = threading.Lock()
        name = embedder.name
        saved = VectorIndex.load(
            self.index_dir, name, embedder.dim, also=same_vectors_as(name), rebuilt=same_model_as(name)
        )
        self.vectors = saved or VectorIndex(name, embedder.dim)
        self.lexical = BM25Index()
        self.articles: dict[str, ArticleView] = {}
        self._translations: dict[tuple[str, str], ArticleView] = {}  # (group, lang) → article
        self.generation = 0  # bumped by every change to the searchable articles

    def translation(self, group: str, lang: str) -> ArticleView | None:
        """The published article of a translation group in a language, if there is one."""
        return self._translations.get((group, lang))

    def sync(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Bring the index in line with the published articles; embed only what changed. Returns how many."""
        with self._sessions() as session:
            published = list(session.scalars(select(Article).where(Article.status == "published")))
            with self.lock:
                stale = [a for a in published if self.vectors.article_versions.get(a.id) != a.version]
                gone = set(self.vectors.article_versions) - {a.id for a in published}
                for article_id in gone:
                    self.vectors.remove(article_id)
                for done, article in enumerate(stale, 1):
                    self._embed(article)
                    if progress:
                        progress(done, len(stale))
                self.articles = {a.id: article_view(a) for a in published}
                self._translations = {(v.group, v.lang): v for v in self.articles.values()}
                self.lexical = BM25Index()
                for passage_id, passage in self.vectors.passages.items():
                    self.lexical.add(passage_id, passage.text)
                if stale or gone:
                    self.vectors.save(self.index_dir)
                    self.generation += 1
        return len(stale) + len(gone)

    def clear(self) -> None:
        """Forget every vector (the next `sync` embeds every published article); the old index serves until then."""
        with self.lock:
            self.vectors = VectorIndex(self.embedder.name, self.embedder.dim)

    def refresh(self, article: Article) -> None:
        """Make one article's current state searchable (or unsearchable) at once, without a full sync."""
        with self.lock:
            for passage_id in self.vectors.article_passage_ids(article.id):
                self.lexical.remove(passage_id)
            if article.status == "published":
                self._embed(article)
                self._forget(article.id)
                view = self.articles[article.id] = article_view(article)
                self._translations[(view.group, view.lang)] = view
                for passage_id in self.vectors.article_passage_ids(article.id):
                    self.lexical.add(passage_id, self.vectors.passages[passage_id].text)
            else:
                self.vectors.remove(article.id)
                self._forget(article.id)
            if self.autosave:
                self.vectors.save(self.index_dir)
            self.generation += 1

    def save(self) -> None:
        """Write the vectors to `index_dir` (what `refresh` does each time unless `autosave` is off)."""
        with self.lock:
            self.vectors.save(self.index_dir)

    def _forget(self, article_id: str) -> None:
        view = self.articles.pop(article_id, None)
        if view is not None and self._translations.get((view.group, view.lang)) is view:
            del self._translations[(view.group, view.lang)]

    def _embed(self, article: Article) -> None:
        """Index an article's passages, embedding only those the index does not hold already: questions as
        queries, the rest as passages (`kb.passages.QUESTION_KINDS` says why)."""
        passages = split_passages(article)
        known = self.vectors.article_vectors(article.id)
        missing = list(dict.fromkeys((p.kind, p.text) for p in passages if (p.kind, p.text) not in known))
        as_query = [key for key in missing if key[0] in QUESTION_KINDS]
        as_passage = [key for key in missing if key[0] not in QUESTION_KINDS]
        for todo, encode in ((as_query, self.embedder.embed_queries), (as_passage, self.embedder.embed_passages)):
            if todo:
                known.update(zip(todo, encode([text for _, text in todo]), strict=True))
        vectors = (
            np.stack([known[(p.kind, p.text)] for p in passages])
            if passages
            else np.zeros((0, self.embedder.dim), np.float32)
        )
        self.vectors.add(passages, vectors, article.id, article.version)
