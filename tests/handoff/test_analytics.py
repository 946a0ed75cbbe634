"""The analytics report on a small history built through the real handoff and workflow, on the sample policy
(Tokyo office hours; Monday 13 January 2025 is a holiday)."""

from datetime import UTC, date, datetime

import pytest

from handoff import ArticleTried, HandoffRequest, HandoffService, Ticket, TicketWorkflow, fire_due_timers
from handoff.analytics import analytics_report, day_window
from handoff.service import open_conversation, record_message
from tests.handoff.conftest import tokyo

CARD = {"articles": [{"id": "reset-password-en", "title": "Reset your password", "url": "/a/1", "score": 0.9}]}
CLARIFY = {"buttons": [{"title": "None of these", "payload": '/choose_article{"article_id":"none"}'}]}


@pytest.fixture
def history(sessions, policies, clock):
    """Seven conversations around 10–11 January 2025 (UTC); returns the tickets' ids by name.

    10 Jan: two answered (deflected); one answered, then the customer asked for a person (billing, high); one
    not answered and handed off (general, normal: never answered, so its first response breaches and the matrix
    raises it to high and to the experts queue); one not answered and left. 11 Jan: one answered by an article
    that needs an agent (urgent). Outside the window: one a second before it, one at its end."""
    service, workflow = HandoffService(policies, clock), TicketWorkflow(policies, clock)

    def talk(at, lang, answered, reason=None, text="help", **request):
        clock.set(at)
        with sessions() as session:
            conversation, _ = open_conversation(session, lang=lang)
            conversation.created_at = at
            record_message(session, conversation, "customer", text)
            record_message(session, conversation, "bot", *(("Here is how", CARD) if answered else ("Which?", CLARIFY)))
            session.commit()
            if reason is None:
                return None
            ticket = service.hand_off(
                session,
                HandoffRequest(conversation_id=conversation.id, reason=reason, description=text, lang=lang, **request),
            )
            session.commit()
            return ticket.id

    friday = tokyo(10, 16)  # 07:00 UTC on 10 January
    talk(datetime(2025, 1, 9, 23, 59, 59, tzinfo=UTC), "en", False, "no_answer")
    talk(friday, "en", True)
    talk(friday, "en", True)
    billing = talk(friday, "ja", True, "asked_for_person", text="my invoice is wrong")
    parcel = talk(
        friday,
        "en",
        False,
        "no_answer",
        text="where is my parcel",
        articles_tried=[ArticleTried(article_id="track-order-en", title="Track", score=0.4, topic="orders")],
    )
    talk(friday, "ko", False)
    app = talk(datetime(2025, 1, 11, 1, 0, tzinfo=UTC), "en", True, "needs_agent", text="the app is not working")
    talk(datetime(2025, 1, 12, 0, 0, tzinfo=UTC), "en", True)

    def act(at, method, ticket_id, *args):
        clock.set(at)
        with sessions() as session:
            getattr(workflow, method)(session, ticket_id, *args)
            session.commit()

    act(tokyo(10, 16, 30), "reply", billing, "Aiko", "Let me check")
    act(tokyo(10, 16, 45), "resolve", billing, "Aiko", "Refunded")
    act(tokyo(14, 9, 30), "reply", app, "Hana", "Which version?")
    act(tokyo(14, 10), "resolve", app, "Hana", "Fixed in 2.1")
    with sessions() as session:  # the parcel's first response was due at 12:00: breach, then levels 1 to 3
        fire_due_timers(session, policies, tokyo(14, 14, 1))
        assert (session.get(Ticket, parcel).priority, session.get(Ticket, parcel).queue) == ("high", "experts")
    return {"billing": billing, "parcel": parcel, "app": app}


def report(sessions, first=date(2025, 1, 10), last=date(2025, 1, 11), timezone="UTC"):
    with sessions() as session:
        return analytics_report(session, *day_window(first, last, timezone), timezone=timezone)


