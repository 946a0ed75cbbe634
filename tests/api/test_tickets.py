"""The agent workflow over HTTP, on a clock the tests move: Friday 10 January 2025, 16:00 in Tokyo, two office
hours before a weekend and a Monday holiday (config/policies.yml)."""

from datetime import UTC, datetime

import pytest

from api.auth import create_token
from api.settings import Settings
from handoff import HandoffRequest, PolicyError, Ticket
from usecases.texts import WAITING_FOR_AGENT, say

FRIDAY_4PM_TOKYO = datetime(2025, 1, 10, 7, 0, tzinfo=UTC)


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 1, day, hour - 9, minute, tzinfo=UTC)


def agent(client, name="Aiko") -> dict[str, str]:
    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, "agent", name)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def handed_off(client, text="where is my parcel", lang="en", **request) -> tuple[int, str, dict[str, str]]:
    """A customer's conversation handed off as the bot's action does it; returns ticket id, conversation, auth."""
    created = client.post("/api/v1/conversations", json={"lang": lang}).json()
    with client.app.state.use_cases.ctx.sessions() as session:
        ticket = client.app.state.use_cases.ctx.handoff.hand_off(
            session,
            HandoffRequest(
                conversation_id=created["id"], reason="asked_for_person", description=text, lang=lang, **request
            ),
        )
        session.commit()
    return ticket.id, created["id"], {"Authorization": f"Bearer {created['token']}"}


def actions(ticket: dict, action: str) -> list[dict]:
    return [e for e in ticket["history"] if e["action"] == action]


def send(client, conversation_id: str, customer: dict[str, str], text: str) -> dict:
    """The customer sends `text`; returns the reply."""
    answer = client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=customer)
    assert answer.status_code == 200, answer.text
    return answer.json()


def transcript(client, conversation_id: str, customer: dict[str, str]) -> list[dict]:
    return client.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()["transcript"]


def test_ticket_json_carries_priority_queue_tier_status_sla_and_history(api):
    ticket_id, _, _ = handed_off(api, "the app is not working")
    ticket = api.get(f"/api/v1/tickets/{ticket_id}", headers=agent(api)).json()
    assert (ticket["priority"], ticket["queue"], ticket["tier"], ticket["status"]) == ("urgent", "technical", 1, "new")
    # technical works around the clock: 1 h to the first response, 8 h to resolution
    assert ticket["sla"]["first_response_due"].startswith("2025-01-10T08:00:00")
    assert ticket["sla"]["resolution_due"].startswith("2025-01-10T15:00:00")
    assert ticket["sla"]["breached"] == [] and ticket["escalation_level"] == 0
    assert [e["action"] for e in ticket["history"]] == ["created", "sla_started"]
    assert ticket["history"][0]["priority_by"] == "rule: not working"


def test_a_handoff_no_hard_rule_takes_goes_where_the_queue_classifier_trained_at_start_up_says(api):
    classifier = api.app.state.use_cases.ctx.queue_classifier
    assert classifier.ready  # the demo knowledge base is small: trained before the first request
    text = "I moved house, can you send my stuff to the new place?"
    queue, confidence = classifier(text)
    assert queue == "orders" and confidence >= 0.5  # config/policies.yml: classifier.min_confidence
    ticket_id, _, _ = handed_off(api, text)
    ticket = api.get(f"/api/v1/tickets/{ticket_id}", headers=agent(api)).json()
    assert (ticket["queue"], ticket["routed_by"]) == ("orders", "classifier")
    assert ticket["routing_confidence"] == pytest.approx(confidence)
    assert actions(ticket, "created")[0]["classified_as"] == "orders"


