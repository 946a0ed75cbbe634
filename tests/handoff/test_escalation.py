"""Escalation matrices chosen by a ticket's priority, queue and channel and by the deadline it missed."""

import pytest
from sqlalchemy import select

from handoff import Ticket, TicketTimer, fire_due_timers, load_policies, parse_policies
from handoff.workflow import TicketWorkflow
from tests.handoff.conftest import MATRICES, tokyo


@pytest.fixture
def policies():
    return parse_policies(MATRICES, source="matrices.yml")


def _fired(sessions, policies, clock, at):
    clock.set(at)
    with sessions() as session:
        return [(f.kind, f.level) for f in fire_due_timers(session, policies, clock.now())]


def _escalations(sessions, ticket_id):
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        return [
            (e.detail["matrix"], e.detail["level"], e.detail["notify"], e.detail["changes"])
            for e in ticket.history
            if e.action == "escalated"
        ]


def _breaches(sessions, ticket_id):
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        return [(e.detail["deadline"], e.detail.get("matrix")) for e in ticket.history if e.action == "sla_breached"]


def test_an_urgent_ticket_skips_to_level_three_at_once(sessions, policies, clock, hand_off):
    ticket_id = hand_off("the app is not working")  # urgent: first response within 1 h, Friday 17:00
    assert _fired(sessions, policies, clock, tokyo(10, 17, 1)) == [
        ("first_response_reminder", None),
        ("first_response_breach", None),
        ("escalation", 3),
    ]
    assert _fired(sessions, policies, clock, tokyo(10, 19, 1)) == [("escalation", 4)]  # 2 h (wall time) later
    assert _breaches(sessions, ticket_id) == [("first_response", "urgent")]
    assert _escalations(sessions, ticket_id) == [
        ("urgent", 3, ["head_of_support"], {"queue": ["general", "experts"], "tier": [1, 2]}),
        ("urgent", 4, ["vp"], {}),
    ]
    with sessions() as session:
        assert session.get(Ticket, ticket_id).escalation_level == 4


def test_billing_has_its_own_matrix(sessions, policies, clock, hand_off):
    ticket_id = hand_off("I want a refund")  # billing, high: 2 h → 1 h Friday, 1 h Tuesday
    assert _fired(sessions, policies, clock, tokyo(14, 10, 1))[-2:] == [
        ("first_response_breach", None),
        ("escalation", 1),
    ]
    assert _fired(sessions, policies, clock, tokyo(14, 11, 1)) == [("escalation", 2)]
    assert _escalations(sessions, ticket_id) == [
        ("billing", 1, ["billing_manager"], {}),
        ("billing", 2, ["finance_director"], {}),
    ]  # not the `high` matrix: billing comes first


def test_a_low_priority_ticket_goes_only_to_the_queue_lead(sessions, policies, clock, hand_off):
    ticket_id = hand_off("just wondering about my parcel")  # low: the rest, 4 h → Tuesday 12:00
    assert _fired(sessions, policies, clock, tokyo(14, 12, 1))[-2:] == [
        ("first_response_breach", None),
        ("escalation", 1),
    ]
    assert _fired(sessions, policies, clock, tokyo(17, 12)) == [
        ("resolution_reminder", None),
        ("resolution_breach", None),
    ]  # the resolution breach: the same matrix, and the ticket has had its one level
    assert _escalations(sessions, ticket_id) == [("low", 1, ["Lead General"], {})]
    with sessions() as session:
        assert session.get(Ticket, ticket_id).assignee is None


def test_a_resolution_breach_can_have_its_own_matrix(sessions, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")  # normal: resolution 16 h → Wednesday 16:00
    clock.set(tokyo(14, 10))
    with sessions() as session:
        TicketWorkflow(policies, clock).reply(session, ticket_id, "Aiko", "Let me check.")
        session.commit()
    assert _fired(sessions, policies, clock, tokyo(15, 16, 1)) == [
        ("resolution_reminder", None),
        ("resolution_breach", None),
        ("escalation", 2),
    ]
    assert _breaches(sessions, ticket_id) == [("resolution", "late resolution")]
    assert _escalations(sessions, ticket_id) == [("late resolution", 2, ["support_manager"], {})]


def test_the_default_matrix_runs_to_its_end_though_a_level_raises_the_priority(sessions, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")  # normal: first response Tuesday 12:00
    for at in (tokyo(14, 12, 1), tokyo(14, 13, 1), tokyo(14, 14, 1), tokyo(14, 16, 1)):
        _fired(sessions, policies, clock, at)
    escalations = _escalations(sessions, ticket_id)
    # level 2 made the ticket high, level 4 urgent: the `high` and `urgent` matrices would match now, but the
    # levels scheduled at the breach are the default matrix's
    assert [(matrix, level) for matrix, level, _, _ in escalations] == [
        ("default", 1),
        ("default", 2),
        ("default", 3),
        ("default", 4),
    ]
    assert escalations[1][3] == {"priority": ["normal", "high"]}


def test_a_timer_without_a_matrix_uses_the_one_the_ticket_matches(sessions, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")
    assert _fired(sessions, policies, clock, tokyo(14, 12, 1))[-1] == ("escalation", 1)
    with sessions() as session:  # as a timer written before matrices had names
        for timer in session.scalars(select(TicketTimer).where(TicketTimer.kind == "escalation")):
            timer.matrix = None
        session.commit()
    assert _fired(sessions, policies, clock, tokyo(14, 13, 1)) == [("escalation", 2)]
    assert _escalations(sessions, ticket_id)[1][:2] == ("default", 2)


def test_the_shipped_matrices(sessions, clock, hand_off_on):
    shipped = load_policies()
    hand_off = hand_off_on(shipped, clock)
    broken = hand_off("the app is not working")  # technical (around the clock), urgent: 1 h → Friday 17:00
    charged = hand_off("I was charged twice")  # billing, urgent: 1 h → Friday 17:00
    parcel = hand_off("where is my parcel")  # orders, normal: 8 h → Tuesday 15:00
    lowered = hand_off("where is my other parcel")
    with sessions() as session:
        session.get(Ticket, lowered).priority = "low"  # no shipped rule sets low; an agent's tool might
        session.commit()
    _fired(sessions, shipped, clock, tokyo(10, 17, 1))
    assert _escalations(sessions, broken) == [
        (
            "urgent",
            3,
            ["queue:technical", "Hana Kim", "support_manager", "head_of_support"],
            {"queue": ["technical", "engineering"], "tier": [1, 3]},
        )
    ]
    assert _escalations(sessions, charged) == [
        ("billing", 1, ["queue:billing", "Kenji Sato", "billing_manager"], {"assignee": [None, "Kenji Sato"]})
    ]
    _fired(sessions, shipped, clock, tokyo(14, 15, 1))
    assert _escalations(sessions, parcel) == [
        ("default", 1, ["queue:orders", "Yui Suzuki"], {"assignee": [None, "Yui Suzuki"]})
    ]
    assert _escalations(sessions, lowered) == [("low priority", 1, ["Yui Suzuki"], {})]
