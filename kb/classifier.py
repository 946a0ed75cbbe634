"""An article classifier learned from the knowledge base itself: which article a question belongs to.

Every published article's passages (title, alternative questions, body) are labelled examples of the questions it
answers. A multinomial logistic regression over their embedding vectors learns what tells close articles apart —
the words that make "card not arrived" a different question from "card not working" — where nearest-neighbour
search only sees which single phrasing is closest. Search uses its probabilities to re-rank the candidates that
retrieval found (`RetrievalSettings.classifier_weight`); the decision to answer still rests on the retrieval
scores, so a question on which the two disagree is offered choices rather than answered.

The classifier reuses the vectors already in the index: it costs no embedding at index or query time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

# Above this many passages the classifier is not trained (its training would take too long); search is then
# retrieval alone.
MAX_TRAINING_PASSAGES = 50_000


@dataclass(frozen=True)
class ArticleClassifier:
    """Probabilities over articles for a question vector.

    >>> import numpy as np
    >>> vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    >>> model = ArticleClassifier.train(vectors, ["a", "a", "b", "b"])
    >>> max(model.probabilities(np.array([1.0, 0.0])).items(), key=lambda kv: kv[1])[0]
    'a'
    """

    articles: tuple[str, ...]
    weights: np.ndarray  # (dim, articles)
    bias: np.ndarray  # (articles,)

    @classmethod
    def train(cls, vectors: np.ndarray, labels: Sequence[str], strength: float = 100.0) -> ArticleClassifier | None:
        """Fit on passage vectors labelled with their article id; None when there are fewer than two articles."""
        if len(vectors) != len(labels):
            raise ValueError("one label per vector is needed")
        if strength <= 0:
            raise ValueError("strength must be positive")
        articles = tuple(sorted(set(labels)))
        if len(articles) < 2:
            return None
        model = LogisticRegression(C=strength, max_iter=3000)
        model.fit(np.asarray(vectors, dtype=np.float32), np.asarray(labels))
        weights, bias = model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32)
        if len(articles) == 2:  # a binary model keeps one column, for the second class
            weights, bias = np.hstack([-weights / 2, weights / 2]), np.array([-bias[0] / 2, bias[0] / 2], np.float32)
        return cls(tuple(str(a) for a in model.classes_), weights, bias)

    def probabilities(self, vector: np.ndarray) -> dict[str, float]:
        """Each article's probability of being the one the question (a query vector) is about."""
        logits = np.asarray(vector, dtype=np.float32).reshape(-1) @ self.weights + self.bias
        exp = np.exp(logits - logits.max())
        return dict(zip(self.articles, (exp / exp.sum()).tolist(), strict=True))
