import pytest

from handoff import HandoffError, InvalidTransition, Ticket, TicketWorkflow, fire_due_timers
from handoff.service import transcript
from handoff.workflow import TRANSITIONS
from tests.handoff.conftest import tokyo


@pytest.fixture
def workflow(policies, clock):
    return TicketWorkflow(policies, clock)


def test_the_state_machine_is_the_documented_one():
    assert TRANSITIONS == {
        "new": ("open", "pending_customer", "resolved"),
        "open": ("pending_customer", "resolved"),
        "pending_customer": ("open", "resolved"),
        "resolved": ("open", "closed"),
        "closed": (),
    }


def test_a_ticket_goes_from_new_to_closed_and_every_step_is_in_the_history(sessions, workflow, hand_off):
    ticket_id = hand_off("where is my parcel")
    with sessions() as session:
        workflow.claim(session, ticket_id, "Aiko")
        workflow.reply(session, ticket_id, "Aiko", "Which order is it?", wait_for_customer=True)
        workflow.add_note(session, ticket_id, "Aiko", "probably the one stuck in customs")
        workflow.resolve(session, ticket_id, "Aiko", "Released from customs", article_id="track-order-en")
        workflow.close(session, ticket_id, "Aiko")
        session.commit()
        ticket = session.get(Ticket, ticket_id)
        steps = [(e.actor, e.action, e.detail.get("to")) for e in ticket.history]
        assert steps == [
            ("bot", "created", None),
            ("sla", "sla_started", None),
            ("Aiko", "claimed", None),
            ("Aiko", "status", "open"),
            ("Aiko", "replied", None),
            ("Aiko", "status", "pending_customer"),
            ("Aiko", "note", None),
            ("Aiko", "status", "resolved"),
            ("Aiko", "status", "closed"),
        ]
        assert (ticket.status, ticket.resolution_article_id, ticket.assignee) == ("closed", "track-order-en", "Aiko")
        assert [m["sender"] for m in transcript(session, ticket.conversation_id)] == ["agent"]
        assert "customs" not in str(transcript(session, ticket.conversation_id))  # notes stay internal


def test_resolving_a_closed_ticket_is_refused_with_the_reason(sessions, workflow, hand_off):
    ticket_id = hand_off("where is my parcel")
    with sessions() as session:
        workflow.resolve(session, ticket_id, "Aiko", "done")
        workflow.close(session, ticket_id, "Aiko")
        with pytest.raises(InvalidTransition, match="cannot resolve ticket TZ-1001: it is closed"):
            workflow.resolve(session, ticket_id, "Aiko", "again")
        with pytest.raises(InvalidTransition, match="it is final"):
            workflow.reopen(session, ticket_id, "Aiko")
        with pytest.raises(HandoffError, match="a resolution is needed"):
            workflow.resolve(session, ticket_id, "Aiko", "  ")


def test_reopen_gives_a_fresh_resolution_deadline_and_silences_the_bot(sessions, workflow, clock, hand_off):
    ticket_id = hand_off("where is my parcel")
    with sessions() as session:
        workflow.claim(session, ticket_id, "Aiko")
        workflow.resolve(session, ticket_id, "Aiko", "sent the tracking link")
        assert session.get(Ticket, ticket_id).conversation.state == "resolved"
        clock.set(tokyo(20, 9))
        ticket = workflow.reopen(session, ticket_id, "Aiko", reason="the link does not work")
        session.commit()
        assert (ticket.status, ticket.conversation.state) == ("open", "agent")
        assert ticket.resolution_due.replace(tzinfo=None) == tokyo(21, 17).replace(tzinfo=None)  # 16 h: Mon + Tue


@pytest.mark.parametrize("action", ["claim", "reply"])
def test_claiming_or_replying_to_a_resolved_ticket_reopens_it_and_a_closed_one_refuses(
    sessions, workflow, hand_off, action
):
    ticket_id = hand_off("where is my parcel")
    act = {
        "claim": lambda session: workflow.claim(session, ticket_id, "Ken"),
        "reply": lambda session: workflow.reply(session, ticket_id, "Ken", "One more thing: it ships tomorrow."),
    }[action]
    with sessions() as session:
        workflow.resolve(session, ticket_id, "Aiko", "sent the tracking link")
        act(session)
        session.commit()
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.status, ticket.conversation.state, ticket.resolved_at) == ("open", "agent", None)
        reopened = [e for e in ticket.history if e.action == "status" and e.detail.get("from") == "resolved"]
        assert [(e.actor, e.detail["to"]) for e in reopened] == [("Ken", "open")]
        workflow.resolve(session, ticket_id, "Ken", "shipped")
        workflow.close(session, ticket_id, "Ken")
        with pytest.raises(InvalidTransition, match="it is final"):
            act(session)


def test_a_resolved_ticket_closes_itself_unless_reopened(sessions, workflow, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")
    with sessions() as session:
        workflow.resolve(session, ticket_id, "Aiko", "done")
        session.commit()
        clock.advance(days=3, minutes=1)
        fired = fire_due_timers(session, policies, clock.now())
        assert [f.kind for f in fired] == ["auto_close"]
        assert session.get(Ticket, ticket_id).status == "closed"


def test_escalating_by_hand_to_a_queue_or_a_tier(sessions, workflow, hand_off):
    ticket_id = hand_off("where is my parcel")
    with sessions() as session:
        workflow.claim(session, ticket_id, "Aiko")
        ticket = workflow.escalate(session, ticket_id, "Aiko", "needs a refund", queue="billing")
        assert (ticket.queue, ticket.tier, ticket.assignee, ticket.conversation.state) == (
            "billing",
            1,
            None,
            "waiting_agent",
        )
        ticket = workflow.escalate(session, ticket_id, "Kenji", "bank dispute", tier=3)
        assert (ticket.queue, ticket.tier) == ("engineers", 3)
        assert ticket.history[-1].detail["changes"]["queue"] == ["billing", "engineers"]
        with pytest.raises(HandoffError, match="unknown queue 'nope'"):
            workflow.escalate(session, ticket_id, "Aiko", "x", queue="nope")
        with pytest.raises(HandoffError, match="escalate to a tier above it"):
            workflow.escalate(session, ticket_id, "Aiko", "x", tier=2)
