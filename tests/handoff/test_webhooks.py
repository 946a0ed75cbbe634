"""Outgoing webhooks against a real HTTP receiver on 127.0.0.1: signed, retried with back-off, sent exactly once,
enqueued in the same transaction as the change, and a bad webhook config refused with the line and the reason."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api.notifier import Notifier
from handoff import HandoffRequest, HandoffService, PolicyError, TicketWorkflow, fire_due_timers, parse_policies
from handoff.service import open_conversation
from handoff.webhooks import WebhookDelivery, WebhookEvent, backoff, install_outbox
from tests.handoff.conftest import SAMPLE, tokyo
from tests.webhook_receiver import SECRET


def with_webhooks(*hooks: str) -> str:
    return SAMPLE + "webhooks:\n" + "".join(hooks)


def hook(url: str, secret: str = SECRET, extra: str = "") -> str:
    return f"  - {{url: '{url}', secret: {secret}{extra}}}\n"


def hand_off(sessions, policies, clock, text: str = "where is my parcel") -> int:
    with sessions() as session:
        conversation, _ = open_conversation(session)
        session.commit()
        ticket = HandoffService(policies, clock).hand_off(
            session, HandoffRequest(conversation_id=conversation.id, reason="asked_for_person", description=text)
        )
        session.commit()
        return ticket.id


def test_a_handoff_reaches_the_receiver_signed_with_the_ticket(sessions, clock, receiver):
    helpdesk = receiver()
    policies = parse_policies(with_webhooks(hook(helpdesk.url)))
    ticket_id = hand_off(sessions, policies, clock, "my invoice is wrong")
    notifier = Notifier(sessions, policies, clock)
    attempts = notifier.run_once()
    assert [(a.event, a.outcome, a.status_code) for a in attempts] == [("ticket.created", "delivered", 200)]
    assert helpdesk.bad_signatures == 0
    (request,) = helpdesk.received
    body = request["json"]
    assert body["event"] == "ticket.created"
    assert body["at"] == clock.now().isoformat()
    assert body["ticket"]["id"] == ticket_id
    assert body["ticket"]["reference"] == f"TZ-{1000 + ticket_id}"
    assert (body["ticket"]["queue"], body["ticket"]["priority"], body["ticket"]["status"]) == ("billing", "high", "new")
    assert body["ticket"]["sla"]["first_response_due"] is not None
    assert request["headers"]["X-TierZero-Event"] == "ticket.created"
    assert request["headers"]["X-TierZero-Event-Id"] == body["id"]
    assert notifier.run_once() == []  # nothing left to send
    notifier.client.close()


def test_only_sessions_of_a_factory_with_the_outbox_installed_write_it(sessions, clock):
    plain = sessionmaker(sessions.kw["bind"], expire_on_commit=False)
    policies = parse_policies(with_webhooks(hook("https://helpdesk.example/hooks")))
    hand_off(plain, policies, clock)
    with sessions() as session:
        assert session.scalars(select(WebhookEvent)).all() == []
    assert install_outbox(sessions) is sessions  # a second install changes nothing: one row per event, not two
    hand_off(sessions, policies, clock)
    with sessions() as session:
        assert [event.event for event in session.scalars(select(WebhookEvent))] == ["ticket.created"]


def test_a_wrong_secret_is_rejected_by_the_receiver(sessions, clock, receiver):
    helpdesk = receiver()
    policies = parse_policies(with_webhooks(hook(helpdesk.url, secret="not-the-secret-the-helpdesk-has")))
    hand_off(sessions, policies, clock)
    (attempt,) = Notifier(sessions, policies, clock).run_once()
    assert (attempt.status_code, attempt.outcome) == (401, "pending")
    assert helpdesk.bad_signatures == 1 and helpdesk.received == []


def test_a_failing_receiver_is_retried_with_back_off_until_it_succeeds(sessions, clock, receiver):
    helpdesk = receiver([500, 500])
    policies = parse_policies(with_webhooks(hook(helpdesk.url)))
    hand_off(sessions, policies, clock)
    notifier = Notifier(sessions, policies, clock)
    assert [a.outcome for a in notifier.run_once()] == ["pending"]  # attempt 1: 500
    assert notifier.run_once() == []  # not due yet: the first back-off is 1 s
    clock.advance(seconds=1)
    assert [(a.attempt, a.status_code, a.outcome) for a in notifier.run_once()] == [(2, 500, "pending")]
    clock.advance(seconds=1)
    assert notifier.run_once() == []  # the second back-off is 2 s
    clock.advance(seconds=1)
    assert [(a.attempt, a.status_code, a.outcome) for a in notifier.run_once()] == [(3, 200, "delivered")]
    clock.advance(hours=1)
    assert notifier.run_once() == []
    assert [r["status"] for r in helpdesk.received] == [500, 500, 200]
    assert len({r["json"]["id"] for r in helpdesk.received}) == 1  # the same event each time, same body
    with sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]


def test_a_receiver_that_never_recovers_is_given_up_after_max_attempts(sessions, clock, receiver):
    helpdesk = receiver([503] * 10)
    policies = parse_policies(with_webhooks(hook(helpdesk.url, extra=", max_attempts: 3")))
    hand_off(sessions, policies, clock)
    notifier = Notifier(sessions, policies, clock)
    outcomes = []
    for _ in range(6):
        outcomes += [a.outcome for a in notifier.run_once()]
        clock.advance(minutes=1)
    assert outcomes == ["pending", "pending", "failed"]
    with sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("failed", 3)
        assert "HTTP 503" in delivery.last_error


def test_an_unreachable_receiver_is_retried(sessions, clock, receiver):
    helpdesk = receiver()
    url = helpdesk.url
    helpdesk.close()  # nobody listens there now
    policies = parse_policies(with_webhooks(hook(url)))
    hand_off(sessions, policies, clock)
    (attempt,) = Notifier(sessions, policies, clock).run_once()
    assert attempt.status_code is None and attempt.outcome == "pending" and "Connect" in attempt.error


def test_each_event_is_delivered_exactly_once_even_with_two_workers(sessions, clock, receiver):
    helpdesk = receiver()
    policies = parse_policies(with_webhooks(hook(helpdesk.url)))
    for text in ("parcel one", "parcel two", "parcel three"):
        hand_off(sessions, policies, clock, text)
    workers = [Notifier(sessions, policies, clock) for _ in range(2)]
    threads = [threading.Thread(target=w.run_once) for w in workers for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:  # and again, later: nothing is sent twice
        clock.advance(minutes=5)
        worker.run_once()
    assert sorted(body["ticket"]["subject"] for body in helpdesk.accepted()) == [
        "parcel one",
        "parcel three",
        "parcel two",
    ]
    assert len(helpdesk.received) == 3


def test_reminder_breach_escalation_and_resolution_are_sent_and_filtered(sessions, clock, receiver):
    everything, only_resolved = receiver(), receiver()
    policies = parse_policies(
        with_webhooks(hook(everything.url), hook(only_resolved.url, extra=", events: [ticket.resolved]"))
    )
    ticket_id = hand_off(sessions, policies, clock)  # Friday 16:00 Tokyo; first response due Tuesday 12:00
    clock.set(tokyo(14, 11, 31))
    with sessions() as session:
        fire_due_timers(session, policies, clock.now())  # the first-response reminder
    clock.set(tokyo(14, 12, 0))
    with sessions() as session:
        fire_due_timers(session, policies, clock.now())  # the breach and escalation level 1
    with sessions() as session:
        TicketWorkflow(policies, clock).resolve(session, ticket_id, "Aiko", "found the parcel")
        session.commit()
    notifier = Notifier(sessions, policies, clock)
    notifier.run_once()
    events = [body["event"] for body in everything.accepted()]
    assert events == ["ticket.created", "ticket.reminder", "ticket.breached", "ticket.escalated", "ticket.resolved"]
    breached = everything.accepted()[2]
    assert breached["detail"]["deadline"] == "first_response"
    escalated = everything.accepted()[3]
    assert escalated["detail"]["by"] == "escalation matrix" and escalated["ticket"]["escalation_level"] == 1
    resolved = everything.accepted()[4]
    assert resolved["ticket"]["status"] == "resolved" and resolved["ticket"]["resolution"] == "found the parcel"
    assert [body["event"] for body in only_resolved.accepted()] == ["ticket.resolved"]


def test_the_event_is_written_with_the_change_or_not_at_all(sessions, clock):
    policies = parse_policies(SAMPLE)
    with sessions() as session:
        conversation, _ = open_conversation(session)
        session.commit()
        HandoffService(policies, clock).hand_off(
            session, HandoffRequest(conversation_id=conversation.id, reason="no_answer", description="lost parcel")
        )
        session.flush()
        session.rollback()
    with sessions() as session:
        assert session.scalars(select(WebhookEvent)).all() == []  # the handoff rolled back, and so did its event
    ticket_id = hand_off(sessions, policies, clock)
    with sessions() as session:
        assert [(e.ticket_id, e.event) for e in session.scalars(select(WebhookEvent))] == [
            (ticket_id, "ticket.created")
        ]


def test_events_wait_in_the_outbox_until_a_notifier_runs(sessions, clock, receiver):
    """A crash (or a restart) between the change and the delivery loses nothing: the next process sends it."""
    helpdesk = receiver()
    policies = parse_policies(with_webhooks(hook(helpdesk.url)))
    hand_off(sessions, policies, clock)
    with sessions() as session:  # the first process died after committing; nothing was sent
        assert session.scalars(select(WebhookEvent)).one().dispatched_at is None
    Notifier(sessions, policies, clock).run_once()  # the next process
    assert [b["event"] for b in helpdesk.accepted()] == ["ticket.created"]


def test_without_webhooks_events_are_settled_without_sending(sessions, clock):
    policies = parse_policies(SAMPLE)
    hand_off(sessions, policies, clock)
    assert Notifier(sessions, policies, clock).run_once() == []
    with sessions() as session:
        assert session.scalars(select(WebhookEvent)).one().dispatched_at is not None
        assert session.scalars(select(WebhookDelivery)).all() == []


@pytest.mark.parametrize(
    ("entry", "line", "reason"),
    [
        ("  - {url: 'ftp://helpdesk.example/x', secret: " + SECRET + "}\n", 1, r"webhooks\[0\]\.url: .*not an http"),
        ("  - {url: 'https://helpdesk.example/x', secret: short}\n", 1, r"webhooks\[0\]\.secret: .*at least 16"),
        (
            "  - url: https://helpdesk.example/x\n    secret: " + SECRET + "\n    events: [ticket.deleted]\n",
            3,
            r"webhooks\[0\].events\[0\]: .*ticket.created",
        ),
        (
            "  - {url: 'https://helpdesk.example/x', secret: " + SECRET + ", retries: 3}\n",
            1,
            r"webhooks\[0\]\.retries: Extra",
        ),
    ],
)
def test_a_bad_webhook_config_is_refused_with_line_and_reason(entry, line, reason):
    line += SAMPLE.count("\n") + 1  # `line` counts from the `webhooks:` line, appended after the sample
    with pytest.raises(PolicyError, match=rf"sample.yml line {line}: {reason}"):
        parse_policies(with_webhooks(entry), source="sample.yml")


def test_a_webhook_listed_twice_is_refused():
    twice = hook("https://helpdesk.example/x") + hook("https://helpdesk.example/x")
    line = SAMPLE.count("\n") + 3
    with pytest.raises(PolicyError, match=rf"line {line}: webhooks\[1\].url: .*listed twice"):
        parse_policies(with_webhooks(twice), source="sample.yml")


def test_the_shipped_policies_have_no_webhooks_by_default():
    from handoff import load_policies

    assert load_policies().webhooks == []
