"""A message sent with a `client_message_id` is stored and answered once, however often it is sent."""

import asyncio
import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import usecases.conversations
import usecases.handoff
from handoff import HandoffRequest
from handoff.models import Conversation, Message, Ticket
from handoff.service import record_message
from usecases.texts import BOT_UNAVAILABLE, say


def _start(client):
    created = client.post("/api/v1/conversations", json={"lang": "en"}).json()
    return f"/api/v1/conversations/{created['id']}/messages", {"Authorization": f"Bearer {created['token']}"}


@pytest.fixture
def bot(client, monkeypatch):
    """Rasa, replaced: records what it is asked and answers each message with one reply (after `delay` seconds)."""

    class FakeRasa:
        def __init__(self) -> None:
            self.asked: list[str] = []
            self.delay = 0.0

        async def send(self, conversation_id, text, metadata):
            self.asked.append(text)
            await asyncio.sleep(self.delay)
            return [{"recipient_id": conversation_id, "text": f"reply {len(self.asked)} to {text}"}]

    fake = FakeRasa()
    monkeypatch.setattr(client.app.state.rasa, "send", fake.send)
    return fake


def _stored(client, sender="customer") -> list[Message]:
    with client.app.state.use_cases.ctx.sessions() as session:
        return list(session.scalars(select(Message).where(Message.sender == sender).order_by(Message.id)))


def test_a_retry_gets_the_first_replies_and_nothing_is_stored_or_asked_twice(client, bot):
    url, auth = _start(client)
    body = {"text": "where is my parcel?", "client_message_id": "m-1"}
    first = client.post(url, json=body, headers=auth)
    again = client.post(url, json=body, headers=auth)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert [m["text"] for m in first.json()["messages"]] == ["reply 1 to where is my parcel?"]
    assert bot.asked == ["where is my parcel?"]
    assert [m.text for m in _stored(client)] == ["where is my parcel?"]
    assert len(_stored(client, "bot")) == 1
    nxt = client.post(url, json={"text": "thanks", "client_message_id": "m-2"}, headers=auth)
    assert nxt.json()["messages"][0]["text"] == "reply 2 to thanks"
    assert client.post(url, json=body, headers=auth).json() == first.json()  # an older key still replays its replies


def test_the_same_key_with_another_text_is_refused(client, bot):
    url, auth = _start(client)
    client.post(url, json={"text": "where is my parcel?", "client_message_id": "m-1"}, headers=auth)
    other = client.post(url, json={"text": "cancel my order", "client_message_id": "m-1"}, headers=auth)
    assert other.status_code == 409
    assert "already used for a different message" in other.json()["detail"]
    assert [m.text for m in _stored(client)] == ["where is my parcel?"] and len(bot.asked) == 1


def test_keys_belong_to_one_conversation_and_messages_without_a_key_are_all_new(client, bot):
    first_url, first_auth = _start(client)
    second_url, second_auth = _start(client)
    body = {"text": "hello", "client_message_id": "same"}
    assert client.post(first_url, json=body, headers=first_auth).status_code == 200
    assert client.post(second_url, json=body, headers=second_auth).status_code == 200
    client.post(first_url, json={"text": "hello"}, headers=first_auth)
    client.post(first_url, json={"text": "hello"}, headers=first_auth)
    assert len(_stored(client)) == 4 and len(bot.asked) == 4


def test_bad_keys_are_refused_with_a_clear_message(client, bot):
    url, auth = _start(client)
    for key in ["", "a" * 65, "has space", "キー", "tab\there", 42]:
        response = client.post(url, json={"text": "hello", "client_message_id": key}, headers=auth)
        assert response.status_code == 422, key
        assert "client_message_id" in response.json()["detail"]
    assert _stored(client) == []
    assert client.post(url, json={"text": "hello", "client_message_id": "a" * 64}, headers=auth).status_code == 200


def test_a_retry_while_the_first_send_waits_for_the_bot_gets_its_replies(client, bot):
    url, auth = _start(client)
    bot.delay = 0.5
    body = {"text": "where is my parcel?", "client_message_id": "m-1"}
    responses = [None, None]

    def send(i):
        responses[i] = client.post(url, json=body, headers=auth)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].json() == responses[1].json()
    assert responses[0].json()["messages"][0]["text"] == "reply 1 to where is my parcel?"
    assert len(_stored(client)) == 1 and len(_stored(client, "bot")) == 1 and bot.asked == ["where is my parcel?"]


def test_a_duplicate_inserted_at_the_same_moment_fails_on_the_unique_key_and_is_answered_as_a_retry(
    client, bot, monkeypatch
):
    """Two API processes both look for the key, find nothing, and insert: the database keeps one."""
    url, auth = _start(client)
    body = {"text": "where is my parcel?", "client_message_id": "m-1"}
    first = client.post(url, json=body, headers=auth).json()
    real, looks = usecases.conversations.message_with_key, []

    def too_early(session, conversation_id, key):  # the second process looked before the first one committed
        looks.append(key)
        return None if len(looks) == 1 else real(session, conversation_id, key)

    monkeypatch.setattr(usecases.conversations, "message_with_key", too_early)
    again = client.post(url, json=body, headers=auth)
    assert again.status_code == 200 and again.json() == first
    assert len(looks) == 2  # the insert failed on (conversation_id, client_message_id), then the key was found
    assert len(_stored(client)) == 1 and len(bot.asked) == 1


