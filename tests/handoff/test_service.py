import pytest
from pydantic import ValidationError

from handoff import ArticleTried, HandoffRequest, HandoffService, load_policies
from handoff.service import ConversationNotFound, open_conversation, record_message, token_matches, transcript


@pytest.fixture
def policies():
    """The shipped policies (the demo queues: billing, technical, account, orders, general)."""
    return load_policies()


def _conversation(session, **fields):
    conversation, token = open_conversation(session, lang="ja", **fields)
    record_message(session, conversation, "customer", "ペットのホテルはありますか？")
    record_message(session, conversation, "bot", "申し訳ありません。")
    session.commit()
    return conversation, token


def test_tokens_are_stored_hashed_and_checked(sessions):
    with sessions() as session:
        conversation, token = _conversation(session)
        assert token not in conversation.token_hash
        assert token_matches(conversation, token)
        assert not token_matches(conversation, token + "x")


def test_handoff_creates_a_prefilled_ticket(sessions, policies):
    with sessions() as session:
        conversation, _ = _conversation(session)
        request = HandoffRequest(
            conversation_id=conversation.id,
            reason="no_answer",
            customer_name="山田太郎",
            customer_email="taro@example.jp",
            description="ペットのホテルはありますか？",
            question="ペットのホテルはありますか？",
            lang="ja",
            articles_tried=[ArticleTried(article_id="track-order-ja", title="注文の追跡", score=0.81, topic="orders")],
        )
        ticket = HandoffService(policies).hand_off(session, request)
        session.commit()
        assert ticket.reference == f"TZ-{1000 + ticket.id}"
        assert (ticket.status, ticket.queue, ticket.lang, ticket.channel) == ("new", "orders", "ja", "web")
        assert ticket.topic == "orders" and ticket.topic_confidence == pytest.approx(0.81)
        assert ticket.customer_email == "taro@example.jp"
        assert ticket.summary.startswith("Bot found no answer (ja, web)")
        assert ticket.articles_tried[0]["article_id"] == "track-order-ja"
        assert [e.action for e in ticket.history] == ["created", "sla_started"]
        assert conversation.state == "waiting_agent"
        assert [m["sender"] for m in transcript(session, conversation.id)] == ["customer", "bot"]


def test_a_retried_handoff_returns_the_same_ticket(sessions, policies):
    with sessions() as session:
        conversation, _ = _conversation(session)
        request = HandoffRequest(conversation_id=conversation.id, reason="asked_for_person", description="help")
        first = HandoffService(policies).hand_off(session, request)
        session.commit()
        second = HandoffService(policies).hand_off(session, request)
        assert first.id == second.id


def test_unknown_conversation_and_bad_reason_are_refused(sessions, policies):
    with sessions() as session, pytest.raises(ConversationNotFound):
        HandoffService(policies).hand_off(
            session, HandoffRequest(conversation_id="nope", reason="no_answer", description="x")
        )
    with pytest.raises(ValidationError):
        HandoffRequest(conversation_id="c", reason="bored", description="x")


def test_a_customer_who_wants_someone_senior_gets_the_queues_lead(sessions, policies):
    with sessions() as session:
        conversation, _ = _conversation(session)
        request = HandoffRequest(
            conversation_id=conversation.id,
            reason="asked_for_person",
            description="請求書の金額が違います。責任者と話したい",
            lang="ja",
            intent="supervisor",
            intent_confidence=0.93,
        )
        ticket = HandoffService(policies).hand_off(session, request)
        assert (ticket.queue, ticket.assignee) == ("billing", policies.queues["billing"].lead)
        assert (ticket.intent, ticket.intent_confidence) == ("supervisor", 0.93)
        assert "supervisor" in ticket.tags
        assigned = [entry for entry in ticket.history if entry.action == "assigned"]
        assert [entry.detail["because"] for entry in assigned] == ["intent: supervisor"]


def test_anyone_on_the_team_may_take_a_plain_request_for_a_person(sessions, policies):
    with sessions() as session:
        conversation, _ = _conversation(session)
        request = HandoffRequest(
            conversation_id=conversation.id, reason="asked_for_person", description="配送状況を知りたい",
            lang="ja", intent="asked_for_person",
        )  # fmt: skip
        ticket = HandoffService(policies).hand_off(session, request)
        assert ticket.assignee is None and ticket.intent == "asked_for_person"
        assert not [entry for entry in ticket.history if entry.action == "assigned"]


def test_an_intent_outside_the_vocabulary_is_refused():
    with pytest.raises(ValidationError):
        HandoffRequest(conversation_id="c", reason="asked_for_person", description="x", intent="ask_refund")
