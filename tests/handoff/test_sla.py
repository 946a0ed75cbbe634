from datetime import UTC, datetime

from handoff import ManualClock, Ticket, fire_due_timers, parse_policies
from handoff.service import open_ticket, record_message
from handoff.sla import breached
from handoff.workflow import TicketWorkflow
from tests.handoff.conftest import SAMPLE, tokyo


def _run(sessions, policies, clock, at):
    clock.set(at)
    with sessions() as session:
        return [(f.kind, f.level) for f in fire_due_timers(session, policies, clock.now())]


def _events(sessions, ticket_id, action):
    with sessions() as session:
        return [e.detail for e in session.get(Ticket, ticket_id).history if e.action == action]


def test_deadlines_are_counted_in_business_hours_across_a_weekend_and_a_holiday(sessions, hand_off):
    ticket_id = hand_off("where is my parcel")  # normal, web: 4 h to first response, 16 h to resolution
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        # 1 h on Friday; Saturday, Sunday and Monday the 13th (a holiday) are closed; 3 h on Tuesday
        assert ticket.first_response_due.replace(tzinfo=None) == tokyo(14, 12).replace(tzinfo=None)
        # 1 h Friday, 8 h Tuesday, 7 h Wednesday
        assert ticket.resolution_due.replace(tzinfo=None) == tokyo(15, 16).replace(tzinfo=None)
        reminders = {t.kind: t.due_at.replace(tzinfo=None) for t in ticket.timers}
        assert reminders["first_response_reminder"] == tokyo(14, 11, 30).replace(tzinfo=None)


def test_a_deadline_across_a_public_holiday_of_a_later_year_moves_to_the_next_business_day(sessions, hand_off_on):
    policies = parse_policies(SAMPLE.replace("holidays: [2025-01-13]", "public_holidays: {country: JP}"))
    clock = ManualClock(datetime(2027, 2, 10, 7, tzinfo=UTC))  # Wednesday 10 February 2027, 16:00 in Tokyo
    ticket_id = hand_off_on(policies, clock)("where is my parcel")  # normal, web: 4 h and 16 h
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        # 1 h on Wednesday; Thursday the 11th is National Foundation Day; 3 h on Friday the 12th
        assert ticket.first_response_due.replace(tzinfo=None) == datetime(2027, 2, 12, 3)  # 12:00 in Tokyo
        # 1 h Wednesday, 8 h Friday, 7 h on Monday the 15th
        assert ticket.resolution_due.replace(tzinfo=None) == datetime(2027, 2, 15, 7)  # 16:00 in Tokyo
    assert _run(sessions, policies, clock, datetime(2027, 2, 11, 3, tzinfo=UTC)) == []  # nothing fires on the holiday


def test_sla_depends_on_priority_and_channel(sessions, hand_off):
    urgent = hand_off("the app is not working")
    by_email = hand_off("a question", channel="email")
    with sessions() as session:
        assert session.get(Ticket, urgent).first_response_due.replace(tzinfo=None) == tokyo(10, 17).replace(tzinfo=None)
        # email: 8 h → 1 h Friday + 7 h Tuesday
        assert session.get(Ticket, by_email).first_response_due.replace(tzinfo=None) == tokyo(14, 16).replace(
            tzinfo=None
        )


def test_a_reminder_before_and_an_escalation_after_a_breach_each_fire_once(sessions, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")
    assert _run(sessions, policies, clock, tokyo(14, 11, 29)) == []
    assert _run(sessions, policies, clock, tokyo(14, 11, 31)) == [("first_response_reminder", None)]
    assert _run(sessions, policies, clock, tokyo(14, 11, 45)) == []
    assert _run(sessions, policies, clock, tokyo(14, 12, 1)) == [("first_response_breach", None), ("escalation", 1)]
    assert _run(sessions, policies, clock, tokyo(14, 12, 2)) == []
    assert [e["deadline"] for e in _events(sessions, ticket_id, "sla_reminder")] == ["first_response"]
    assert [e["deadline"] for e in _events(sessions, ticket_id, "sla_breached")] == ["first_response"]
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.escalation_level == 1 and breached(ticket, clock.now()) == ["first_response"]


def test_the_four_level_escalation_matrix(sessions, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")
    fired = [
        _run(sessions, policies, clock, at)
        for at in (tokyo(14, 12, 1), tokyo(14, 13, 1), tokyo(14, 14, 1), tokyo(14, 15, 59), tokyo(14, 16, 1))
    ]
    assert fired[1:] == [[("escalation", 2)], [("escalation", 3)], [], [("escalation", 4)]]
    levels = _events(sessions, ticket_id, "escalated")
    assert [(e["level"], e["notify"]) for e in levels] == [
        (1, ["queue:general", "Lead General"]),
        (2, ["Lead General", "support_manager"]),
        (3, ["head_of_support"]),
        (4, ["vp"]),
    ]
    assert [e["changes"] for e in levels] == [
        {"assignee": [None, "Lead General"]},
        {"priority": ["normal", "high"]},
        {"queue": ["general", "experts"], "tier": [1, 2]},
        {"priority": ["high", "urgent"], "queue": ["experts", "engineers"], "tier": [2, 3]},
    ]
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.escalation_level, ticket.priority, ticket.queue, ticket.tier) == (4, "urgent", "engineers", 3)
    assert _run(sessions, policies, clock, tokyo(20, 12)) == [
        ("resolution_reminder", None),
        ("resolution_breach", None),
    ]
    assert len(_events(sessions, ticket_id, "escalated")) == 4  # the matrix ran once; a second breach adds none


def test_a_first_reply_stops_the_first_response_clock(sessions, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")
    clock.set(tokyo(14, 10))
    with sessions() as session:
        TicketWorkflow(policies, clock).reply(session, ticket_id, "Aiko", "Let me check.")
        session.commit()
    assert _run(sessions, policies, clock, tokyo(14, 13)) == []
    assert _events(sessions, ticket_id, "sla_breached") == []


def test_the_clock_pauses_while_the_ticket_waits_on_the_customer(sessions, policies, clock, hand_off):
    ticket_id = hand_off("where is my parcel")
    clock.set(tokyo(14, 10))  # 2 business hours of the first response's 4 are left
    with sessions() as session:
        TicketWorkflow(policies, clock).reply(session, ticket_id, "Aiko", "Which order?", wait_for_customer=True)
        session.commit()
    assert _run(sessions, policies, clock, tokyo(16, 17)) == []  # resolution is due Wed 16:00, but the clock waits
    clock.set(tokyo(17, 10))  # the customer answers on Friday at 10:00
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        record_message(session, ticket.conversation, "customer", "Order 1234")
        session.commit()
        assert open_ticket(session, ticket.conversation_id).status == "open"
    assert _run(sessions, policies, clock, tokyo(17, 10)) == []
    with sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        # 16 h in all; 1 h Friday the 10th + 1 h Tuesday before the pause = 2 h used, 14 h left from Friday 10:00:
        # 7 h on Friday the 17th, then 7 h on Monday the 20th
        assert ticket.resolution_due.replace(tzinfo=None) == tokyo(20, 16).replace(tzinfo=None)
        assert ticket.sla_paused_at is None
    assert [e["paused_business_minutes"] for e in _events(sessions, ticket_id, "sla_resumed")] == [
        24 * 60
    ]  # Tue 7 h, Wed 8 h, Thu 8 h, Fri 1 h
