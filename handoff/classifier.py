"""A topic classifier for the handoffs no routing rule matches: logistic regression on sentence embeddings.

It takes any `embed(texts) -> array` function (the knowledge base's embedding model in the API, any model in the
benchmark), so this module does not depend on a particular model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

Embed = Callable[[list[str]], np.ndarray]


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
