import time

import numpy as np
import pytest

import kb.training
from kb import KnowledgeBase
from kb.articles import ArticleCreate, create_article
from kb.classifier import ArticleClassifier
from kb.search import RetrievalSettings

ARTICLES = (
    ("card-arrival", "My card has not arrived", ["where is my new card", "my card still hasn't come in the post"]),
    ("card-broken", "My card does not work", ["my card was declined at the shop", "the card stopped working"]),
)


def _publish(sessions, article_id, title, questions):
    with sessions() as session:
        article = create_article(
            session,
            ArticleCreate(
                id=article_id, lang="en", title=title, body=title + ".", questions=questions, status="published"
            ),
            author="test",
        )
        session.commit()
        return article


@pytest.fixture
def cards_kb(sessions, embedder, tmp_path):
    for article in ARTICLES:
        _publish(sessions, *article)
    kb = KnowledgeBase(sessions, embedder, tmp_path / "index")
    kb.sync()
    return kb


def test_training_needs_two_articles_and_one_label_per_vector():
    vectors = np.eye(3, dtype=np.float32)
    assert ArticleClassifier.train(vectors, ["a", "a", "a"]) is None
    with pytest.raises(ValueError, match="one label per vector"):
        ArticleClassifier.train(vectors, ["a", "b"])
    model = ArticleClassifier.train(vectors, ["a", "b", "c"])
    probabilities = model.probabilities(vectors[1])
    assert max(probabilities, key=probabilities.get) == "b" and sum(probabilities.values()) == pytest.approx(1)


def test_search_explains_the_classifiers_vote_and_a_new_article_is_learned_at_once(cards_kb, sessions):
    best = cards_kb.search("my new card never arrived").best
    assert best.article.id == "card-arrival" and best.classifier == 1.0
    assert 0 < cards_kb.search("my new card never arrived").candidates[1].classifier < 1
    assert "classifier" in best.to_dict()
    article = _publish(sessions, "card-frozen", "How to freeze your card", ["can I block my card for a while"])
    cards_kb.refresh_article(article)
    best = cards_kb.search("I want to freeze my card").best
    assert best.article.id == "card-frozen" and best.classifier == 1.0


def test_a_weight_of_zero_turns_the_classifier_off(sessions, embedder, tmp_path):
    for article in ARTICLES:
        _publish(sessions, *article)
    kb = KnowledgeBase(sessions, embedder, tmp_path / "index", retrieval=RetrievalSettings(classifier_weight=0))
    kb.sync()
    assert not kb.train_classifier()
    assert all(c.classifier == 0 for c in kb.search("my new card never arrived").candidates)


def test_a_big_knowledge_base_learns_in_the_background_and_never_scores_articles_it_was_not_trained_on(
    cards_kb, sessions, monkeypatch
):
    monkeypatch.setattr(kb.training, "TRAIN_AT_ONCE_UP_TO", 0)
    article = _publish(sessions, "card-frozen", "How to freeze your card", ["can I block my card for a while"])
    cards_kb.refresh_article(article)
    candidates = cards_kb.search("I want to freeze my card").candidates
    trained = {c.article.id: c.classifier for c in candidates}
    assert trained["card-frozen"] == 1.0 or set(trained.values()) == {0.0}  # the new model, or none at all
    deadline = time.monotonic() + 30
    while cards_kb.search("I want to freeze my card").best.classifier != 1.0:
        assert time.monotonic() < deadline, "the background training never finished"
        time.sleep(0.05)