def test_deflection_and_escalation_by_reason(sessions, history):
    conversations = report(sessions).conversations
    assert conversations.conversations == 6
    assert (conversations.answered.count, conversations.deflected.count, conversations.escalated.count) == (4, 2, 3)
    assert (conversations.deflected.rate, conversations.escalated.rate) == (pytest.approx(1 / 3), 0.5)
    assert {k: v.count for k, v in conversations.escalated_by_reason.items()} == {
        "no_answer": 1,
        "asked_for_person": 1,
        "needs_agent": 1,
    }
    assert conversations.escalated_by_reason["no_answer"].rate == pytest.approx(1 / 6)


def test_sla_breaches_and_median_times(sessions, history):
    tickets = report(sessions).tickets
    assert tickets.tickets == 3
    assert (tickets.sla_breached.count, tickets.sla_breached.rate) == (1, pytest.approx(1 / 3))
    assert {k: v.count for k, v in tickets.sla_breached_by_deadline.items()} == {"first_response": 1, "resolution": 0}
    # billing: 30 min and 45 min; the app: Sat 01:00 UTC to Tue 09:30 / 10:00 Tokyo = 4290 / 4320 min
    assert (tickets.responded, tickets.median_first_response_minutes) == (2, (30 + 4290) / 2)
    assert (tickets.resolved, tickets.median_resolution_minutes) == (2, (45 + 4320) / 2)


def test_breakdowns_use_the_queue_and_priority_given_at_handoff(sessions, history):
    result = report(sessions)
    assert list(result.by_priority) == ["normal", "high", "urgent"]  # the parcel's SLA was for normal
    assert result.by_priority["normal"].sla_breached.rate == 1.0
    assert result.by_priority["high"].sla_breached.count == 0
    assert {k: (v.tickets, v.sla_breached.count) for k, v in result.by_queue.items()} == {
        "billing": (1, 0),
        "general": (2, 1),
    }
    assert {k: v.tickets for k, v in result.by_tag.items()} == {
        "asked_for_person": 1,
        "en": 2,
        "ja": 1,
        "needs_agent": 1,
        "no_answer": 1,
        "orders": 1,
    }
    by_language = {k: (v.conversations, v.deflected.count, v.escalated.count) for k, v in result.by_language.items()}
    assert by_language == {"en": (4, 2, 2), "ja": (1, 0, 1), "ko": (1, 0, 0)}


def test_days_follow_the_time_zone(sessions, history):
    utc = report(sessions)
    assert [(d.day, d.conversations.conversations, d.tickets.tickets) for d in utc.days] == [
        (date(2025, 1, 10), 5, 2),
        (date(2025, 1, 11), 1, 1),
    ]
    assert utc.days[0].conversations.deflected.rate == 0.4
    # In Tokyo the conversation at 23:59:59 UTC on the 9th is on the 10th, and the one at 00:00 UTC on the 12th is
    # on the 12th, outside the window.
    tokyo_days = report(sessions, timezone="Asia/Tokyo").days
    assert [(d.day, d.conversations.conversations, d.tickets.tickets) for d in tokyo_days] == [
        (date(2025, 1, 10), 6, 3),
        (date(2025, 1, 11), 1, 1),
    ]


def test_an_empty_window_has_no_rates(sessions):
    result = report(sessions, date(2024, 1, 1), date(2024, 1, 1))
    assert result.conversations.conversations == 0 and result.conversations.deflected.rate is None
    assert result.tickets.median_first_response_minutes is None and result.days[0].tickets.tickets == 0


def test_bad_windows_are_refused(sessions):
    with sessions() as session:
        with pytest.raises(ValueError, match="is not before"):
            analytics_report(session, *reversed(day_window(date(2025, 1, 1), date(2025, 1, 2))))
        with pytest.raises(ValueError, match="aware"):
            analytics_report(session, datetime(2025, 1, 1), datetime(2025, 1, 2))
        with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
            analytics_report(session, *day_window(date(2025, 1, 1), date(2025, 1, 2)), timezone="Mars/Olympus")