def test_an_agent_reply_reaches_the_conversation_and_the_bot_stays_silent(api):
    ticket_id, conversation_id, customer = handed_off(api)
    aiko = agent(api)
    claimed = api.post(f"/api/v1/tickets/{ticket_id}/claim", headers=aiko).json()
    assert (claimed["status"], claimed["assignee"]) == ("open", "Aiko")
    replied = api.post(f"/api/v1/tickets/{ticket_id}/reply", json={"text": "Hi, I'm Aiko. Which order?"}, headers=aiko)
    assert replied.status_code == 200 and replied.json()["sla"]["first_responded_at"] is not None
    view = api.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()
    assert view["state"] == "agent"
    assert (view["transcript"][-1]["sender"], view["transcript"][-1]["text"]) == ("agent", "Hi, I'm Aiko. Which order?")
    live = ["order 1234", "it was a blue jacket", "bought last Monday"]
    for text in live:  # a live exchange: the agent reads them, no one else answers
        answer = send(api, conversation_id, customer, text)
        assert (answer["state"], answer["messages"]) == ("agent", [])
    entries = transcript(api, conversation_id, customer)
    assert [m["sender"] for m in entries] == ["agent", "customer", "customer", "customer"]
    assert all(m["for_person"] for m in entries[1:])
    ticket = api.get(f"/api/v1/tickets/{ticket_id}", headers=aiko).json()
    assert [m["text"] for m in ticket["transcript"]][-3:] == live
    notes = api.post(f"/api/v1/tickets/{ticket_id}/notes", json={"text": "VIP, be quick"}, headers=aiko).json()
    assert actions(notes, "note")[0]["text"] == "VIP, be quick" and "VIP" not in str(notes["transcript"])


def test_a_waiting_ticket_acknowledges_a_run_of_messages_once(api):
    ticket_id, conversation_id, customer = handed_off(api)
    acknowledgement = say(WAITING_FOR_AGENT, "en", ticket=f"TZ-{1000 + ticket_id}")
    first = send(api, conversation_id, customer, "any news?")
    second = send(api, conversation_id, customer, "it is order 1234")
    assert [m["text"] for m in first["messages"]] == [acknowledgement] and first["state"] == "waiting_agent"
    assert (second["messages"], second["state"]) == ([], "waiting_agent")
    assert [m["sender"] for m in transcript(api, conversation_id, customer)] == ["customer", "system", "customer"]
    api.post(f"/api/v1/tickets/{ticket_id}/escalate", json={"tier": 2, "reason": "specialist"}, headers=agent(api))
    after_the_move = send(api, conversation_id, customer, "thanks, still waiting")  # told something since: once more
    assert [m["text"] for m in after_the_move["messages"]] == [acknowledgement]
    assert send(api, conversation_id, customer, "hello?")["messages"] == []


def test_the_customer_is_told_in_their_language_when_an_agent_moves_the_ticket(api):
    ticket_id, conversation_id, customer = handed_off(api, "注文した荷物が届きません", lang="ja")
    reference, aiko = f"TZ-{1000 + ticket_id}", agent(api)
    moved = api.post(f"/api/v1/tickets/{ticket_id}/escalate", json={"queue": "billing", "reason": "charged twice?"},
                     headers=aiko)  # fmt: skip
    assert moved.json()["queue"] == "billing"
    up = api.post(f"/api/v1/tickets/{ticket_id}/escalate", json={"tier": 2, "reason": "Kenji to check"}, headers=aiko)
    assert (up.json()["queue"], up.json()["tier"]) == ("specialists", 2)
    due = "1月14日(火) 15:00（UTC+09:00）までに担当者から最初の返信をいたします。"  # orders, normal: 8 office hours
    entries = transcript(api, conversation_id, customer)
    assert [(m["sender"], m["text"], m["notice"]) for m in entries] == [
        ("system", f"チケット {reference} はお支払い担当チームが引き継ぎました。{due}", "ticket_moved"),
        ("system", f"チケット {reference} は専門チームが引き継ぎました。{due}", "ticket_moved"),
    ]
    assert "charged twice" not in str(entries) and "Kenji" not in str(entries)  # the reasons are the team's


def test_the_sla_escalation_to_another_team_is_told_once_however_often_the_clock_runs(start, clock):
    with start() as first:
        ticket_id, conversation_id, customer = handed_off(first)  # orders: first reply due Tuesday 15:00
    reference = f"TZ-{1000 + ticket_id}"
    clock.set(tokyo(14, 23, 30))  # breached at 15:00; the matrix's level 3 (8 h on) raises the tier
    with start() as second:
        fired = second.app.state.scheduler.run_once()
        assert [f.event for f in fired] == ["sla_reminder", "sla_breached", "escalated", "escalated", "escalated"]
        assert second.app.state.scheduler.run_once() == []
        notices = second.app.state.use_cases.notices
        with second.app.state.use_cases.ctx.sessions() as session:  # the clock's code run again on every entry
            for entry in session.get(Ticket, ticket_id).history:
                assert notices.after_timer(session, entry) is None and notices.tell(session, entry) is None
            session.commit()
    with start() as third:
        assert third.app.state.scheduler.run_once() == []
        told = [(m["sender"], m["text"]) for m in transcript(third, conversation_id, customer)]
    # levels 1 and 2 (the lead takes it, the priority goes up) stay within the team: the customer is not told
    assert told == [("system", f"Your request {reference} is now with our Specialist team. They will reply here.")]
    clock.set(tokyo(15, 15, 30))  # level 4, a day after the breach: up again
    with start() as fourth:
        assert [f.event for f in fourth.app.state.scheduler.run_once()] == ["escalated"]
        told = [m["text"] for m in transcript(fourth, conversation_id, customer)]
    assert told[1:] == [f"Your request {reference} is now with our Engineering team. They will reply here."]