def test_a_retry_when_an_agent_has_the_conversation_gets_the_same_notice(client, bot):
    url, auth = _start(client)
    conversation_id = url.split("/")[-2]
    with client.app.state.use_cases.ctx.sessions() as session:
        client.app.state.use_cases.ctx.handoff.hand_off(
            session, HandoffRequest(conversation_id=conversation_id, reason="asked_for_person", description="help")
        )
        session.commit()
    body = {"text": "any news?", "client_message_id": "m-9"}
    first = client.post(url, json=body, headers=auth).json()
    again = client.post(url, json=body, headers=auth).json()
    assert again == first and "TZ-" in first["messages"][0]["text"]
    assert len(_stored(client)) == 1 and len(_stored(client, "system")) == 1 and bot.asked == []


def test_a_retry_of_a_message_that_got_no_reply_gets_none_at_once(client, bot):
    url, auth = _start(client)
    conversation_id = url.split("/")[-2]
    with client.app.state.use_cases.ctx.sessions() as session:
        client.app.state.use_cases.ctx.handoff.hand_off(
            session, HandoffRequest(conversation_id=conversation_id, reason="asked_for_person", description="help")
        )
        session.commit()
    client.post(url, json={"text": "any news?", "client_message_id": "m-1"}, headers=auth)  # acknowledged
    body = {"text": "it is order 1234", "client_message_id": "m-2"}  # the second in a row: nothing to say
    first = client.post(url, json=body, headers=auth).json()
    started = time.monotonic()
    again = client.post(url, json=body, headers=auth).json()
    assert again == first and first["messages"] == [] and time.monotonic() - started < 5
    assert len(_stored(client)) == 2 and len(_stored(client, "system")) == 1 and bot.asked == []


def test_the_bots_replies_are_stored_even_if_a_concurrent_insert_takes_their_number(client, bot, monkeypatch):
    url, auth = _start(client)
    real, taken = usecases.conversations.record_message, []

    def racing(session, conversation, sender, text, *args, **kwargs):
        message = real(session, conversation, sender, text, *args, **kwargs)
        if sender == "bot" and not taken:  # an agent's message takes this number and commits first
            taken.append(message.seq)
            with client.app.state.use_cases.ctx.sessions() as other:
                real(other, other.get(Conversation, conversation.id), "agent", "On it.")
                other.commit()
        return message

    monkeypatch.setattr(usecases.conversations, "record_message", racing)
    response = client.post(url, json={"text": "where is my parcel?"}, headers=auth)
    assert response.status_code == 200 and response.json()["messages"][0]["text"] == "reply 1 to where is my parcel?"
    assert taken and [m.text for m in _stored(client, "bot")] == ["reply 1 to where is my parcel?"]
    assert bot.asked == ["where is my parcel?"]


def test_the_handoff_notice_is_stored_even_if_a_concurrent_insert_takes_its_number(client, bot, monkeypatch):
    url, auth = _start(client)
    real, taken = usecases.handoff.record_message, []

    def racing(session, conversation, sender, text, *args, **kwargs):
        message = real(session, conversation, sender, text, *args, **kwargs)
        if sender == "system" and not taken:  # SQLite serialises this write: what PostgreSQL raises on the race
            taken.append(message.seq)
            raise IntegrityError("INSERT INTO messages", {}, Exception("duplicate key value (conversation_id, seq)"))
        return message

    monkeypatch.setattr(usecases.handoff, "record_message", racing)
    details = {"name": "Mia Tanaka", "email": "mia@example.com", "description": "The app is not working"}
    response = client.post(url.replace("/messages", "/handoff"), json=details, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["ticket"]["reference"] in response.json()["messages"][0]["text"]
    assert taken and len(_stored(client, "system")) == 1
    with client.app.state.use_cases.ctx.sessions() as session:
        assert len(list(session.scalars(select(Ticket)))) == 1


def test_a_retry_whose_first_send_never_got_replies_gets_an_apology(client, bot, monkeypatch):
    url, auth = _start(client)
    conversation_id = url.split("/")[-2]
    # the first send stored the message, then its process died
    with client.app.state.use_cases.ctx.sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        record_message(session, conversation, "customer", "where is my parcel?", client_message_id="m-1")
        session.commit()
    monkeypatch.setattr(client.app.state.settings, "rasa_timeout_seconds", 0.1)  # waits for it 5.1 s
    again = client.post(url, json={"text": "where is my parcel?", "client_message_id": "m-1"}, headers=auth)
    assert again.status_code == 200 and [m["text"] for m in again.json()["messages"]] == [say(BOT_UNAVAILABLE, "en")]
    assert bot.asked == []
