"""The knowledge base: search over the published articles, and the decision to answer, clarify or escalate.

`KnowledgeBase` puts together what the modules beside it do, each on its own:

- `kb.indexing.ArticleIndex`: the searchable articles, kept in step with the database (sync, edits, saving);
- `kb.training.ClassifierTraining`: the article classifier, retrained after each change;
- `kb.query_vectors.QueryVectors`: questions embedded ahead of their search;
- `kb.fusion.Fusion`: dense and lexical hits fused into ranked articles;
- `kb.decision.DecisionPolicy`: answer, clarify or escalate.

The types a caller of `search` meets (`Candidate`, `SearchResult`, `DecisionPolicy` and its `POLICY_FILE`,
`RetrievalSettings`) are importable from here too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from kb.decision import POLICY_FILE, Decision, DecisionPolicy
from kb.embeddings import Embedder
from kb.fusion import Fusion, RetrievalSettings, SearchMode
from kb.index import VectorIndex
from kb.indexing import ArticleIndex
from kb.lang import detect_language
from kb.lexical import BM25Index
from kb.models import Article
from kb.query_vectors import QueryVectors, search_text
from kb.results import ArticleView, Candidate, SearchResult
from kb.training import ClassifierTraining

__all__ = [
    "POLICY_FILE",
    "QUICK_SEARCH_PASSAGES",
    "Candidate",
    "Decision",
    "DecisionPolicy",
    "KnowledgeBase",
    "RetrievalSettings",
    "SearchMode",
    "SearchResult",
]

# Up to this many passages a search whose vector is ready is short enough to run where the caller is
# (`KnowledgeBase.search_is_quick`); bench/results/latency.json has the search times by index size.
QUICK_SEARCH_PASSAGES = 200_000


class KnowledgeBase:
    """Searches published articles by meaning and by words, and keeps its index in step with the database.

    Example (with a session factory over the KB tables and an embedder from `kb.embeddings.load_embedder`)::

        kb = KnowledgeBase(SessionLocal, load_embedder("e5-int8"), Path("var/index"))
        kb.sync()
        kb.search("where is my parcel?").decision   # "answer", "clarify" or "escalate"

    Each published change is written to `index_dir` at once (`autosave`); see `save` for batching. The article
    classifier is retrained after every change: at once for a small knowledge base, else in a background thread
    (`classifier_in_background`), search using retrieval alone until it is ready; it is never used on articles it
    was not trained on. `policy` and `retrieval` may be replaced at any time; the next search uses them.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        embedder: Embedder,
        index_dir: Path,
        policy: DecisionPolicy | None = None,
        retrieval: RetrievalSettings | None = None,
        autosave: bool = True,
        classifier_in_background: bool = True,
    ) -> None:
        self.embedder = embedder
        self.index_dir = Path(index_dir)
        self.policy = policy or DecisionPolicy.for_data_dir(self.index_dir.parent)
        self.retrieval = retrieval or RetrievalSettings()
        self.query_vectors = QueryVectors(embedder)
        self._index = ArticleIndex(session_factory, embedder, self.index_dir, autosave)
        self._training = ClassifierTraining(self._index, lambda: self.retrieval, classifier_in_background)

    @property
    def vectors(self) -> VectorIndex:
        """The passages' vectors (`kb.index.VectorIndex`)."""
        return self._index.vectors

    @property
    def lexical(self) -> BM25Index:
        """The lexical index over the same passages."""
        return self._index.lexical

    @property
    def articles(self) -> dict[str, ArticleView]:
        """The searchable (published) articles by id."""
        return self._index.articles

    @property
    def autosave(self) -> bool:
        """Whether each published change is written to `index_dir` at once."""
        return self._index.autosave

    @property
    def classifier_in_background(self) -> bool:
        """Whether a large knowledge base retrains its classifier in a background thread."""
        return self._training.in_background

    def sync(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Bring the index in line with the published articles; embed only what changed. Returns how many."""
        changed = self._index.sync(progress)
        if changed or not self._training.ever_trained:  # an unchanged knowledge base keeps its classifier
            self._training.outdated()
        return changed

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-embed every published article from scratch (after a model change); the old index serves until done."""
        self._index.clear()
        return self.sync(progress)

    def refresh_article(self, article: Article) -> None:
        """Make one article's current state searchable (or unsearchable) at once, without a full sync."""
        self._index.refresh(article)
        self._training.outdated()

    def train_classifier(self) -> bool:
        """Train the article classifier on the searchable passages now; False if there is nothing to learn (fewer
        than two articles, the classifier turned off, or more passages than `kb.classifier.MAX_TRAINING_PASSAGES`)."""
        return self._training.train()

    def save(self) -> None:
        """Write the index to disk (what `refresh_article` does each time unless `autosave` is off).

        The database is the source of truth and the saved index only spares re-embedding: an article changed
        since the last save is embedded again by the next start's `sync`, so a batch of changes (an import, a
        replay) may turn `autosave` off and save once at the end without losing anything.
        """
        self._index.save()

    def prepare_search(self, text: str) -> None:
        """Start embedding a question that is about to be searched (see `QueryVectors`); returns at once."""
        query = search_text(text)
        if query:
            self.query_vectors.prepare(query)

    def search_is_quick(self, text: str) -> bool:
        """Whether searching `text` now is quick: it waits for no embedding (it needs none, or its vector, prepared
        by `prepare_search`, is done) and the index holds at most `QUICK_SEARCH_PASSAGES`. A server may run such a
        search where it is instead of handing it to a thread (and waiting for that thread, then for its own to
        wake); a longer one belongs in a thread, as the embedding and faiss release the interpreter."""
        query = search_text(text)
        return not query or (len(self.vectors) <= QUICK_SEARCH_PASSAGES and self.query_vectors.ready(query))

    def search(
        self, text: str, lang: str | None = None, k: int = 5, depth: int | None = None, mode: SearchMode = "hybrid"
    ) -> SearchResult:
        """Rank published articles for a question by fused dense and lexical scores, and decide what to do.

        `lang` is the customer's language (detected from the text when not given); an article in that language
        is preferred over a translation that scored the same. `mode` "dense" or "lexical" ranks by one side only
        (the benchmark's baselines); their confidence is that side's raw score. `depth` is how many passages each
        side retrieves before they are grouped into articles (default: the retrieval settings').
        """
        settings, policy, index = self.retrieval, self.policy, self._index
        depth = depth or max(settings.dense_depth, k)
        if k <= 0 or depth < k:
            raise ValueError("search needs k > 0 and depth >= k")
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"unknown search mode {mode!r}: use hybrid, dense or lexical")
        query = search_text(text)
        lang = detect_language(query, default=lang or "en") or "en"
        if not query:
            return SearchResult(query, lang, "escalate")
        vector = self.query_vectors.take(query) if mode != "lexical" else None
        dense_hits = index.vectors.search(vector, depth) if vector is not None else []
        lexical_hits = index.lexical.search(query, depth) if mode != "dense" else []
        fusion = Fusion(settings, policy.cross_lingual_bonus)
        candidates = fusion.candidates(dense_hits, lexical_hits, index.vectors.passages, index.articles, lang, mode)
        classifier = self._training.current() if mode == "hybrid" and settings.classifier_weight else None
        probabilities = classifier.probabilities(vector) if classifier is not None else None
        candidates = self._prefer_language(fusion.rank(candidates, probabilities), lang)[:k]
        return SearchResult(query, lang, policy.decide_for(candidates, lang), candidates)

    def _prefer_language(self, candidates: list[Candidate], lang: str) -> list[Candidate]:
        """Keep one candidate per translation group, in the customer's language when it has one."""
        seen: set[str] = set()
        kept = []
        for candidate in candidates:
            if candidate.article.group in seen:
                continue
            seen.add(candidate.article.group)
            translation = self._index.translation(candidate.article.group, lang)
            if translation and translation.id != candidate.article.id:
                candidate.article = translation
            kept.append(candidate)
        return kept