def test_the_resolution_is_told_with_its_first_lines_and_never_the_internal_notes(api):
    ticket_id, conversation_id, customer = handed_off(api, "my parcel is lost")
    aiko = agent(api)
    api.post(f"/api/v1/tickets/{ticket_id}/reply", json={"text": "Looking into it."}, headers=aiko)
    api.post(f"/api/v1/tickets/{ticket_id}/notes", json={"text": "Courier claim #88, ask Kenji"}, headers=aiko)
    resolution = (
        "We found your parcel at the depot and sent it again.\n"
        "\n"
        "It arrives tomorrow before noon\n" + "Team: the courier's claim form, reference and history. " * 5
    )
    resolved = api.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": resolution}, headers=aiko)
    assert resolved.status_code == 200, resolved.text
    view = api.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()
    assert view["state"] == "resolved"
    assert (view["transcript"][-1]["sender"], view["transcript"][-1]["text"]) == (
        "system",
        f"Your request TZ-{1000 + ticket_id} is resolved: We found your parcel at the depot and sent it again. "
        "It arrives tomorrow before noon. If anything is still wrong, just reply here.",
    )
    assert "Kenji" not in str(view) and "Team:" not in str(view)


def test_resolve_hands_the_conversation_back_to_the_bot_and_reopen_takes_it_again(api):
    ticket_id, conversation_id, customer = handed_off(api)
    aiko = agent(api)
    api.post(f"/api/v1/tickets/{ticket_id}/claim", headers=aiko)
    empty = api.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "  "}, headers=aiko)
    assert empty.status_code == 422 and "resolution" in empty.json()["detail"]
    resolved = api.post(
        f"/api/v1/tickets/{ticket_id}/resolve",
        json={"resolution": "Sent tracking", "article_id": "track-order-en"},
        headers=aiko,
    ).json()
    assert (resolved["status"], resolved["resolution_article_id"]) == ("resolved", "track-order-en")
    reopened = api.post(f"/api/v1/tickets/{ticket_id}/reopen", json={"reason": "still lost"}, headers=aiko).json()
    assert reopened["status"] == "open"
    assert api.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()["state"] == "agent"
    api.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "Found it"}, headers=aiko)
    answer = api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": "how do I return an item?"},
                      headers=customer).json()  # fmt: skip
    assert answer["state"] == "bot"  # back to the bot (Rasa is down here, so the API answers from the KB itself)
    transcript = api.get(f"/api/v1/conversations/{conversation_id}", headers=customer).json()["transcript"]
    assert transcript[-1]["sender"] == "bot"


def test_bad_transitions_get_409_with_a_message(api):
    ticket_id, _, _ = handed_off(api)
    aiko = agent(api)
    api.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "done"}, headers=aiko)
    assert api.post(f"/api/v1/tickets/{ticket_id}/close", headers=aiko).json()["status"] == "closed"
    again = api.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "again"}, headers=aiko)
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"cannot resolve ticket TZ-{1000 + ticket_id}: it is closed")
    assert api.post(f"/api/v1/tickets/{ticket_id}/reopen", headers=aiko).status_code == 409
    assert api.post(f"/api/v1/tickets/{ticket_id}/reply", json={"text": "hi"}, headers=aiko).status_code == 409
    assert api.post("/api/v1/tickets/999999/claim", headers=aiko).status_code == 404
    assert api.post(f"/api/v1/tickets/{ticket_id}/claim").status_code == 401


