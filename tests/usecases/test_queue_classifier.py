"""usecases.queue_classifier: the live queue classifier, trained on the knowledge base's passages labelled by the
topic rules and on the tickets agents moved, asked by routing when no hard rule matches (the real embedding model)."""

from __future__ import annotations

import pytest

from handoff import HandoffRequest, parse_policies
from handoff.service import open_conversation
from tests.usecases.conftest import POLICIES, PUBLIC_URL
from tests.usecases.helpers import handed_off
from usecases.context import Context
from usecases.tickets import TicketDesk


@pytest.fixture
def demo(sessions, demo_kb, clock) -> Context:
    """The demo knowledge base (42 articles with topics), the shipped policies, its queue classifier trained."""
    ctx = Context(sessions=sessions, kb=demo_kb, policies=ctx_policies(), public_url=PUBLIC_URL, clock=clock)
    assert ctx.queue_classifier.train()
    return ctx


def ctx_policies(min_moved_tickets: int = 20):
    text = POLICIES.read_text(encoding="utf-8")
    return parse_policies(text.replace("min_moved_tickets: 20", f"min_moved_tickets: {min_moved_tickets}"))


def hand_off(ctx: Context, text: str, attributes: dict | None = None) -> int:
    with ctx.sessions() as session:
        conversation, _ = open_conversation(session, customer_attributes=attributes)
        ticket = ctx.handoff.hand_off(
            session, HandoffRequest(conversation_id=conversation.id, reason="no_answer", description=text)
        )
        session.commit()
        return ticket.id


def test_the_demo_passages_are_labelled_by_the_topic_rules(demo):
    trained = demo.queue_classifier.trained_on
    assert set(trained["passages"]) == {"orders", "billing", "account", "technical"}
    assert sum(trained["passages"].values()) == len(demo.kb.vectors)  # every demo article has a routed topic
    assert not trained["moved tickets"]


@pytest.mark.parametrize(
    ("text", "queue"),
    [("I moved house, can you send my stuff to the new place?", "orders"), ("I can't sign in", "account")],
)
def test_a_live_handoff_no_hard_rule_takes_is_routed_by_a_confident_classifier(demo, text, queue):
    ticket_id = hand_off(demo, text)
    expected_queue, confidence = demo.queue_classifier(text)
    assert expected_queue == queue and confidence >= demo.policies.classifier.min_confidence
    with demo.sessions() as session:
        view = TicketDesk(demo).view(session, TicketDesk(demo).workflow.get(session, ticket_id), full=True)
    assert (view.queue, view.routed_by, view.routing_confidence) == (queue, "classifier", pytest.approx(confidence))
    created = view.history[0]
    assert (created["routed_by"], created["classified_as"]) == ("classifier", queue)


def test_a_hard_rule_still_wins_and_the_classifier_is_not_asked(demo):
    ticket_id = hand_off(demo, "I moved house, can you send my stuff to the new place?", {"plan": "enterprise"})
    with demo.sessions() as session:
        view = TicketDesk(demo).view(session, TicketDesk(demo).workflow.get(session, ticket_id), full=False)
    assert (view.queue, view.routed_by, view.routing_confidence) == (
        "key_accounts",
        "rule: enterprise customers",
        None,
    )


def test_without_topics_there_is_no_classifier_until_agents_have_moved_enough_tickets(sessions, embedder, ctx):
    """The `ctx` knowledge base's two articles have no topic: nothing to learn from them. Tickets resolved in another
    queue of the same tier are learnt once there are `min_moved_tickets`; a move up a tier, or a ticket not resolved
    yet, is not a correction."""
    ctx = Context(
        sessions=sessions, kb=ctx.kb, policies=ctx_policies(min_moved_tickets=4), public_url=PUBLIC_URL, clock=ctx.clock
    )
    assert not ctx.queue_classifier.train() and ctx.queue_classifier("my gift card balance is wrong") is None
    first = handed_off(ctx, "my gift card balance is wrong")
    with ctx.sessions() as session:
        assert ctx.workflow.get(session, first).routed_by == "default"  # as before: no classifier, no rule matched
    moves = [
        ("my gift card balance is wrong", "billing"),
        ("the gift card code was not accepted at checkout", "billing"),
        ("the lamp I bought arrived broken", "orders"),
        ("a box came with the wrong colour inside", "orders"),
    ]
    for text, queue in moves:
        ticket_id = first if text == moves[0][0] else handed_off(ctx, text)
        with ctx.sessions() as session:
            ctx.workflow.escalate(session, ticket_id, "Aiko", "belongs there", queue=queue)
            ctx.workflow.resolve(session, ticket_id, "Aiko", "sorted")
            session.commit()
    up_a_tier = handed_off(ctx, "the gift card page shows an error")
    not_resolved = handed_off(ctx, "gift card never arrived by email")
    with ctx.sessions() as session:
        ctx.workflow.escalate(session, up_a_tier, "Aiko", "too hard", tier=2)
        ctx.workflow.resolve(session, up_a_tier, "Aiko", "fixed")
        ctx.workflow.escalate(session, not_resolved, "Aiko", "money", queue="billing")
        session.commit()
        assert ctx.queue_classifier.learn_from_moves(session) == 4
    assert ctx.queue_classifier.trained_on["moved tickets"] == {"billing": 2, "orders": 2}
    assert ctx.queue_classifier("my gift card balance is wrong")[0] in ("billing", "orders")
    fewer = Context(
        sessions=sessions, kb=ctx.kb, policies=ctx_policies(min_moved_tickets=5), public_url=PUBLIC_URL, clock=ctx.clock
    )
    with ctx.sessions() as session:
        assert fewer.queue_classifier.learn_from_moves(session) == 0
    assert not fewer.queue_classifier.ready
