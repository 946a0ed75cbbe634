import pytest
from sqlalchemy import select

from handoff.models import Ticket


def _start(client, **body):
    response = client.post("/api/v1/conversations", json=body)
    assert response.status_code == 201
    conversation = response.json()
    return conversation["id"], {"Authorization": f"Bearer {conversation['token']}"}


def test_rasa_down_gets_a_polite_reply_and_the_message_is_kept(client):
    conversation_id, auth = _start(client, lang="ja")
    url = f"/api/v1/conversations/{conversation_id}/messages"
    response = client.post(url, json={"text": "ペット用のホテルはありますか"}, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "bot"
    assert "メッセージは保存されました" in body["messages"][0]["text"]
    transcript = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()["transcript"]
    assert (transcript[0]["sender"], transcript[0]["text"]) == ("customer", "ペット用のホテルはありますか")
    assert [m["sender"] for m in transcript] == ["customer", "bot"]


def test_bad_messages_get_clear_4xx(client):
    conversation_id, auth = _start(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    empty = client.post(url, json={"text": "   "}, headers=auth)
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    huge = client.post(url, json={"text": "a" * 10_000}, headers=auth)
    assert huge.status_code == 422 and "limit is 2000" in huge.json()["detail"]
    assert client.post(url, json={}, headers=auth).status_code == 422
    assert (
        client.post(url, content=b"{not json", headers={**auth, "Content-Type": "application/json"}).status_code == 422
    )
    missing = client.post(url, json={"text": "hi"})
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    wrong = client.post(url, json={"text": "hi"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    unknown = client.post("/api/v1/conversations/doesnotexist/messages", json={"text": "hi"}, headers=auth)
    assert unknown.status_code == 404
    transcript = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()["transcript"]
    assert transcript == []


def test_one_customer_cannot_read_another_conversation(client):
    first_id, _ = _start(client)
    _, other_auth = _start(client)
    assert client.get(f"/api/v1/conversations/{first_id}", headers=other_auth).status_code == 401


def test_bad_conversation_fields_are_refused(client):
    assert client.post("/api/v1/conversations", json={"lang": "fr"}).status_code == 422
    assert client.post("/api/v1/conversations", json={"email": "not-an-email"}).status_code == 422


def test_health_reports_the_knowledge_base_and_rasa(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["rasa"] == "down" and health["articles"] >= 30


@pytest.mark.parametrize("address", ["anné@exämple.com", "山田@例え.jp", "<taro@example.jp>"])
def test_whatever_address_the_form_takes_is_not_stored(client, monkeypatch, address):
    async def send(conversation_id, text, metadata):  # the form asks for the email address first
        asking = text.startswith("/ask_human")
        return [{"text": "Your email?"}] + ([{"custom": {"form_field": "customer_email"}}] if asking else [])

    monkeypatch.setattr(client.app.state.rasa, "send", send)
    conversation_id, auth = _start(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    for text in ("/ask_human", f"my email is {address}, thanks"):
        assert client.post(url, json={"text": text}, headers=auth).status_code == 200
    stored = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()["transcript"][2]["text"]
    assert address.strip("<>") not in stored and "[email removed]" in stored and stored.startswith("my email is")


def test_rasa_down_still_answers_confident_questions_from_the_kb(client):
    conversation_id, auth = _start(client)
    reply = client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "I forgot my password"}, headers=auth
    ).json()
    assert reply["messages"][0]["articles"][0]["id"] == "reset-password-en"


def test_card_numbers_and_passwords_are_never_stored(client):
    conversation_id, auth = _start(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    client.post(url, json={"text": "I paid with 4111 1111 1111 1111 and my password is hunter22"}, headers=auth)
    stored = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()["transcript"][0]["text"]
    assert "4111" not in stored and "hunter22" not in stored
    assert "[card number removed]" in stored and "[secret removed]" in stored


def test_contact_details_reach_the_form_that_asked_for_them_but_are_never_stored(client, monkeypatch):
    """The bot's form question says which contact detail it asks for (`form_field`): the answer goes to the bot as
    typed, so the ticket gets it, and the transcript keeps a placeholder; any other message reaches neither."""
    long_story = "My parcel never came and I have been waiting for weeks, write to taro@example.jp; " * 2
    long_story_stored = long_story.strip().replace("taro@example.jp", "[email removed]")
    asks = {
        '/ask_human{"lang": "en"}': ("What's your name?", "customer_name"),
        long_story_stored: ("What's your name?", "customer_name"),
        "Where is my parcel?": ("What's your name?", "customer_name"),
        "Taro Yamada": ("What email address should we use to reach you?", "customer_email"),
        "it is taro@example.jp": ("Please describe what you need help with.", None),
    }
    heard = []

    async def send(conversation_id, text, metadata):
        heard.append(text)
        reply, field = asks.get(text, ("Thanks.", None))
        return [{"text": reply}] + ([{"custom": {"form_field": field}}] if field else [])

    monkeypatch.setattr(client.app.state.rasa, "send", send)
    conversation_id, auth = _start(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    said = [
        "/ask_human",
        long_story,
        "Where is my parcel?",
        "Taro Yamada",
        "it is taro@example.jp",
        "call 090-1234-5678 or mail taro@example.jp",
    ]
    for text in said:
        assert client.post(url, json={"text": text}, headers=auth).status_code == 200
    assert heard == [
        '/ask_human{"lang": "en"}',  # a button, with the conversation's language (Rasa's NLU does not see it)
        long_story_stored,  # too long to be a name: not taken as the answer
        "Where is my parcel?",  # a question, not a name
        "Taro Yamada",
        "it is taro@example.jp",
        "call [phone number removed] or mail [email removed]",
    ]
    transcript = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()["transcript"]
    assert [m["text"] for m in transcript if m["sender"] == "customer"] == [
        "/ask_human",
        long_story_stored,
        "Where is my parcel?",
        "[name given in the form]",
        "it is [email removed]",
        "call [phone number removed] or mail [email removed]",
    ]
    assert [m.get("form_field") for m in transcript if m["sender"] == "bot"] == [
        "customer_name",
        "customer_name",
        "customer_name",
        "customer_email",
        None,
        None,
    ]


def test_a_typed_command_reaches_the_bot_as_text_and_buttons_as_payloads(client, monkeypatch):
    heard = []

    async def send(conversation_id, text, metadata):
        heard.append(text)
        return [{"text": "Okay."}]

    monkeypatch.setattr(client.app.state.rasa, "send", send)
    conversation_id, auth = _start(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    said = ["/restart", "/session_start", "/affirm", '/choose_article{"article_id":"none"}', "/ask_human please"]
    for text in said:
        assert client.post(url, json={"text": text}, headers=auth).status_code == 200
    assert heard == [
        "restart",
        "session_start",
        '/affirm{"lang": "en"}',
        '/choose_article{"article_id": "none", "lang": "en"}',
        "ask_human please",
    ]


def test_control_characters_are_taken_out_of_the_details_form(client):
    conversation_id, auth = _start(client)
    details = {
        "name": "A\u0000B",
        "email": "ab@example.com\u0000",
        "description": "h\u0000elp with my order",
        "order_id": "A-1\u0007",
    }
    response = client.post(f"/api/v1/conversations/{conversation_id}/handoff", json=details, headers=auth)
    assert response.status_code in (200, 201), response.text
    with client.app.state.use_cases.ctx.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
        assert (ticket.customer_name, ticket.customer_email) == ("AB", "ab@example.com")
        assert "\u0000" not in ticket.description and "help with my order" in ticket.description
    refused = client.post(
        f"/api/v1/conversations/{conversation_id}/handoff",
        json={**details, "name": "\u0000\u0001"},
        headers=auth,
    )
    assert refused.status_code == 422 and "enter your name" in refused.text
