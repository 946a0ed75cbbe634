import pytest
from sqlalchemy import func, select

from kb import KnowledgeBase
from kb.articles import ArticleCreate, create_article, set_status
from kb.models import Article
from kb.suggestions import (
    SuggestionError,
    accept,
    merge,
    pending_suggestions,
    reject,
    suggest_from_resolution,
)


@pytest.fixture
def kb(sessions, embedder, tmp_path):
    with sessions() as session:
        for article_id, title, body in [
            ("gift-cards-en", "How to redeem a gift card", "Enter the gift card code at checkout under Payment."),
            ("shipping-en", "Shipping times", "Standard shipping takes 3 to 5 business days."),
        ]:
            create_article(
                session, ArticleCreate(id=article_id, lang="en", title=title, body=body, status="published"), "t"
            )
        session.commit()
    knowledge = KnowledgeBase(sessions, embedder, tmp_path / "index")
    knowledge.sync()
    return knowledge


def test_a_resolution_linked_to_an_article_teaches_it_a_new_phrasing(kb, sessions):
    question = "my voucher code from my aunt is not accepted at the till"
    with sessions() as session:
        suggestion = suggest_from_resolution(
            kb, session, ticket="TZ-1001", question=question, resolution="Told them where to enter it.",
            lang="en", article_id="gift-cards-en",
        )  # fmt: skip
        session.commit()
        assert (suggestion.kind, suggestion.status, suggestion.tickets) == ("alt_question", "pending", ["TZ-1001"])
        accept(kb, session, suggestion.id, "editor")
        article = session.get(Article, "gift-cards-en")
        assert question in article.questions and article.source_tickets == ["TZ-1001"]
    best = kb.search(question, lang="en").best
    assert best.article.id == "gift-cards-en" and best.passage == question


def test_an_unknown_topic_becomes_a_draft_article_and_accepting_twice_makes_one(kb, sessions):
    with sessions() as session:
        suggestion = suggest_from_resolution(
            kb, session, ticket="TZ-1002", question="Do you plant a tree for every order?",
            resolution="Yes: every order funds one tree with our reforestation partner.", lang="en", tags=["csr"],
        )  # fmt: skip
        session.commit()
        assert suggestion.kind == "new_article" and suggestion.body.startswith("Yes: every order")
        first = accept(kb, session, suggestion.id, "editor").article_id
        second = accept(kb, session, suggestion.id, "editor").article_id
        assert first == second
        assert session.scalar(select(func.count()).select_from(Article)) == 3
    result = kb.search("is a tree planted when I buy something?", lang="en")
    assert result.best.article.id == first


def test_near_duplicates_are_merged_and_ranked_by_how_many_asked(kb, sessions):
    with sessions() as session:
        for ticket, question in [
            ("TZ-1", "Can I pay with bitcoin?"),
            ("TZ-2", "can I pay with bitcoin"),
            ("TZ-3", "Do you have a loyalty programme?"),
        ]:
            suggest_from_resolution(kb, session, ticket=ticket, question=question, resolution="No.", lang="en")
            session.commit()
        ranked = pending_suggestions(session)
        assert [(s.count, s.tickets) for s in ranked] == [(2, ["TZ-1", "TZ-2"]), (1, ["TZ-3"])]


def test_merge_into_another_article_and_reject_with_a_reason(kb, sessions):
    with sessions() as session:
        one = suggest_from_resolution(kb, session, ticket="T1", question="Is delivery quick?", resolution="3-5 days",
                                      lang="en")  # fmt: skip
        two = suggest_from_resolution(kb, session, ticket="T2", question="What is the meaning of life?",
                                      resolution="Not a support question.", lang="en")  # fmt: skip
        session.commit()
        merge(kb, session, one.id, "shipping-en", "editor")
        assert "Is delivery quick?" in session.get(Article, "shipping-en").questions
        with pytest.raises(SuggestionError, match="say why"):
            reject(session, two.id, " ", "editor")
        reject(session, two.id, "off-topic", "editor")
        with pytest.raises(SuggestionError, match="rejected"):
            accept(kb, session, two.id, "editor")
        assert pending_suggestions(session) == []


def test_bad_resolutions_are_refused(kb, sessions):
    with sessions() as session:
        with pytest.raises(SuggestionError, match="resolution note"):
            suggest_from_resolution(kb, session, ticket="T", question="q?", resolution="  ", lang="en")
        set_status(session, "shipping-en", "archived", "editor")
        session.commit()
        with pytest.raises(SuggestionError, match="archived"):
            suggest_from_resolution(kb, session, ticket="T", question="q?", resolution="r", lang="en",
                                    article_id="shipping-en")  # fmt: skip


def test_a_long_customer_message_is_clipped_to_a_phrasing(kb, sessions):
    long_question = "Hi, please help me: " + "my gift card code is refused at checkout and " * 12
    with sessions() as session:
        suggestion = suggest_from_resolution(
            kb,
            session,
            ticket="T",
            question=long_question,
            resolution="Explained.",
            lang="en",
            article_id="gift-cards-en",
        )
        session.commit()
        accept(kb, session, suggestion.id, "editor")
        assert max(len(q) for q in session.get(Article, "gift-cards-en").questions) <= 300
