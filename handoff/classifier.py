"""The queue classifier for the handoffs no hard routing rule matches: logistic regression on sentence embeddings.

It takes any `embed(texts) -> array` function (the knowledge base's embedding model in the API, any model in the
benchmark), so this module does not depend on a particular model. What it learns from in the API — the knowledge
base's passages labelled by the topic rules (`topic_queues`) and the tickets agents moved (`moved_tickets`) — is put
together by `usecases.queue_classifier`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import Ticket, TicketEvent
from handoff.policies import Policies

Embed = Callable[[list[str]], np.ndarray]
MAX_MOVED_TICKETS = 5000  # the newest ones; their texts are embedded at start-up


def topic_queues(policies: Policies) -> dict[str, str]:
    """The queue each topic routes to: the first routing rule naming the topic whatever the customer, channel and
    language (a topic rule for enterprise customers only does not say where the topic goes).

    >>> from handoff.policies import load_policies
    >>> topic_queues(load_policies())
    {'billing': 'billing', 'account': 'account', 'technical': 'technical', 'orders': 'orders'}
    """
    queues: dict[str, str] = {}
    for rule in policies.routing:
        if not (rule.customer or rule.channels or rule.languages):
            for topic in rule.topics:
                queues.setdefault(topic, rule.queue)
    return queues


def handoff_text(question: str | None, description: str) -> str:
    """What the classifier reads of a handoff: the question and the description, as routing reads them."""
    return " ".join(dict.fromkeys(t for t in (question, description) if t and t.strip()))


def moved_tickets(session: Session, policies: Policies, limit: int = MAX_MOVED_TICKETS) -> list[tuple[str, str]]:
    """(text, queue) of the newest tickets agents resolved in another queue than the one they were routed to, of
    the same tier: a sideways move corrects the routing (a move up a tier is an escalation, not a correction).
    Queues no longer configured are left out."""
    rows = session.execute(
        select(Ticket.question, Ticket.description, Ticket.queue, TicketEvent.detail)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(TicketEvent.action == "created", Ticket.resolved_at.is_not(None))
        .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())
    )
    found: list[tuple[str, str]] = []
    for question, description, queue, created in rows:
        routed = (created or {}).get("queue")
        if (
            routed != queue
            and routed in policies.queues
            and queue in policies.queues
            and policies.tier(queue) == policies.tier(routed)
            and (text := handoff_text(question, description))
        ):
            found.append((text, queue))
            if len(found) >= limit:
                break
    return found


class TopicClassifier:
    """Predicts a queue for a text with a confidence (the top class probability); usable as `route(classify=…)`.

    >>> def embed(texts):  # a toy embedding: does the text mention money?
    ...     return np.array([[1.0, 0.0] if "refund" in t else [0.0, 1.0] for t in texts])
    >>> classifier = TopicClassifier(embed).fit(["refund me", "refund now", "hello", "hi there"],
    ...                                         ["billing", "billing", "general", "general"])
    >>> classifier("a refund please")[0]
    'billing'
    """

    def __init__(self, embed: Embed, c: float = 4.0) -> None:
        if c <= 0:
            raise ValueError("the regularisation strength c must be positive")
        self.embed = embed
        self.model = LogisticRegression(C=c, max_iter=2000)

    def fit(self, texts: Sequence[str], queues: Sequence[str]) -> TopicClassifier:
        """Learn from labelled texts (at least two queues)."""
        if len(set(queues)) < 2:
            raise ValueError("the classifier needs examples of at least two queues")
        return self.fit_vectors(self.embed(list(texts)), queues)

    def fit_vectors(self, vectors: np.ndarray, queues: Sequence[str]) -> TopicClassifier:
        """Learn from texts already embedded (saves embedding the same texts twice in a benchmark)."""
        self.model.fit(vectors, list(queues))
        return self

    def predict_vectors(self, vectors: np.ndarray) -> list[tuple[str, float]]:
        probabilities = self.model.predict_proba(vectors)
        best = probabilities.argmax(axis=1)
        return [(str(self.model.classes_[i]), float(p[i])) for i, p in zip(best, probabilities, strict=True)]

    def __call__(self, text: str) -> tuple[str, float]:
        return self.predict_vectors(self.embed([text]))[0]
