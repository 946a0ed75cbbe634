"""The customer's live stream (server-sent events): new messages after a given one, and the conversation's state."""

import json

import pytest

from api import conversations
from handoff.service import get_conversation, record_message


@pytest.fixture
def short_streams(monkeypatch):
    monkeypatch.setattr(conversations, "EVENTS_STREAM_SECONDS", 0.5)
    monkeypatch.setattr(conversations, "EVENTS_POLL_SECONDS", 0.1)


def _events(body: str) -> list[tuple[str, dict, str | None]]:
    found = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            found.append((fields.get("event", "message"), json.loads(fields["data"]), fields.get("id")))
    return found


def test_the_stream_sends_what_came_after_and_never_internal_notes(client, short_streams):
    created = client.post("/api/v1/conversations", json={"lang": "en"}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    with client.app.state.use_cases.ctx.sessions() as session:
        conversation = get_conversation(session, created["id"])
        record_message(session, conversation, "customer", "Where is my parcel?")
        record_message(session, conversation, "note", "internal: customer is a VIP")
        record_message(session, conversation, "agent", "<b>Hello</b>, it left the warehouse today.")
        session.commit()

    response = client.get(f"/api/v1/conversations/{created['id']}/events?after=1", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    messages = [(data["sender"], data["text"], event_id) for name, data, event_id in events if name == "message"]
    assert messages == [("agent", "<b>Hello</b>, it left the warehouse today.", "3")]
    assert ("state", {"state": "bot", "ticket": None}, None) in events

    resumed = client.get(f"/api/v1/conversations/{created['id']}/events", headers={**auth, "Last-Event-ID": "3"}).text
    assert [e for e in _events(resumed) if e[0] == "message"] == []


def test_the_stream_needs_the_conversation_token(client, short_streams):
    created = client.post("/api/v1/conversations", json={"lang": "en"}).json()
    other = client.post("/api/v1/conversations", json={"lang": "en"}).json()
    url = f"/api/v1/conversations/{created['id']}/events"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": f"Bearer {other['token']}"}).status_code == 401
    missing = client.get("/api/v1/conversations/nope/events", headers={"Authorization": f"Bearer {other['token']}"})
    assert missing.status_code == 404


def test_a_message_number_no_server_could_have_sent_is_refused_or_ignored(client, short_streams):
    created = client.post("/api/v1/conversations", json={"lang": "en"}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    url = f"/api/v1/conversations/{created['id']}/events"
    with client.app.state.use_cases.ctx.sessions() as session:
        record_message(session, get_conversation(session, created["id"]), "customer", "Where is my parcel?")
        session.commit()
    refused = client.get(f"{url}?after=99999999999999999999", headers=auth)
    assert refused.status_code == 422 and "after" in refused.text
    # a header too big to be one of ours is ignored: the stream starts from `after`, and keeps going
    resumed = client.get(url, headers={**auth, "Last-Event-ID": "99999999999999999999"})
    assert resumed.status_code == 200
    texts = [data["text"] for name, data, _ in _events(resumed.text) if name == "message"]
    assert texts == ["Where is my parcel?"]
