"""Hybrid retrieval over published articles and the decision to answer, clarify or escalate."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.classifier import MAX_TRAINING_PASSAGES, ArticleClassifier
from kb.embeddings import Embedder, same_model_as, same_vectors_as
from kb.index import Passage, VectorIndex
from kb.lang import detect_language, normalize
from kb.lexical import BM25Index
from kb.models import Article
from kb.query_vectors import QueryVectors

Decision = Literal["answer", "clarify", "escalate"]
SearchMode = Literal["hybrid", "dense", "lexical"]
# A policy fitted by `tierzero kb calibrate` is saved beside the index, in the data folder, under this name.
POLICY_FILE = "kb-policy.json"
MAX_QUERY_CHARS = 2000
# Up to this many passages a search whose vector is ready takes about a millisecond (1.1 ms at 100k passages, 7 ms
# at 1M: bench/results/latency.json), short enough to run where the caller is (`KnowledgeBase.search_is_quick`).
QUICK_SEARCH_PASSAGES = 200_000
# passages × articles: a knowledge base this small retrains its classifier at once (~0.3 s on one core), a bigger
# one in the background
TRAIN_AT_ONCE_UP_TO = 40_000
# An article with this tag needs a person to act (a refund, a request the product does not support in chat): when
# the bot finds it, it shows it and hands the customer to an agent.
NEEDS_AGENT_TAG = "needs-agent"
# Passages that are questions themselves, embedded as queries (see KnowledgeBase._embed); the rest as passages.
QUESTION_KINDS = ("question",)


class DecisionPolicy(BaseModel):
    """When to answer: thresholds on the best article's score, per query language.

    An article's score is its confidence (fused retrieval score) plus `probability_weight` times the article
    classifier's probability that it is the one (`kb.classifier`; 0 when the classifier is off — no
    `RetrievalSettings.classifier_weight` — or not trained yet, e.g. while a large knowledge base retrains it in
    the background after an edit). Cross-lingual
    matches score lower with e5 models, so a match in another language gets `cross_lingual_bonus` added to its
    confidence. `margin` is how far ahead of the runner-up the best article must be to be answered outright rather
    than offered as one of a few choices.

    The defaults are the demo knowledge base's fit with the default engine (e5-int8): `tierzero kb calibrate
    --labelled kb/demo/calibration.jsonl --target-wrong 0.03` (108 questions written for it, none of them the test
    suite's demo questions), which chose `probability_weight` 0.05 among `kb.calibrate.PROBABILITY_WEIGHTS`. On the
    test suite's 114 demo questions it answers 56 of the 84 in scope with none wrong (the others get a few articles
    to choose from, or the handoff) and escalates 24 of the 30 off-topic ones. With e5-onnx and its own fit (English
    answer threshold 0.925 against 0.944, margin 0.015 against 0.02) it answered 62 with none wrong and escalated 23.
    While the classifier is not trained yet the scores are lower, so the bot answers less, never more. A knowledge
    base of your own wants its own fit.
    """

    model_config = ConfigDict(extra="forbid")

    answer_threshold: dict[str, float] = Field(default_factory=lambda: {"en": 0.944, "ja": 0.963, "ko": 0.964})
    clarify_threshold: dict[str, float] = Field(default_factory=lambda: {"en": 0.894, "ja": 0.904, "ko": 0.964})
    margin: float = Field(default=0.02, ge=0, le=1)
    cross_lingual_bonus: float = Field(default=0.03, ge=0, le=1)
    max_choices: int = Field(default=3, ge=2, le=5)
    probability_weight: float = Field(default=0.05, ge=0, le=1)

    def scores(self, candidates: Sequence[Candidate]) -> list[float]:
        """What the thresholds are compared with, for each candidate."""
        return [c.confidence + self.probability_weight * c.probability for c in candidates]

    def threshold(self, table: dict[str, float], lang: str) -> float:
        return table.get(lang, table.get("en", 0.85))

    def decide(self, scores: list[float], lang: str, handoff: bool = False) -> Decision:
        """Answer, clarify or escalate, from the candidates' scores (in ranking order) for a question in `lang`.

        `handoff`: the best article needs an agent. Showing it hands the customer to a person, which misleads no
        one, so it is answered from the clarify threshold up (still by the margin) rather than offered as one of
        several choices."""
        if not scores:
            return "escalate"
        best = scores[0]
        runner_up = scores[1] if len(scores) > 1 else 0.0
        floor = self.threshold(self.clarify_threshold if handoff else self.answer_threshold, lang)
        if best >= floor and best - runner_up >= self.margin:
            return "answer"
        if best >= self.threshold(self.clarify_threshold, lang):
            return "clarify"
        return "escalate"

    def save(self, path: Path) -> None:
        """Write the policy as JSON (what `load` reads back)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DecisionPolicy:
        """Read a policy file; a file that is not valid JSON or has a bad field is an error naming the file. A file
        written before the classifier's probability counted (no `probability_weight`) has thresholds fitted on the
        confidence alone, so its weight is 0."""
        path = Path(path)
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(fields, dict):
                fields.setdefault("probability_weight", 0.0)
            return cls.model_validate(fields)
        except (ValueError, ValidationError) as error:
            raise ValueError(f"{path}: not a valid decision policy ({error})") from error

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> DecisionPolicy:
        """The policy fitted for this installation (`<data_dir>/kb-policy.json`), or the defaults if none was."""
        path = Path(data_dir) / POLICY_FILE
        return cls.load(path) if path.exists() else cls()


class RetrievalSettings(BaseModel):
    """How passage scores become an article's score (tuned with `bench/kb_tune.py` on fitting splits).

    Dense similarity understands paraphrase and other languages; shared rare words (BM25, scaled to the best
    lexical hit) add at most `lexical_weight`, enough to break the near-ties of a small embedding model. An
    article's dense score is its best passage's, blended (`support_weight`) with the mean of its best `support`
    passages, so an article that several of its alternative questions match beats one lucky phrasing. The
    article classifier (`kb.classifier`, regularised by `classifier_strength`) re-ranks the candidates by their
    confidence plus `classifier_weight` times its probability relative to its favourite (1 for the article it
    likes best); 0 turns it off. The defaults were tuned on BANKING77's fitting phrasings (bench/kb_tune.py).
    """

    model_config = ConfigDict(extra="forbid")

    lexical_weight: float = Field(default=0.03, ge=0, le=1)
    support: int = Field(default=1, ge=1, le=20)
    support_weight: float = Field(default=0.0, ge=0, le=1)
    dense_depth: int = Field(default=50, ge=1, le=10_000)
    classifier_weight: float = Field(default=0.02, ge=0, le=1)
    classifier_strength: float = Field(default=100.0, gt=0, le=1000)


@dataclass(frozen=True)
class ArticleView:
    """What search needs of a published article, kept in memory."""

    id: str
    group: str
    lang: str
    title: str
    summary: str
    topic: str | None
    tags: tuple[str, ...]

    @property
    def needs_agent(self) -> bool:
        """Finding this article means handing the customer to a person (see `NEEDS_AGENT_TAG`)."""
        return NEEDS_AGENT_TAG in self.tags


@dataclass
class Candidate:
    """One article found for a question, with the passage that matched and every score that ranked it."""

    article: ArticleView
    passage: str
    passage_kind: str
    dense: float
    lexical: float
    fused: float
    confidence: float
    classifier: float = 0.0  # the classifier's probability over its favourite's (0 when off or not trained yet)
    probability: float = 0.0  # the classifier's probability that this article is the one (0 when off)

    def card(self, base_url: str) -> dict:
        """The article as the widget shows it: title, snippet, link and how sure the bot is."""
        return {
            "id": self.article.id,
            "title": self.article.title,
            "lang": self.article.lang,
            "url": f"{base_url}/kb/{self.article.id}",
            "snippet": self.article.summary,
            "score": round(self.confidence, 4),
        }

    def to_dict(self) -> dict:
        return {
            "article_id": self.article.id,
            "title": self.article.title,
            "lang": self.article.lang,
            "topic": self.article.topic,
            "passage": self.passage,
            "passage_kind": self.passage_kind,
            "dense": round(self.dense, 4),
            "lexical": round(self.lexical, 4),
            "fused": round(self.fused, 4),
            "confidence": round(self.confidence, 4),
            "classifier": round(self.classifier, 4),
            "probability": round(self.probability, 4),
        }


@dataclass
class SearchResult:
    """The ranked candidates for a question and what the bot should do with them."""

    query: str
    lang: str
    decision: Decision
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def choices(self, policy: DecisionPolicy) -> list[Candidate]:
        """The candidates worth offering as buttons when the decision is to clarify."""
        floor = policy.threshold(policy.clarify_threshold, self.lang)
        scored = zip(self.candidates, policy.scores(self.candidates), strict=True)
        return [c for c, score in scored if score >= floor][: policy.max_choices]


def summarize(body: str, limit: int = 400) -> str:
    """The first paragraph of a Markdown body, as plain text, for the bot's short answer."""
    for paragraph in re.split(r"\n\s*\n", body.strip()):
        text = re.sub(r"[*_`#>]+", "", paragraph).strip()
        if re.search(r"[^\W_]", text):  # a rule (---) or a table's border is no summary
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return ""