def test_escalate_to_a_queue_or_a_tier(api):
    ticket_id, _, _ = handed_off(api)
    aiko = agent(api)
    both = api.post(f"/api/v1/tickets/{ticket_id}/escalate", json={"queue": "billing", "tier": 2, "reason": "x"},
                    headers=aiko)  # fmt: skip
    assert both.status_code == 422
    no_reason = api.post(f"/api/v1/tickets/{ticket_id}/escalate", json={"tier": 2, "reason": ""}, headers=aiko)
    assert no_reason.status_code == 422
    up = api.post(
        f"/api/v1/tickets/{ticket_id}/escalate", json={"tier": 2, "reason": "needs a specialist"}, headers=aiko
    )
    assert (up.json()["queue"], up.json()["tier"]) == ("specialists", 2)
    assert actions(up.json(), "escalated")[0]["reason"] == "needs a specialist"


def test_queues_and_filters_show_the_work_and_the_nearest_deadline(api, clock):
    aiko = agent(api)
    parcel, _, _ = handed_off(api, "where is my parcel")
    broken, _, _ = handed_off(api, "the app is not working")
    invoice, _, _ = handed_off(api, "my invoice is wrong")  # billing is urgent: 1 office hour, Friday 17:00
    api.post(f"/api/v1/tickets/{parcel}/claim", headers=aiko)
    queues = {q["name"]: q for q in api.get("/api/v1/queues", headers=aiko).json()}
    assert queues["orders"]["counts"] == {"new": 0, "open": 1, "pending_customer": 0}
    assert queues["technical"]["nearest_deadline_ticket"] == f"TZ-{1000 + broken}"
    assert queues["technical"]["open_now"] and queues["orders"]["open_now"]
    assert queues["specialists"]["tier"] == 2 and queues["specialists"]["nearest_deadline"] is None
    by_deadline = api.get("/api/v1/tickets", params={"sort": "deadline"}, headers=aiko).json()
    assert by_deadline[0]["id"] == broken  # 1 h, around the clock
    assert [t["id"] for t in api.get("/api/v1/tickets", params={"assignee": "me"}, headers=aiko).json()] == [parcel]
    assert len(api.get("/api/v1/tickets", params={"queue": "billing", "status": "new"}, headers=aiko).json()) == 1
    assert api.get("/api/v1/tickets", params={"breached": True}, headers=aiko).json() == []
    clock.set(tokyo(10, 17, 1))
    late = api.get("/api/v1/tickets", params={"breached": True}, headers=aiko).json()
    assert sorted((t["id"], t["sla"]["breached"][0]) for t in late) == [
        (broken, "first_response"),
        (invoice, "first_response"),
    ]
    queues = {q["name"]: q for q in api.get("/api/v1/queues", headers=aiko).json()}
    assert (queues["technical"]["breached"], queues["billing"]["breached"], queues["orders"]["breached"]) == (1, 1, 0)


def test_reminder_and_escalation_fire_exactly_once_across_restarts(start, clock):
    with start() as first:
        ticket_id, _, _ = handed_off(first)  # orders, normal: 8 business hours → Tuesday 15:00 (Monday is a holiday)
        assert first.app.state.scheduler.run_once() == []
    clock.set(tokyo(14, 14, 40))
    with start() as second:
        assert [f.event for f in second.app.state.scheduler.run_once()] == ["sla_reminder"]
    clock.set(tokyo(14, 15, 1))
    with start() as third:
        assert [f.event for f in third.app.state.scheduler.run_once()] == ["sla_breached", "escalated"]
        assert third.app.state.scheduler.run_once() == []
    with start() as fourth:
        assert fourth.app.state.scheduler.run_once() == []
        ticket = fourth.get(f"/api/v1/tickets/{ticket_id}", headers=agent(fourth)).json()
    assert [e["deadline"] for e in actions(ticket, "sla_reminder")] == ["first_response"]
    assert [e["deadline"] for e in actions(ticket, "sla_breached")] == ["first_response"]
    assert [(e["level"], e["notify"]) for e in actions(ticket, "escalated")] == [(1, ["queue:orders", "Yui Suzuki"])]
    assert (ticket["assignee"], ticket["escalation_level"], ticket["sla"]["breached"]) == (
        "Yui Suzuki",
        1,
        ["first_response"],
    )


def test_a_bad_policies_file_stops_the_start_with_the_line_and_reason(start, tmp_path):
    bad = tmp_path / "policies.yml"
    text = Settings().policies_file.read_text(encoding="utf-8").replace("queue: billing\n", "queue: biling\n", 1)
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "queue: biling" in row)
    refused = pytest.raises(PolicyError, match=rf"line {line}: routing\[1\]\.queue: unknown queue 'biling'")
    with refused, start(policies_file=bad):
        pass
