"""usecases.reports: the analytics report and the live figures, the knowledge gaps and the queue overview, without
HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from handoff import fire_due_timers
from tests.usecases.helpers import conversation, handed_off
from usecases.errors import Invalid
from usecases.reports import Analytics, Reports

NO_ANSWER = [
    {
        "text": "I'm sorry, I couldn't find an answer to that in our help center. Shall I pass your question on?",
        "buttons": [{"title": "Yes, please", "payload": "/affirm"}, {"title": "No, thanks", "payload": "/deny"}],
    }
]
SHIPPING_CARD = [{"text": "Here is what I found.", "articles": [{"id": "shipping-en", "title": "Shipping times"}]}]


def test_the_analytics_report_counts_whole_days_and_refuses_bad_windows(ctx, clock):
    conversation(ctx, [("how long does shipping take", SHIPPING_CARD)])
    handed_off(ctx, "where is my parcel")
    analytics = Analytics(ctx.sessions, ctx.clock)
    report = analytics.report()
    assert len(report.days) == 30 and report.days[-1].day == clock.now().date()
    assert report.conversations.conversations == 2 and report.conversations.deflected.count == 1
    assert report.tickets.tickets == 1
    for since, until, tz, message in [
        (date(2025, 2, 1), date(2025, 1, 1), "UTC", "swap them"),
        (date(2024, 1, 1), date(2025, 1, 1), "UTC", "ask for at most 366"),
        (None, None, "Mars/Olympus", "unknown time zone"),
        (None, date(1, 1, 5), "UTC", "leaves no room for the default window"),
    ]:
        with pytest.raises(Invalid, match=message):
            analytics.report(since, until, tz)


def test_the_live_figures_are_the_databases_totals(ctx, clock):
    handed_off(ctx, "where is my parcel")
    with ctx.sessions() as session:  # a month later both deadlines have passed
        fire_due_timers(session, ctx.policies, clock.now() + timedelta(days=30))
        session.commit()
    figures = Analytics(ctx.sessions, ctx.clock).figures()
    assert figures.conversations == 1
    assert figures.handoffs == [("asked_for_person", 1)]
    assert sorted(figures.breaches) == [("first_response", 1), ("resolution", 1)]
    assert sum(count for _, _, count in figures.open_tickets) == 1
    assert dict(figures.articles) == {"published": 2}


def test_questions_the_bot_could_not_answer_make_a_cluster(ctx):
    for question in ("Can I pay with PayPay?", "Do you accept PayPay?", "Is PayPay accepted?"):
        conversation(ctx, [(question, NO_ANSWER), ("/deny", [{"text": "What else can I do for you?"}])])
    conversation(ctx, [("how long does shipping take", SHIPPING_CARD)])
    gaps = Reports(ctx).knowledge_gaps(days=30, min_count=2, similarity=0.85)
    assert gaps.questions == 3 and not gaps.truncated
    [cluster] = gaps.clusters
    assert cluster.count == 3 and "PayPay" in cluster.title and cluster.reasons == {"no_answer": 3}
    assert cluster.first_seen.tzinfo is not None and gaps.since.tzinfo is not None
    assert gaps.until == ctx.clock.now() and gaps.overridden == []
    with pytest.raises(Invalid):
        Reports(ctx).knowledge_gaps(days=0, min_count=2, similarity=0.85)


def test_the_queue_overview_counts_tickets_and_names_the_next_deadline(ctx, clock):
    ticket_id = handed_off(ctx, "where is my parcel")
    queues = {q.name: q for q in Reports(ctx).queues()}
    assert set(queues) == set(ctx.policies.queues)
    [busy] = [q for q in queues.values() if sum(q.counts.values())]
    assert busy.counts["new"] == 1 and busy.breached == 0
    assert busy.nearest_deadline_ticket == f"TZ-{1000 + ticket_id}" and busy.nearest_deadline.tzinfo is not None
    clock.advance(days=30)
    assert {q.name: q.breached for q in Reports(ctx).queues()}[busy.name] == 1