def split_passages(article: Article, max_chars: int = 600) -> list[Passage]:
    """Split an article into passages: its title, each alternative question, and chunks of its body."""
    passages = [Passage(article.id, "title", article.title)]
    passages += [Passage(article.id, "question", q) for q in article.questions if q.strip()]
    chunk = ""
    for paragraph in re.split(r"\n\s*\n", article.body.strip()):
        paragraph = paragraph.strip()
        if chunk and len(chunk) + len(paragraph) > max_chars:
            passages.append(Passage(article.id, "body", f"{article.title}\n{chunk}"))
            chunk = ""
        chunk = f"{chunk}\n{paragraph}".strip()
    if chunk:
        passages.append(Passage(article.id, "body", f"{article.title}\n{chunk}"))
    return passages


class KnowledgeBase:
    """Searches published articles by meaning and by words, and keeps its index in step with the database.

    Example (with a session factory over the KB tables and an embedder from `kb.embeddings.load_embedder`)::

        kb = KnowledgeBase(SessionLocal, load_embedder("e5-int8"), Path("var/index"))
        kb.sync()
        kb.search("where is my parcel?").decision   # "answer", "clarify" or "escalate"

    Each published change is written to `index_dir` at once (`autosave`); see `save` for batching. The article
    classifier is retrained after every change: at once for a small knowledge base, else in a background thread
    (`classifier_in_background`), search using retrieval alone until it is ready; it is never used on articles it
    was not trained on.
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
        self._sessions = session_factory
        self.classifier_in_background = classifier_in_background
        self.autosave = autosave
        self.embedder = embedder
        self.query_vectors = QueryVectors(embedder)
        self.index_dir = Path(index_dir)
        self.policy = policy or DecisionPolicy.for_data_dir(self.index_dir.parent)
        self.retrieval = retrieval or RetrievalSettings()
        self._write_lock = threading.Lock()
        name = embedder.name
        saved = VectorIndex.load(
            self.index_dir, name, embedder.dim, also=same_vectors_as(name), rebuilt=same_model_as(name)
        )
        self.vectors = saved or VectorIndex(embedder.name, embedder.dim)
        self.lexical = BM25Index()
        self.articles: dict[str, ArticleView] = {}
        self._translations: dict[tuple[str, str], ArticleView] = {}  # (group, lang) → article, for _prefer_language
        self._generation = 0  # bumped by every change to the searchable articles
        self._classifier: tuple[int, ArticleClassifier | None] | None = None  # (generation trained on, model)
        self._trainer_lock = threading.Lock()
        self._trainer: threading.Thread | None = None
        self._training_wanted = False

    def sync(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Bring the index in line with the published articles; embed only what changed. Returns how many."""
        with self._sessions() as session:
            published = list(session.scalars(select(Article).where(Article.status == "published")))
            with self._write_lock:
                stale = [a for a in published if self.vectors.article_versions.get(a.id) != a.version]
                gone = set(self.vectors.article_versions) - {a.id for a in published}
                for article_id in gone:
                    self.vectors.remove(article_id)
                for done, article in enumerate(stale, 1):
                    self._embed(article)
                    if progress:
                        progress(done, len(stale))
                self.articles = {a.id: self._view(a) for a in published}
                self._translations = {(v.group, v.lang): v for v in self.articles.values()}
                self.lexical = BM25Index()
                for passage_id, passage in self.vectors.passages.items():
                    self.lexical.add(passage_id, passage.text)
                if stale or gone:
                    self.vectors.save(self.index_dir)
                    self._generation += 1
        if stale or gone or self._classifier is None:  # an unchanged knowledge base keeps its classifier
            self._classifier_outdated()
        return len(stale) + len(gone)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-embed every published article from scratch (after a model change); the old index serves until done."""
        with self._write_lock:
            self.vectors = VectorIndex(self.embedder.name, self.embedder.dim)
        return self.sync(progress)

    def refresh_article(self, article: Article) -> None:
        """Make one article's current state searchable (or unsearchable) at once, without a full sync."""
        with self._write_lock:
            for passage_id in self.vectors.article_passage_ids(article.id):
                self.lexical.remove(passage_id)
            if article.status == "published":
                self._embed(article)
                self._forget(article.id)
                view = self.articles[article.id] = self._view(article)
                self._translations[(view.group, view.lang)] = view
                for passage_id in self.vectors.article_passage_ids(article.id):
                    self.lexical.add(passage_id, self.vectors.passages[passage_id].text)
            else:
                self.vectors.remove(article.id)
                self._forget(article.id)
            if self.autosave:
                self.vectors.save(self.index_dir)
            self._generation += 1
        self._classifier_outdated()

    def train_classifier(self) -> bool:
        """Train the article classifier on the searchable passages now; False if there is nothing to learn (fewer
        than two articles, the classifier turned off, or more passages than `MAX_TRAINING_PASSAGES`)."""
        with self._write_lock:
            generation = self._generation
            wanted = self.retrieval.classifier_weight > 0 and len(self.vectors) <= MAX_TRAINING_PASSAGES
            vectors, labels = self.vectors.labelled_vectors() if wanted else (None, [])
        model = ArticleClassifier.train(vectors, labels, self.retrieval.classifier_strength) if wanted else None
        with self._write_lock:
            if self._generation == generation:
                self._classifier = (generation, model)
        return model is not None

    def _classifier_outdated(self) -> None:
        if not self.classifier_in_background or len(self.vectors) * len(self.articles) <= TRAIN_AT_ONCE_UP_TO:
            self.train_classifier()
            return
        with self._trainer_lock:
            self._training_wanted = True
            if self._trainer is None:
                self._trainer = threading.Thread(target=self._train_while_wanted, name="kb-classifier", daemon=True)
                self._trainer.start()

    def _train_while_wanted(self) -> None:
        while True:
            with self._trainer_lock:
                if not self._training_wanted:
                    self._trainer = None
                    return
                self._training_wanted = False
            self.train_classifier()

    def save(self) -> None:
        """Write the index to disk (what `refresh_article` does each time unless `autosave` is off).

        The database is the source of truth and the saved index only spares re-embedding: an article changed
        since the last save is embedded again by the next start's `sync`, so a batch of changes (an import, a
        replay) may turn `autosave` off and save once at the end without losing anything.
        """
        with self._write_lock:
            self.vectors.save(self.index_dir)

    def _forget(self, article_id: str) -> None:
        view = self.articles.pop(article_id, None)
        if view is not None and self._translations.get((view.group, view.lang)) is view:
            del self._translations[(view.group, view.lang)]

    def _embed(self, article: Article) -> None:
        """Index an article's passages, embedding only those the index does not hold already.

        An alternative question is a customer's question, so it is embedded the way questions are (e5's "query: "
        side): question-to-question similarity is symmetric and matches paraphrases better than question-to-passage.
        Titles stay passages: embedded as questions, short topic titles ("梅雨") matched too many questions (JSQuAD
        top-1 92.2 → 89.3 %) for a tie on BANKING77's fitting phrasings.
        """
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

    @staticmethod
    def _view(article: Article) -> ArticleView:
        return ArticleView(
            id=article.id,
            group=article.group,
            lang=article.lang,
            title=article.title,
            summary=summarize(article.body) or article.title,  # a body of only markup still says something
            topic=article.topic,
            tags=tuple(article.tags),
        )

    def prepare_search(self, text: str) -> None:
        """Start embedding a question that is about to be searched (see `QueryVectors`); returns at once."""
        query = normalize(text)[:MAX_QUERY_CHARS]
        if query:
            self.query_vectors.prepare(query)

    def search_is_quick(self, text: str) -> bool:
        """Whether searching `text` now takes a millisecond or two: it waits for no embedding (it needs none, or its
        vector, prepared by `prepare_search`, is done) and the index holds at most `QUICK_SEARCH_PASSAGES`. A server
        may run such a search where it is instead of handing it to a thread (and waiting for that thread, then for
        its own to wake); a longer one belongs in a thread, as the embedding and faiss release the interpreter."""
        query = normalize(text)[:MAX_QUERY_CHARS]
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
        settings = self.retrieval
        depth = depth or max(settings.dense_depth, k)
        if k <= 0 or depth < k:
            raise ValueError("search needs k > 0 and depth >= k")
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"unknown search mode {mode!r}: use hybrid, dense or lexical")
        query = normalize(text)[:MAX_QUERY_CHARS]
        lang = detect_language(query, default=lang or "en") or "en"
        if not query:
            return SearchResult(query, lang, "escalate")
        vector = self.query_vectors.take(query) if mode != "lexical" else None
        dense_hits = self.vectors.search(vector, depth) if vector is not None else []
        lexical_hits = self.lexical.search(query, depth) if mode != "dense" else []
        passages = self.vectors.passages
        support: dict[str, list[float]] = {}
        dense: dict[str, tuple[float, int]] = {}
        for passage_id, score in dense_hits:
            article_id = passages[passage_id].article_id
            if article_id in self.articles:
                support.setdefault(article_id, []).append(score)
                if article_id not in dense:
                    dense[article_id] = (score, passage_id)
        if settings.support_weight and settings.support > 1 and dense_hits:
            weight, floor = settings.support_weight, dense_hits[-1][1]  # passages not retrieved score below floor
            for article_id, (best, passage_id) in dense.items():
                scores = support[article_id][: settings.support]
                scores += [floor] * (settings.support - len(scores))
                dense[article_id] = ((1 - weight) * best + weight * sum(scores) / len(scores), passage_id)
        lexical: dict[str, tuple[float, int]] = {}
        for passage_id, score in lexical_hits:
            passage = passages.get(passage_id)
            if passage and passage.article_id in self.articles and passage.article_id not in lexical:
                lexical[passage.article_id] = (score, passage_id)
        top_lexical = max((score for score, _ in lexical.values()), default=0.0) or 1.0
        candidates = []
        for article_id in dense.keys() | lexical.keys():
            article = self.articles[article_id]
            dense_score, passage_id = dense.get(article_id, (0.0, None))
            lexical_score, lexical_passage = lexical.get(article_id, (0.0, None))
            passage = passages[passage_id if passage_id is not None else lexical_passage]
            if mode == "lexical":
                fused = lexical_score
            else:
                fused = dense_score + settings.lexical_weight * lexical_score / top_lexical
            bonus = self.policy.cross_lingual_bonus if article.lang != lang else 0.0
            candidates.append(
                Candidate(article, passage.text, passage.kind, dense_score, lexical_score, fused, fused + bonus)
            )
        weight, trained = settings.classifier_weight, self._classifier
        if mode == "hybrid" and weight and trained and trained[1] and trained[0] == self._generation:
            probabilities = trained[1].probabilities(vector)
            favourite = max(probabilities.values())
            for candidate in candidates:
                candidate.probability = probabilities.get(candidate.article.id, 0.0)
                candidate.classifier = candidate.probability / favourite
        # equal scores in article-id order: the same ranking on every run (set order changes with hash seeds)
        candidates.sort(key=lambda c: (-(c.confidence + weight * c.classifier), c.article.id))
        candidates = self._prefer_language(candidates, lang)[:k]
        handoff = bool(candidates) and candidates[0].article.needs_agent
        decision = self.policy.decide(self.policy.scores(candidates), lang, handoff=handoff)
        return SearchResult(query, lang, decision, candidates)

    def _prefer_language(self, candidates: list[Candidate], lang: str) -> list[Candidate]:
        """Keep one candidate per translation group, in the customer's language when it has one."""
        seen: set[str] = set()
        kept = []
        for candidate in candidates:
            if candidate.article.group in seen:
                continue
            seen.add(candidate.article.group)
            translation = self._translations.get((candidate.article.group, lang))
            if translation and translation.id != candidate.article.id:
                candidate.article = translation
            kept.append(candidate)
        return kept
