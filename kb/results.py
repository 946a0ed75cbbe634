"""What a search returns: the articles it found, with every score that ranked them, and the decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.decision import Decision, DecisionPolicy

# An article with this tag needs a person to act (a refund, a request the product does not support in chat): when
# the bot finds it, it shows it and hands the customer to an agent.
NEEDS_AGENT_TAG = "needs-agent"


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
