"""Keeping the article classifier trained on the searchable articles, at once or in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kb.classifier import MAX_TRAINING_PASSAGES, ArticleClassifier
from kb.fusion import RetrievalSettings
from kb.indexing import ArticleIndex

# passages × articles: a knowledge base up to this size retrains its classifier at once, a bigger one in the
# background (training time grows with both).
TRAIN_AT_ONCE_UP_TO = 40_000


class ClassifierTraining:
    """The classifier for the current generation of `index`'s articles, retrained after each change.

    A model is used only for the generation it was trained on: after a change, `current()` is None until the
    retraining is done, so search never scores an article the classifier has not seen. `settings` gives the
    retrieval settings at training time (`classifier_weight` 0 turns the classifier off). Changes that come while a
    background training runs are coalesced into one more training.
    """

    def __init__(
        self, index: ArticleIndex, settings: Callable[[], RetrievalSettings], in_background: bool = True
    ) -> None:
        self._index, self._settings = index, settings
        self.in_background = in_background
        self._trained: tuple[int, ArticleClassifier | None] | None = None  # (generation trained on, model)
        self._trainer_lock = threading.Lock()
        self._trainer: threading.Thread | None = None
        self._wanted = False

    @property
    def ever_trained(self) -> bool:
        """Whether a training has finished (its model may be outdated or None)."""
        return self._trained is not None

    def current(self) -> ArticleClassifier | None:
        """The model trained on the current generation, or None (off, nothing to learn, or not retrained yet)."""
        trained = self._trained
        if trained is None or trained[0] != self._index.generation:
            return None
        return trained[1]

    def train(self) -> bool:
        """Train now on the searchable passages; False if there is nothing to learn (fewer than two articles, the
        classifier turned off, or more passages than `MAX_TRAINING_PASSAGES`). A model trained on a generation that
        changed meanwhile is dropped (the change asked for another training)."""
        index, settings = self._index, self._settings()
        with index.lock:
            generation = index.generation
            wanted = settings.classifier_weight > 0 and len(index.vectors) <= MAX_TRAINING_PASSAGES
            vectors, labels = index.vectors.labelled_vectors() if wanted else (None, [])
        model = ArticleClassifier.train(vectors, labels, settings.classifier_strength) if wanted else None
        with index.lock:
            if index.generation == generation:
                self._trained = (generation, model)
        return model is not None

    def outdated(self) -> None:
        """The articles changed: retrain at once if training in the background is off or the knowledge base is at
        most `TRAIN_AT_ONCE_UP_TO` (passages × articles), else in the background thread."""
        size = len(self._index.vectors) * len(self._index.articles)
        if not self.in_background or size <= TRAIN_AT_ONCE_UP_TO:
            self.train()
            return
        with self._trainer_lock:
            self._wanted = True
            if self._trainer is None:
                self._trainer = threading.Thread(target=self._train_while_wanted, name="kb-classifier", daemon=True)
                self._trainer.start()

    def _train_while_wanted(self) -> None:
        while True:
            with self._trainer_lock:
                if not self._wanted:
                    self._trainer = None
                    return
                self._wanted = False
            self.train()
