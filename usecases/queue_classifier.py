"""The live queue classifier: what routing asks when no hard rule matches (`handoff.routing.route`).

It learns from two things, both explicit:

- the knowledge base's passages (titles, alternative questions, body chunks), each labelled with the queue its
  article's `topic` routes to by the topic rules (`handoff.classifier.topic_queues`); their vectors are already in
  the index, so this costs no embedding; articles without a topic, or whose topic no rule routes, are left out;
- once there are at least `classifier.min_moved_tickets` of them, the tickets agents resolved in a queue other
  than the one they were routed to, of the same tier (`handoff.classifier.moved_tickets`), labelled with the queue
  that resolved them; their texts are embedded, so this runs in the background at start-up.

With examples of fewer than two queues there is no classifier: `__call__` returns None and routing goes on as if
there were none (hard rules, yielding rules, default).

What it can do depends on those examples. On the demo knowledge base (42 articles in en/ja/ko on 14 subjects, 340
passages, four queues: orders 145, billing 98, account 72, technical 25) it only knows those 14 subjects. Of the 84
demo questions on them, the shipped order (hard rules, this classifier, the keyword rules) routes 0.881 right,
against 0.607 for the keyword rules alone. But it has never seen a question outside them nor an example of the
default queue: of the 30 demo questions off the subjects it leaves only a third to the default queue (the keyword
rules alone 0.900), and 17 of the other 20 go to orders, the queue with the most passages. (`python -m
bench.routing_eval demo`, bench/routing_results.md.)
A handoff is often one the knowledge base could not answer, so expect the tickets agents move to teach it more than
the passages, once there are some.

It is trained once at start-up (`train`, `learn_from_moves`); an article published or a ticket moved later is
learnt at the next start.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sqlalchemy.orm import Session

from handoff.classifier import TopicClassifier, moved_tickets, topic_queues
from handoff.policies import Policies
from kb import KnowledgeBase

logger = logging.getLogger(__name__)

# Up to this many passages the classifier is trained where the start-up runs (well under a second); a bigger
# knowledge base trains it in the background, the handoffs meanwhile routed without it.
TRAIN_AT_ONCE_UP_TO = 5_000
MAX_PASSAGES = 50_000  # beyond this many, an evenly spaced sample of them


class QueueClassifier:
    """`classify(text) -> (queue, confidence)` for `HandoffService`, or None until it is trained with examples of
    at least two queues. Training swaps the model in at once, so it may run in another thread than the routing."""

    def __init__(self, kb: KnowledgeBase, policies: Policies) -> None:
        self.kb = kb
        self.policies = policies
        self._model: TopicClassifier | None = None
        self._lock = threading.Lock()
        self.trained_on: dict[str, Counter[str]] = {}  # "passages" / "moved tickets" → examples per queue

    def __call__(self, text: str) -> tuple[str, float] | None:
        model = self._model
        return model(text) if model is not None else None

    @property
    def ready(self) -> bool:
        return self._model is not None

    @property
    def quick(self) -> bool:
        """Whether training on the knowledge base is quick enough to run at once (`TRAIN_AT_ONCE_UP_TO`)."""
        return len(self.kb.vectors) <= TRAIN_AT_ONCE_UP_TO

    def passages(self) -> tuple[np.ndarray, list[str]]:
        """The knowledge base's passage vectors whose article's topic routes to a queue, and those queues."""
        queues = topic_queues(self.policies)
        vectors, article_ids = self.kb.vectors.labelled_vectors()
        articles = self.kb.articles
        labels = [queues.get(a.topic or "") if (a := articles.get(i)) else None for i in article_ids]
        keep = [i for i, label in enumerate(labels) if label is not None]
        if len(keep) > MAX_PASSAGES:
            keep = [keep[int(j)] for j in np.linspace(0, len(keep) - 1, MAX_PASSAGES)]
        return vectors[keep], [str(labels[i]) for i in keep]

    def train(self, moved: Sequence[tuple[str, str]] = ()) -> bool:
        """Train on the knowledge base's passages and `moved` (text, queue) examples (their texts embedded now);
        False, and no classifier, when they name fewer than two queues."""
        vectors, labels = self.passages()
        if moved:
            moved_vectors = self.kb.embedder.embed_queries([text for text, _ in moved])
            vectors = np.concatenate([vectors, moved_vectors]) if len(vectors) else moved_vectors
            labels = [*labels, *(queue for _, queue in moved)]
        with self._lock:
            if len(set(labels)) < 2:
                self._model, self.trained_on = None, {}
                return False
            model = TopicClassifier(self.kb.embedder.embed_queries).fit_vectors(vectors, labels)
            self._model = model
            self.trained_on = {
                "passages": Counter(labels[: len(labels) - len(moved)]),
                "moved tickets": Counter(queue for _, queue in moved),
            }
        logger.info(
            "queue classifier trained on %d passages and %d moved tickets: %s",
            len(labels) - len(moved),
            len(moved),
            ", ".join(f"{q} {n}" for q, n in Counter(labels).most_common()),
        )
        return True

    def learn_from_moves(self, session: Session) -> int:
        """Train again with the tickets agents moved, if there are at least `classifier.min_moved_tickets`; train on
        the passages alone if that was not done yet. Returns how many moved tickets it learnt from."""
        moved = moved_tickets(session, self.policies)
        if len(moved) < self.policies.classifier.min_moved_tickets:
            if not self.ready:
                self.train()
            return 0
        self.train(moved)
        return len(moved)
