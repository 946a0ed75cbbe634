"""Knowledge gaps with the real embedding model: unanswered questions clustered by meaning, near-duplicate articles,
and articles agents keep overriding."""

import random
from datetime import UTC, datetime

import numpy as np
import pytest

from kb import KnowledgeBase
from kb.articles import ArticleCreate, create_article
from kb.gaps import (
    ArticleOutcome,
    UnansweredQuestion,
    cluster_vectors,
    knowledge_gaps,
    near_duplicate_articles,
    overridden_articles,
)


def day(number: int) -> datetime:
    return datetime(2025, 3, number, 9, 0, tzinfo=UTC)


# The demo knowledge base lists payment methods but not PayPay. The Japanese question shares the brand name with the
# English ones, which is what lets it join them: cross-lingual paraphrases without a shared word score lower.
PAYPAY = [
    UnansweredQuestion("Can I pay with PayPay?", "en", day(1), "TZ-1001"),
    UnansweredQuestion("PayPayで支払えますか？", "ja", day(2), None, "asked_for_person"),
    UnansweredQuestion("Do you accept PayPay?", "en", day(3), "TZ-1003"),
]
UNRELATED = UnansweredQuestion("How do I change the app language to French?", "en", day(4), "TZ-1004")


def test_paraphrases_of_a_missing_topic_make_one_cluster_and_an_unrelated_question_stays_alone(demo_kb):
    clusters = knowledge_gaps(demo_kb, [*PAYPAY, UNRELATED])
    assert [c.count for c in clusters] == [3, 1]
    paypay, alone = clusters
    assert paypay.languages == {"en": 2, "ja": 1}
    assert paypay.reasons == {"no_answer": 2, "asked_for_person": 1}
    assert paypay.tickets == ["TZ-1001", "TZ-1003"]
    assert (paypay.first_seen, paypay.last_seen) == (day(1), day(3))
    assert paypay.title in ("Can I pay with PayPay?", "Do you accept PayPay?")  # central, in the main language
    assert sorted(paypay.samples) == sorted(q.text for q in PAYPAY)
    assert paypay.samples[0] == paypay.title
    assert 0.89 <= paypay.cohesion < 1
    assert paypay.nearest is not None and paypay.nearest.id.startswith("payment-methods")
    assert alone.title == UNRELATED.text and alone.cohesion == 1.0
    assert [c.count for c in knowledge_gaps(demo_kb, [*PAYPAY, UNRELATED], min_count=2)] == [3]


def test_the_clusters_do_not_depend_on_the_order_of_the_questions(demo_kb):
    questions = [*PAYPAY, UNRELATED, UnansweredQuestion("Do you sell gift cards?", "en", day(5))]
    shuffled = questions[:]
    random.Random(7).shuffle(shuffled)
    assert knowledge_gaps(demo_kb, shuffled) == knowledge_gaps(demo_kb, questions)


def test_clustering_input_is_checked_and_empty_input_gives_nothing(demo_kb):
    assert knowledge_gaps(demo_kb, []) == []
    assert knowledge_gaps(demo_kb, [UnansweredQuestion("   ", "en", day(1))]) == []
    with pytest.raises(ValueError, match="min_count"):
        knowledge_gaps(demo_kb, PAYPAY, min_count=0)
    with pytest.raises(ValueError, match="cosine similarity"):
        cluster_vectors(np.eye(2, dtype=np.float32), 1.5)
    assert cluster_vectors(np.eye(2, dtype=np.float32), 0.9) == [[0], [1]]


@pytest.fixture
def kb_with_a_copy(sessions, embedder, tmp_path):
    shipping = "Standard shipping takes 3 to 5 business days. Express shipping arrives the next business day."
    with sessions() as session:
        for article_id, lang, group, title, body in [
            ("shipping-en", "en", "shipping", "How long does shipping take?", shipping),
            ("shipping-ja", "ja", "shipping", "配送にはどのくらいかかりますか？", "通常配送は3〜5営業日です。"),
            ("shipping-copy", "en", "shipping-copy", "How long does shipping take?", shipping + " Thanks!"),
            ("returns-en", "en", "returns", "How do I return an item?", "Open My Orders and choose Return."),
        ]:
            create_article(
                session,
                ArticleCreate(id=article_id, lang=lang, group=group, title=title, body=body, status="published"),
                "test",
            )
        session.commit()
    knowledge = KnowledgeBase(sessions, embedder, tmp_path / "index")
    knowledge.sync()
    return knowledge


def test_a_copied_article_is_a_near_duplicate_and_a_translation_is_not(kb_with_a_copy):
    pairs = near_duplicate_articles(kb_with_a_copy)
    assert [(p.first.id, p.second.id, p.same_language) for p in pairs] == [("shipping-copy", "shipping-en", True)]
    assert pairs[0].similarity >= 0.95
    with pytest.raises(ValueError, match="cosine similarity"):
        near_duplicate_articles(kb_with_a_copy, threshold=0)


def test_overridden_articles_count_escalations_and_other_articles_agents_linked(demo_kb):
    outcomes = [
        ArticleOutcome("refund-status-en", escalated=True),
        ArticleOutcome("refund-status-en", escalated=True, resolved_with="double-charge-en"),
        ArticleOutcome("refund-status-en", resolved_with="refund-status-en"),  # the agent confirmed it
        ArticleOutcome("refund-status-en"),
        ArticleOutcome("track-order-en"),
        ArticleOutcome("archived-article", resolved_with="track-order-en"),
    ]
    overridden = overridden_articles(demo_kb, outcomes)
    assert [(o.article_id, o.shown, o.escalated, o.replaced, o.overridden) for o in overridden] == [
        ("refund-status-en", 4, 2, 1, 3),
        ("archived-article", 1, 0, 1, 1),
    ]
    assert overridden[0].title == demo_kb.articles["refund-status-en"].title
    assert overridden[0].replaced_by == {"double-charge-en": 1}
    assert overridden[1].title is None
    assert [o.article_id for o in overridden_articles(demo_kb, outcomes, min_count=2)] == ["refund-status-en"]
