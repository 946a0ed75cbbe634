"""One handoff, whichever way a customer reaches it: the bot's action and the API's details form end in the same
use case, which alone builds the ticket's articles tried and announces it; the form's questions come from the form's
declaration, in the customer's language."""

from __future__ import annotations

from handoff.models import Message, Ticket
from handoff.service import get_conversation, record_message
from usecases import form
from usecases.handoff import MAX_ARTICLES_TRIED


def run_action(client, conversation_id: str, name: str, slots: dict, text: str = "", **tracker) -> list[dict]:
    """Call one custom action through the action webhook as Rasa does; the bot's responses."""
    call = {
        "next_action": name,
        "sender_id": conversation_id,
        "version": "3.6.0",
        "tracker": {
            "sender_id": conversation_id,
            "slots": slots,
            "latest_message": {"text": text},
            "events": [],
            **tracker,
        },
        "domain": {"responses": {}, "forms": {"handoff_form": {"required_slots": [f.slot for f in form.CHAT_FIELDS]}}},
    }
    answer = client.post("/webhook", json=call, headers={"X-TierZero-Action-Token": "secret"})
    assert answer.status_code == 200, answer.text
    return answer.json()["responses"]


def open_conversation(client, lang: str = "en") -> tuple[str, dict]:
    created = client.post("/api/v1/conversations", json={"lang": lang}).json()
    return created["id"], {"Authorization": f"Bearer {created['token']}"}


def test_the_bot_and_the_details_form_make_one_ticket_and_one_announcement(client):
    conversation_id, auth = open_conversation(client)
    slots = {"lang": "en", "handoff_reason": "no_answer", "description": "The app crashes when I pay"}
    bot_says = run_action(client, conversation_id, "action_create_ticket", slots)
    reference = next(r["custom"]["ticket"]["reference"] for r in bot_says if r.get("custom"))
    assert reference in bot_says[0]["text"]
    details = {"name": "Mia Tanaka", "email": "mia@example.com", "description": "The app crashes when I pay"}
    form_says = client.post(f"/api/v1/conversations/{conversation_id}/handoff", json=details, headers=auth).json()
    assert form_says["ticket"]["reference"] == reference and form_says["messages"][0]["text"] == bot_says[0]["text"]
    with client.app.state.use_cases.ctx.sessions() as session:
        assert session.query(Ticket).filter_by(conversation_id=conversation_id).count() == 1
        # the bot's announcement is stored with its turn, the form's with the ticket: neither is stored twice here
        assert session.query(Message).filter_by(conversation_id=conversation_id, sender="system").count() == 0
    again = run_action(client, conversation_id, "action_create_ticket", slots)
    assert next(r["custom"]["ticket"]["reference"] for r in again if r.get("custom")) == reference


def test_articles_tried_are_what_was_shown_then_the_best_candidates(client):
    conversation_id, _ = open_conversation(client)
    kb = client.app.state.use_cases.ctx.kb
    shown = kb.search("How do I reset my password?", lang="en").best
    offered = kb.search("Where is my parcel?", lang="en").best
    with client.app.state.use_cases.ctx.sessions() as session:
        conversation = get_conversation(session, conversation_id)
        record_message(
            session, conversation, "bot", "Here you go", {"articles": [{"id": shown.article.id, "score": 0.9}]}
        )
        payload = f'/choose_article{{"article_id":"{offered.article.id}"}}'
        record_message(session, conversation, "bot", "Which one?", {"buttons": [{"title": "x", "payload": payload}]})
        session.commit()
    slots = {"lang": "en", "handoff_reason": "no_answer", "unanswered_question": "How do I get a refund for my order?"}
    run_action(client, conversation_id, "action_create_ticket", slots)
    with client.app.state.use_cases.ctx.sessions() as session:
        ticket = session.query(Ticket).filter_by(conversation_id=conversation_id).one()
        tried = [a["article_id"] for a in ticket.articles_tried]
    assert tried[:2] == [shown.article.id, offered.article.id]
    assert ticket.articles_tried[0]["score"] == 0.9
    candidates = [c.article.id for c in kb.search("How do I get a refund for my order?", lang="en").candidates[:3]]
    assert set(candidates) <= set(tried) and len(tried) <= MAX_ARTICLES_TRIED


def test_the_form_asks_in_the_customers_language_and_marks_contact_questions(client):
    conversation_id, _ = open_conversation(client, "ja")
    [asked] = run_action(client, conversation_id, "action_ask_customer_name", {"lang": "ja"})
    assert asked["text"] == form.NAME.question["ja"] and asked["custom"] == {"form_field": "customer_name"}
    [asked] = run_action(client, conversation_id, "action_ask_description", {"lang": "ko"})
    assert asked["text"] == form.DESCRIPTION.question["ko"] and not asked.get("custom")


def test_a_bad_answer_is_asked_again_then_skipped(client):
    conversation_id, _ = open_conversation(client, "ko")
    validating = {
        "active_loop": {"name": "handoff_form"},
        "events": [{"event": "slot", "name": "customer_email", "value": "nope"}],
    }
    slots = {"lang": "ko", "requested_slot": "customer_email", "customer_email": "nope", "form_failures": {}}
    first = run_action(client, conversation_id, "validate_handoff_form", slots, **validating)
    assert first[0]["text"] == form.EMAIL.invalid["ko"]
    slots["form_failures"] = {"customer_email": form.MAX_FAILURES - 1}
    second = run_action(client, conversation_id, "validate_handoff_form", slots, **validating)
    assert second[0]["text"] == form.SKIP["ko"]


def test_the_form_is_published_for_clients(client):
    body = client.get("/api/v1/handoff-form?lang=ko").json()
    assert body["max_failures"] == form.MAX_FAILURES
    assert [f["name"] for f in body["fields"]] == [f.name for f in form.FIELDS]
    assert body["fields"][0]["question"] == form.NAME.question["ko"] and body["fields"][3]["question"] is None
    assert [f["autocomplete"] for f in body["fields"]] == [f.autocomplete for f in form.FIELDS]
