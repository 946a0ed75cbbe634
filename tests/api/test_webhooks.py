"""Webhooks from the running API: the delivery loop in the API process sends signed events to a real receiver on
127.0.0.1, the chat never waits for it, and events committed before a restart are sent by the next process."""

from __future__ import annotations

import time

from api.settings import Settings
from tests.api.test_tickets import agent, handed_off
from tests.webhook_receiver import SECRET


def policies_with_webhook(tmp_path, url: str):
    text = Settings().policies_file.read_text(encoding="utf-8")
    assert "\nwebhooks: []\n" in text
    path = tmp_path / "policies-webhooks.yml"
    path.write_text(text.replace("\nwebhooks: []\n", f"\nwebhooks:\n  - {{url: '{url}', secret: {SECRET}}}\n"))
    return path


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_api_sends_handoff_and_resolution_events(start, tmp_path, receiver):
    helpdesk = receiver()
    with start(policies_file=policies_with_webhook(tmp_path, helpdesk.url), webhook_interval_seconds=0.05) as api:
        ticket_id, _, _ = handed_off(api, "the app is not working")
        resolved = api.post(
            f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "Restarted"}, headers=agent(api)
        )
        assert resolved.status_code == 200
        assert wait_for(lambda: len(helpdesk.accepted()) == 2)
    assert helpdesk.bad_signatures == 0
    created, done = helpdesk.accepted()
    assert (created["event"], created["ticket"]["id"], created["ticket"]["priority"]) == (
        "ticket.created",
        ticket_id,
        "urgent",
    )
    assert created["ticket"]["queue"] == "technical" and created["ticket"]["status"] == "new"
    assert (done["event"], done["ticket"]["status"], done["detail"]["resolution"]) == (
        "ticket.resolved",
        "resolved",
        "Restarted",
    )


def test_a_failing_receiver_never_blocks_the_chat(start, tmp_path, receiver):
    helpdesk = receiver([500] * 20)
    with start(policies_file=policies_with_webhook(tmp_path, helpdesk.url), webhook_interval_seconds=0.05) as api:
        began = time.monotonic()
        ticket_id, conversation_id, customer = handed_off(api)
        reply = api.post(f"/api/v1/tickets/{ticket_id}/reply", json={"text": "Looking into it"}, headers=agent(api))
        assert reply.status_code == 200 and time.monotonic() - began < 5
        assert wait_for(lambda: len(helpdesk.received) >= 1)  # tried, failed, waiting for its back-off
        shown = api.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()
        assert shown["transcript"][-1]["text"] == "Looking into it"


def test_events_committed_before_a_restart_are_sent_after_it(start, tmp_path, receiver):
    helpdesk = receiver()
    policies = policies_with_webhook(tmp_path, helpdesk.url)
    with start(policies_file=policies, webhook_interval_seconds=3600) as api:  # this process never gets to send
        ticket_id, _, _ = handed_off(api)
    assert helpdesk.received == []
    with start(policies_file=policies, webhook_interval_seconds=0.05):
        assert wait_for(lambda: len(helpdesk.accepted()) == 1)
        time.sleep(0.3)  # a few more rounds of the loop: still once
    assert [(b["event"], b["ticket"]["id"]) for b in helpdesk.accepted()] == [("ticket.created", ticket_id)]
    assert len(helpdesk.received) == 1
