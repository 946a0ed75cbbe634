"""kb.fusion and kb.decision on their own: hits fused into ranked articles, and the decision taken on them."""

import pytest

from kb.decision import DecisionPolicy
from kb.fusion import Fusion, RetrievalSettings
from kb.index import Passage
from kb.results import NEEDS_AGENT_TAG, ArticleView

ARTICLES = {
    article_id: ArticleView(article_id, article_id, lang, article_id.title(), "", None, tags)
    for article_id, lang, tags in (
        ("refunds", "en", ()),
        ("returns", "en", ()),
        ("henpin", "ja", ()),
        ("billing", "en", (NEEDS_AGENT_TAG,)),
    )
}
PASSAGES = {
    1: Passage("refunds", "title", "Refunds"),
    2: Passage("refunds", "question", "when do I get my money back"),
    3: Passage("returns", "title", "Returns"),
    4: Passage("henpin", "title", "返品"),
    5: Passage("gone", "title", "An article no longer published"),
    6: Passage("billing", "title", "Billing"),
}


def _by_id(candidates):
    return {c.article.id: c for c in candidates}


def test_an_articles_fused_score_is_its_dense_one_plus_its_lexical_one_scaled_to_the_best():
    fusion = Fusion(RetrievalSettings(lexical_weight=0.1))
    found = _by_id(fusion.candidates([(2, 0.9), (1, 0.8), (3, 0.7)], [(3, 6.0), (1, 3.0)], PASSAGES, ARTICLES, "en"))
    assert found.keys() == {"refunds", "returns"}
    refunds, returns = found["refunds"], found["returns"]
    assert refunds.passage == "when do I get my money back"  # its best dense passage, not the lexical one
    assert refunds.fused == pytest.approx(0.9 + 0.1 * 3.0 / 6.0) and refunds.lexical == 3.0
    assert returns.fused == pytest.approx(0.7 + 0.1) and returns.confidence == returns.fused


def test_lexical_mode_scores_by_the_raw_lexical_score_and_unpublished_articles_are_left_out():
    fusion = Fusion(RetrievalSettings())
    found = _by_id(fusion.candidates([], [(5, 9.0), (3, 6.0), (1, 3.0)], PASSAGES, ARTICLES, "en", mode="lexical"))
    assert found.keys() == {"refunds", "returns"}
    assert found["returns"].fused == 6.0 and found["refunds"].passage == "Refunds"


def test_support_blends_an_articles_best_passage_with_its_next_ones():
    fusion = Fusion(RetrievalSettings(lexical_weight=0, support=2, support_weight=0.5))
    found = _by_id(fusion.candidates([(2, 0.9), (1, 0.8), (3, 0.85), (4, 0.6)], [], PASSAGES, ARTICLES, "en"))
    assert found["refunds"].dense == pytest.approx(0.5 * 0.9 + 0.5 * (0.9 + 0.8) / 2)
    # one passage retrieved: the missing one counts as the last hit's score
    assert found["returns"].dense == pytest.approx(0.5 * 0.85 + 0.5 * (0.85 + 0.6) / 2)


def test_a_match_in_another_language_gets_the_cross_lingual_bonus():
    fusion = Fusion(RetrievalSettings(lexical_weight=0), cross_lingual_bonus=0.03)
    found = _by_id(fusion.candidates([(4, 0.8), (3, 0.8)], [], PASSAGES, ARTICLES, "en"))
    assert found["henpin"].confidence == pytest.approx(0.83) and found["henpin"].fused == pytest.approx(0.8)
    assert found["returns"].confidence == pytest.approx(0.8)


def test_the_classifier_reranks_by_its_probability_relative_to_its_favourite_and_ties_go_by_id():
    fusion = Fusion(RetrievalSettings(lexical_weight=0, classifier_weight=0.1))
    candidates = fusion.candidates([(1, 0.8), (3, 0.8), (6, 0.8)], [], PASSAGES, ARTICLES, "en")
    assert [c.article.id for c in fusion.rank(candidates, None)] == ["billing", "refunds", "returns"]
    ranked = fusion.rank(candidates, {"returns": 0.6, "refunds": 0.3, "billing": 0.1})
    assert [c.article.id for c in ranked] == ["returns", "refunds", "billing"]
    assert ranked[0].classifier == 1.0 and ranked[1].classifier == pytest.approx(0.5)
    assert ranked[1].probability == pytest.approx(0.3)


def test_the_decision_counts_the_probability_and_hands_off_an_article_that_needs_an_agent():
    policy = DecisionPolicy(
        answer_threshold={"en": 0.9}, clarify_threshold={"en": 0.8}, margin=0.02, probability_weight=0.1
    )
    fusion = Fusion(RetrievalSettings(lexical_weight=0))
    candidates = fusion.rank(fusion.candidates([(1, 0.85), (3, 0.7)], [], PASSAGES, ARTICLES, "en"), None)
    assert policy.decide_for(candidates, "en") == "clarify"
    candidates[0].probability = 0.6  # 0.85 + 0.1 * 0.6 reaches the answer threshold
    assert policy.decide_for(candidates, "en") == "answer"
    handoff = fusion.rank(fusion.candidates([(6, 0.85), (3, 0.7)], [], PASSAGES, ARTICLES, "en"), None)
    assert policy.decide_for(handoff, "en") == "answer"  # from the clarify threshold up
    assert policy.decide_for([], "en") == "escalate"
