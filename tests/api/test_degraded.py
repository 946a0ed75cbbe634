"""Rasa unavailable: the API answers from the KB when it is sure, else offers the details form, and the form's
endpoint makes one ticket exactly as the bot's handoff does (no Rasa listens in these tests)."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from api.auth import create_token
from handoff import ManualClock
from handoff.models import Conversation, Message, Ticket
from handoff.service import record_message
from tests.api.conftest import FRIDAY_4PM_TOKYO, module_app
from usecases.texts import WAITING_FOR_AGENT, say

UNANSWERABLE = "Do you have a pet hotel?"


@pytest.fixture(scope="module")
def api(tmp_path_factory, demo_index, fresh_database):
    """One app for the module (each test opens its own conversations), on the test clock, with no Rasa listening."""
    clock = ManualClock(FRIDAY_4PM_TOKYO)
    quiet_scheduler = {"scheduler_interval_seconds": 3600}
    with module_app(tmp_path_factory, demo_index, fresh_database, "degraded", clock, **quiet_scheduler) as client:
        yield client


def _start(client, lang="en", **body):
    created = client.post("/api/v1/conversations", json={"lang": lang, **body}).json()
    return created["id"], {"Authorization": f"Bearer {created['token']}"}


def _say(client, conversation_id, auth, text):
    response = client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def _form(reply):
    forms = [m["form"] for m in reply["messages"] if m.get("form")]
    assert len(forms) == 1, reply
    return forms[0]


def _details(**changes):
    return {"name": "Mia Tanaka", "email": "mia@example.com", "description": "The app is not working", **changes}


def _count(client, model, **where):
    with client.app.state.use_cases.ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).filter_by(**where))


def _agent(client):
    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, "agent", "Aiko")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_question_the_kb_cannot_answer_gets_the_details_form_prefilled(api):
    conversation_id, auth = _start(api)
    reply = _say(api, conversation_id, auth, UNANSWERABLE)
    assert "unavailable" in reply["messages"][-1]["text"] and reply["state"] == "bot"
    form = _form(reply)
    assert form["action"] == f"/api/v1/conversations/{conversation_id}/handoff"
    fields = {f["name"]: f for f in form["fields"]}
    assert list(fields) == ["name", "email", "description", "order_id"]  # no phone: no agent would see it
    assert fields["name"]["required"] and fields["email"]["required"] and not fields["order_id"]["required"]
    assert (fields["email"]["type"], fields["email"]["label"]) == ("email", "Email address")
    assert fields["description"]["value"] == UNANSWERABLE and form["reason"] == "no_answer"
    stored = api.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()["transcript"][-1]
    assert stored["form"] == form  # a reload shows it again


def test_the_form_speaks_the_conversations_language(api):
    conversation_id, auth = _start(api, "ko")
    reply = _say(api, conversation_id, auth, "애완동물 호텔이 있나요?")
    assert "저장되었습니다" in reply["messages"][-1]["text"]
    form = _form(reply)
    assert [f["label"] for f in form["fields"]][:3] == ["이름", "이메일 주소", "문의 내용"]
    assert form["submit"] == "상담원에게 보내기"


def test_a_name_given_as_the_bot_fails_is_neither_searched_nor_prefilled_nor_stored(api):
    conversation_id, auth = _start(api)
    with api.app.state.use_cases.ctx.sessions() as session:  # the bot's form asked for the name, then Rasa went away
        conversation = session.get(Conversation, conversation_id)
        record_message(session, conversation, "bot", "What's your name?", {"form_field": "customer_name"})
        session.commit()
    form = _form(_say(api, conversation_id, auth, "Taro Yamada"))
    assert {f["name"]: f["value"] for f in form["fields"]}["description"] == ""
    view = api.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()
    assert view["transcript"][1]["text"] == "[name given in the form]" and "Taro" not in json.dumps(view)


def test_the_question_on_the_ticket_is_the_customers_not_a_contact_details_placeholder(api):
    conversation_id, auth = _start(api)
    _say(api, conversation_id, auth, UNANSWERABLE)
    with api.app.state.use_cases.ctx.sessions() as session:  # the bot's form asked for the name, then Rasa went away
        conversation = session.get(Conversation, conversation_id)
        record_message(session, conversation, "bot", "What's your name?", {"form_field": "customer_name"})
        session.commit()
    _say(api, conversation_id, auth, "Mia Tanaka")
    details = _details(description="A hotel for my cat", reason="no_answer")
    created = api.post(f"/api/v1/conversations/{conversation_id}/handoff", json=details, headers=auth).json()
    ticket = api.get(f"/api/v1/tickets/{created['ticket']['id']}", headers=_agent(api)).json()
    assert ticket["question"] == UNANSWERABLE


def test_asking_for_a_person_gets_the_form(api):
    for words in ("/ask_human", "I want to talk to a human", "担当者と話したい", "상담원 연결해 주세요"):
        conversation_id, auth = _start(api)
        form = _form(_say(api, conversation_id, auth, words))
        description = next(f for f in form["fields"] if f["name"] == "description")
        assert (form["reason"], description["value"]) == ("asked_for_person", ""), words


def test_a_confident_answer_comes_without_the_form(api):
    conversation_id, auth = _start(api)
    reply = _say(api, conversation_id, auth, "I forgot my password")
    assert reply["messages"][0]["articles"][0]["id"] == "reset-password-en"
    assert not any(m.get("form") for m in reply["messages"])


def test_submitting_the_form_twice_makes_one_ticket_and_one_confirmation(api):
    conversation_id, auth = _start(api)
    _say(api, conversation_id, auth, UNANSWERABLE)
    url = f"/api/v1/conversations/{conversation_id}/handoff"
    with ThreadPoolExecutor(2) as pool:  # a double click: both at once
        first, second = pool.map(lambda _: api.post(url, json=_details(), headers=auth), range(2))
    third = api.post(url, json=_details(name="Someone Else"), headers=auth)  # a retry, later
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    tickets = {r.json()["ticket"]["id"] for r in (first, second, third)}
    assert len(tickets) == 1 and _count(api, Ticket, conversation_id=conversation_id) == 1
    body = first.json()
    reference = body["ticket"]["reference"]
    assert body["state"] == "waiting_agent" and reference.startswith("TZ-")
    confirmation = body["messages"][0]["text"]  # the bot's own words (bot/domain.yml)
    assert f"our Technical Support team as ticket {reference}." in confirmation
    assert "reply within 60 minutes" in confirmation  # technical's SLA, on the test clock
    assert _count(api, Message, conversation_id=conversation_id, sender="system") == 1
    view = api.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()
    assert view["state"] == "waiting_agent" and view["ticket"]["reference"] == reference
    assert reference in view["transcript"][-1]["text"] and view["transcript"][-1]["sender"] == "system"
    later = _say(api, conversation_id, auth, "any news?")  # the bot stays out of it, as after its own handoff
    assert later["messages"][0]["text"] == say(WAITING_FOR_AGENT, "en", ticket=reference)


def test_the_ticket_is_routed_prioritised_and_timed_with_the_transcript_and_articles_tried(api):
    conversation_id, auth = _start(api)
    _say(api, conversation_id, auth, "I forgot my password")  # an article shown before the handoff
    _say(api, conversation_id, auth, "the app is not working since the update")
    details = _details(description="The app is not working", order_id="KM-5521")
    created = api.post(f"/api/v1/conversations/{conversation_id}/handoff", json=details, headers=auth)
    assert created.status_code == 200, created.text
    ticket = api.get(f"/api/v1/tickets/{created.json()['ticket']['id']}", headers=_agent(api)).json()
    assert (ticket["queue"], ticket["tier"], ticket["priority"], ticket["status"]) == ("technical", 1, "urgent", "new")
    assert ticket["sla"]["first_response_due"].startswith("2025-01-10T08:00:00")
    assert ticket["routed_by"] and ticket["history"][0]["priority_by"] == "rule: not working"
    assert (ticket["reason"], ticket["customer"]) == (
        "asked_for_person",
        {"name": "Mia Tanaka", "email": "mia@example.com"},
    )
    assert ticket["description"] == "The app is not working\nOrder: KM-5521"
    tried = [a["article_id"] for a in ticket["articles_tried"]]
    assert tried[0] == "reset-password-en" and "app-crash-en" in tried
    assert [m["text"] for m in ticket["transcript"] if m["sender"] == "customer"] == [
        "I forgot my password",
        "the app is not working since the update",
    ]
    assert ticket["history"][0]["actor"] == "customer"


def test_the_unanswered_question_goes_on_the_ticket(api):
    conversation_id, auth = _start(api)
    _say(api, conversation_id, auth, UNANSWERABLE)
    details = _details(description=UNANSWERABLE + " For a cat, one week.", reason="no_answer")
    created = api.post(f"/api/v1/conversations/{conversation_id}/handoff", json=details, headers=auth).json()
    ticket = api.get(f"/api/v1/tickets/{created['ticket']['id']}", headers=_agent(api)).json()
    assert (ticket["reason"], ticket["question"]) == ("no_answer", UNANSWERABLE)


def test_bad_details_get_clear_422s_and_no_ticket(api):
    conversation_id, auth = _start(api)
    url = f"/api/v1/conversations/{conversation_id}/handoff"
    cases = {
        "email": _details(email="mia-at-example"),
        "description": _details(description="   "),
        "name": _details(name="x" * 101),
        "phone": _details(phone="+81 90 1234 5678"),  # not asked for: nobody would see it
        "order_id": _details(order_id="9" * 41),
        "nickname": _details(nickname="mimi"),
    }
    for field, body in cases.items():
        response = api.post(url, json=body, headers=auth)
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["loc"][-1] == field and field in response.json()["detail"]
    missing = api.post(url, json={"description": "help"}, headers=auth).json()
    assert {e["loc"][-1] for e in missing["errors"]} == {"name", "email"}
    email = api.post(url, json=_details(email="mia-at-example"), headers=auth).json()["detail"]
    assert "name@example.com" in email
    order = api.post(url, json=_details(order_id="KM-5521, call me on +81 90 1234 5678"), headers=auth)
    assert order.status_code == 422 and "enter the order number as shown on your receipt" in order.json()["detail"]
    empty = api.post(url, json=_details(description=""), headers=auth).json()["detail"]
    assert "describe what you need help with" in empty
    assert _count(api, Ticket, conversation_id=conversation_id) == 0


def test_only_the_conversations_own_token_may_hand_it_off(api):
    conversation_id, _ = _start(api)
    _, other_auth = _start(api)
    url = f"/api/v1/conversations/{conversation_id}/handoff"
    assert api.post(url, json=_details(), headers=other_auth).status_code == 401
    assert api.post(url, json=_details()).status_code == 401
    assert api.post("/api/v1/conversations/nope/handoff", json=_details(), headers=other_auth).status_code == 404
    assert _count(api, Ticket, conversation_id=conversation_id) == 0


def test_secrets_in_the_description_never_reach_the_ticket(api):
    conversation_id, auth = _start(api)
    details = _details(description="I paid with 4111 1111 1111 1111 and it failed")
    created = api.post(f"/api/v1/conversations/{conversation_id}/handoff", json=details, headers=auth).json()
    ticket = api.get(f"/api/v1/tickets/{created['ticket']['id']}", headers=_agent(api)).json()
    assert "4111" not in ticket["description"] and "[card number removed]" in ticket["description"]


def test_a_question_is_embedded_while_the_bot_works_and_a_contact_detail_never(api, monkeypatch):
    prepared = []
    kb = api.app.state.use_cases.ctx.kb
    monkeypatch.setattr(kb.query_vectors, "prepare", lambda text: prepared.append(text))
    conversation_id, auth = _start(api)
    _say(api, conversation_id, auth, "How do I reset my password?")
    with api.app.state.use_cases.ctx.sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        record_message(session, conversation, "bot", "What's your email?", {"form_field": "customer_email"})
        session.commit()
    _say(api, conversation_id, auth, "mia@example.com")
    _say(api, conversation_id, auth, "/ask_human")
    assert prepared == ["How do I reset my password?"]
