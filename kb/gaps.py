"""Knowledge gaps: what customers asked that the knowledge base could not answer, grouped so that an editor writes
one article per missing topic; and the articles that look redundant or that agents keep overriding.

Plain data in, plain data out: the report's use case gathers the questions and what followed each article from the
handoff tables (usecases/gaps.py); nothing here knows about tickets, conversations or HTTP.

Questions are grouped by average-linkage agglomerative clustering on the cosine similarity of their embeddings: two
groups merge while the mean similarity between their questions is at least `threshold`. Unlike single linkage it does
not chain unrelated questions through a bridge of in-between ones, and it is deterministic for a given input order
(questions are sorted by time, then text, first). The default threshold sits between the similarities of paraphrases
of one question in one language and of different questions in one domain, as multilingual-e5-small scores the demo
questions (tests/data/demo_questions.jsonl; measure them again for another engine): it keeps topics apart at the
cost of splitting loosely worded paraphrases into several clusters. Cross-lingual paraphrases score lower and join
a cluster only when worded closely.

Example (with a `KnowledgeBase` over the published articles)::

    clusters = knowledge_gaps(kb, [UnansweredQuestion("do you sell gift cards?", "en", when), ...])
    clusters[0].title, clusters[0].count, clusters[0].nearest
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from kb.decision import Decision
from kb.search import KnowledgeBase
from kb.suggestions import MAX_PHRASING_CHARS, MERGE_SIMILARITY

DEFAULT_CLUSTER_SIMILARITY = 0.89
# Two published articles of different translation groups this similar (title and first paragraph) say the same
# thing; it is the threshold at which the learning loop merges suggestions. The distinct demo articles all stay below
# it (tests/api/test_gaps.py).
DEFAULT_DUPLICATE_SIMILARITY = MERGE_SIMILARITY
MAX_SAMPLES = 3
MAX_TITLE_CHARS = 80


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the bot could not answer, or answered and the customer still went to a person.

    `reason` says which: `no_answer` (nothing close enough in the knowledge base) or `asked_for_person`.
    """

    text: str
    lang: str
    when: datetime
    ticket: str | None = None
    reason: str = "no_answer"


@dataclass(frozen=True)
class NearestArticle:
    """The article the bot finds today for a cluster's central question, how sure it is and what it would do."""

    id: str
    title: str
    lang: str
    similarity: float
    decision: Decision


@dataclass
class GapCluster:
    """Questions about one missing topic: how many, in which languages, examples, and the nearest article."""

    title: str
    count: int
    languages: dict[str, int]
    reasons: dict[str, int]
    samples: list[str]
    tickets: list[str]
    first_seen: datetime
    last_seen: datetime
    cohesion: float  # mean similarity of the questions to the central one (1.0 for a single question)
    nearest: NearestArticle | None = None


@dataclass(frozen=True)
class ArticleRef:
    id: str
    title: str
    lang: str


@dataclass(frozen=True)
class DuplicatePair:
    """Two published articles, not translations of each other, that say much the same."""

    first: ArticleRef
    second: ArticleRef
    similarity: float
    same_language: bool


@dataclass(frozen=True)
class ArticleOutcome:
    """What followed one showing of an article to a customer.

    `escalated`: the customer asked for a person after it (before the bot showed anything else).
    `resolved_with`: the article the agent linked when resolving the ticket that followed, if any.
    """

    article_id: str
    escalated: bool = False
    resolved_with: str | None = None


@dataclass
class OverriddenArticle:
    """An article customers saw and then went to a person anyway, or that agents replaced with another article."""

    article_id: str
    title: str | None  # None when the article is no longer published
    shown: int
    escalated: int
    replaced: int
    replaced_by: dict[str, int] = field(default_factory=dict)

    @property
    def overridden(self) -> int:
        """Showings that ended in a person taking over or in another article."""
        return self.escalated + self.replaced


def _ranked(counts: dict[str, int]) -> dict[str, int]:
    """Counts, most common first (ties by key)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _counts(values: Iterable[str]) -> dict[str, int]:
    return _ranked(Counter(values))


def _clean(question: str) -> str:
    """A question as the learning loop keeps it: on one line, clipped (kb.suggestions)."""
    return " ".join(question.split())[:MAX_PHRASING_CHARS]


def _trimmed(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """The question as a title, cut at a word boundary when too long."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut).rstrip(" ,.;:、。") + "…"


def cluster_vectors(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Group rows of L2-normalised `vectors` by average linkage on cosine similarity, merging while the mean
    similarity between two groups is at least `threshold`. Groups are lists of row numbers, largest group first
    (ties by first row); a single row is its own group.

    >>> cluster_vectors(np.array([[1.0, 0.0], [0.96, 0.28], [0.0, 1.0]]), 0.9)
    [[0, 1], [2]]
    """
    if not 0 < threshold <= 1:
        raise ValueError("the clustering threshold is a cosine similarity in (0, 1]")
    count = len(vectors)
    if count < 2:
        return [[0]] if count else []
    similarity = np.clip(vectors @ vectors.T, -1.0, 1.0)
    distance = squareform(1.0 - similarity, checks=False)  # the upper triangle, as scipy wants it
    labels = fcluster(linkage(np.maximum(distance, 0.0), method="average"), t=1.0 - threshold, criterion="distance")
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(labels):
        groups.setdefault(int(label), []).append(row)
    return sorted(groups.values(), key=lambda rows: (-len(rows), rows[0]))


def knowledge_gaps(
    kb: KnowledgeBase,
    questions: list[UnansweredQuestion],
    *,
    threshold: float = DEFAULT_CLUSTER_SIMILARITY,
    min_count: int = 1,
) -> list[GapCluster]:
    """Cluster unanswered questions by meaning, biggest cluster first, keeping those asked at least `min_count` times.

    Each cluster is titled by its central question (the one most similar to the others, in the cluster's most
    common language), with up to three samples (most central first) and the article the bot finds for it today.
    """
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    questions = sorted((q for q in questions if _clean(q.text)), key=lambda q: (q.when, _clean(q.text), q.ticket or ""))
    if not questions:
        return []
    texts = [_clean(q.text) for q in questions]
    vectors = kb.embedder.embed_queries(texts)
    clusters = []
    for rows in cluster_vectors(vectors, threshold):
        if len(rows) < min_count:
            break  # groups come largest first
        clusters.append(_describe(kb, [questions[r] for r in rows], [texts[r] for r in rows], vectors[rows]))
    clusters.sort(key=lambda c: (-c.count, -c.last_seen.timestamp(), c.title))
    return clusters


def _describe(
    kb: KnowledgeBase, members: list[UnansweredQuestion], texts: list[str], vectors: np.ndarray
) -> GapCluster:
    similarity = vectors @ vectors.T
    size = len(members)
    centrality = (similarity.sum(axis=1) - 1.0) / (size - 1) if size > 1 else np.ones(1)
    order = sorted(range(size), key=lambda i: (-round(float(centrality[i]), 6), i))
    languages = _counts(q.lang for q in members)
    main_language = next(iter(languages))
    central = next(i for i in order if members[i].lang == main_language)
    samples: list[str] = []
    for i in order:
        if texts[i].casefold() not in {s.casefold() for s in samples}:
            samples.append(texts[i])
        if len(samples) == MAX_SAMPLES:
            break
    best = kb.search(texts[central], lang=members[central].lang)
    nearest = None
    if best.best is not None:
        article = best.best.article
        nearest = NearestArticle(article.id, article.title, article.lang, round(best.best.confidence, 4), best.decision)
    return GapCluster(
        title=_trimmed(texts[central]),
        count=size,
        languages=languages,
        reasons=_counts(q.reason for q in members),
        samples=samples,
        tickets=list(dict.fromkeys(q.ticket for q in members if q.ticket)),
        first_seen=min(q.when for q in members),
        last_seen=max(q.when for q in members),
        cohesion=round(float(centrality[central]), 4),
        nearest=nearest,
    )


def near_duplicate_articles(kb: KnowledgeBase, threshold: float = DEFAULT_DUPLICATE_SIMILARITY) -> list[DuplicatePair]:
    """Pairs of published articles, not in the same translation group, whose title and first paragraph embed at
    least `threshold` alike: candidates to merge, or to link as translations when their languages differ.
    Most similar first. Embeds every published article once (about a second per hundred)."""
    if not 0 < threshold <= 1:
        raise ValueError("the duplicate threshold is a cosine similarity in (0, 1]")
    views = sorted(kb.articles.values(), key=lambda v: v.id)
    if len(views) < 2:
        return []
    vectors = kb.embedder.embed_passages([f"{v.title}\n{v.summary}" for v in views])
    similarity = vectors @ vectors.T
    pairs = []
    for i, j in zip(*np.nonzero(np.triu(similarity >= threshold, k=1)), strict=True):
        first, second = views[int(i)], views[int(j)]
        if first.group == second.group:
            continue
        pairs.append(
            DuplicatePair(
                first=ArticleRef(first.id, first.title, first.lang),
                second=ArticleRef(second.id, second.title, second.lang),
                similarity=round(float(similarity[i, j]), 4),
                same_language=first.lang == second.lang,
            )
        )
    pairs.sort(key=lambda p: (-p.similarity, p.first.id, p.second.id))
    return pairs


def overridden_articles(
    kb: KnowledgeBase, outcomes: Iterable[ArticleOutcome], min_count: int = 1
) -> list[OverriddenArticle]:
    """Articles overridden at least `min_count` times (customers went to a person after seeing them, or the agent
    resolved the ticket with another article), most overridden first, with how often each was shown."""
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    tally: dict[str, OverriddenArticle] = {}
    for outcome in outcomes:
        view = kb.articles.get(outcome.article_id)
        entry = tally.setdefault(
            outcome.article_id, OverriddenArticle(outcome.article_id, view.title if view else None, 0, 0, 0)
        )
        entry.shown += 1
        entry.escalated += outcome.escalated
        if outcome.resolved_with and outcome.resolved_with != outcome.article_id:
            entry.replaced += 1
            entry.replaced_by[outcome.resolved_with] = entry.replaced_by.get(outcome.resolved_with, 0) + 1
    kept = [entry for entry in tally.values() if entry.overridden >= min_count]
    for entry in kept:
        entry.replaced_by = _ranked(entry.replaced_by)
    kept.sort(key=lambda e: (-e.overridden, -e.overridden / e.shown, e.article_id))
    return kept
