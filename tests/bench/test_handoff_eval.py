"""bench.handoff_eval without a system: the conversations file, reading the bot's questions, counting repeats."""

import base64
import collections
import hashlib
import hmac
import json

import pytest

from bench.handoff_eval import (
    LANGS,
    OPENINGS,
    DataError,
    Played,
    aggregate,
    asked_field,
    count_repeats,
    customer_token,
    load_conversations,
    score,
    without_incidents,
)
from handoff.policies import load_policies
from usecases.form import CHAT_FIELDS

CONVERSATIONS = load_conversations()


def test_the_conversations_parse_with_enough_of_each_language_and_every_opening():
    assert len(CONVERSATIONS) >= 150
    per_lang = collections.Counter(c.lang for c in CONVERSATIONS)
    assert set(per_lang) == set(LANGS) and min(per_lang.values()) >= 45
    for lang in LANGS:
        assert {c.opening for c in CONVERSATIONS if c.lang == lang} == set(OPENINGS), lang
    assert all(c.written == "before_tuning" for c in CONVERSATIONS)
    assert len({c.id for c in CONVERSATIONS}) == len(CONVERSATIONS)


def test_every_expectation_names_a_queue_of_the_policies_and_holds_the_common_fields():
    queues = set(load_policies().queues)
    for c in CONVERSATIONS:
        assert c.expect["queue"] in queues, c.id
        fields = c.expect["fields"]
        assert {"question", "topic", "customer.name", "customer.email", "description"} <= set(fields), c.id
        told = " ".join(t.say for t in c.turns if "problem" in t.tells) or c.profile["description"]
        assert all(piece.casefold() in told.casefold() for piece in fields["description"]["contains"]), c.id
        assert c.signed_in == (c.opening == "signed_in")
        if c.signed_in:  # the token carries who they are: the ticket must hold the same
            assert (c.customer["name"], c.customer["email"]) == (c.profile["name"], c.profile["email"]), c.id


def test_a_conversations_file_with_a_mistake_is_refused(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "conversations:\n- {id: x, lang: fr, opening: refund, written: before_tuning, turns: [{say: hi}],\n"
        "   profile: {name: A, email: a@example.com, description: d},\n"
        "   expect: {queue: billing, priority: urgent, reason: asked_for_person, intent: null}}\n"
    )
    with pytest.raises(DataError, match="lang"):
        load_conversations(bad)


@pytest.mark.parametrize("lang", LANGS)
def test_every_question_and_re_ask_of_the_form_is_read_as_its_field_in_every_language(lang):
    for field in CHAT_FIELDS:  # without the API's list of questions: as for a version that has none
        assert asked_field([{"text": field.question[lang]}]) == field.name, (lang, field.name)
        assert asked_field([{"text": field.invalid[lang]}]) == field.name, (lang, field.name)


def test_what_is_not_a_form_question_is_not_read_as_one():
    offer = {"text": "Shall I pass your question to our team?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}
    article = {"text": "Change your email address in Settings.", "articles": [{"id": "change-email-en"}]}
    assert asked_field([offer]) is None and asked_field([article]) is None
    assert asked_field([{"text": "How can I help you today?"}]) is None and asked_field([]) is None
    assert asked_field([{"text": "Anything", "form_field": "customer_email"}]) == "email"


def test_repeated_questions_are_the_bots_questions_for_what_the_customer_already_gave():
    steps = [  # a hand-made transcript, as the harness records one
        {"customer": "My parcel is late", "gives": ["problem"], "bot": [{"text": "Where is it going?"}]},
        {"customer": "a person please", "gives": [], "bot": [{"text": "Sure."}, {"text": "What's your name?"}]},
        {"customer": "Ada", "gives": ["name"], "bot": [{"text": "Sorry, I didn't catch a name there. Please type…"}]},
        {"customer": "Ada", "gives": ["name"], "bot": [{"text": "What email address should we use to reach you?"}]},
        {
            "customer": "ada@example.com",
            "gives": ["email"],
            "bot": [{"text": "Please describe what you need help with."}],
        },
        {"customer": "It is late", "gives": ["problem"], "bot": [{"text": "Thanks. Ticket TZ-1001."}]},
    ]
    assert count_repeats(steps) == [{"turn": 3, "field": "name"}, {"turn": 5, "field": "description"}]
    # the form's first question for something not given yet is no repeat; what the token carried is given
    assert count_repeats(steps[1:2]) == []
    assert count_repeats(steps[1:2], known_at_start={"name", "email"}) == [{"turn": 1, "field": "name"}]
    # the form's own questions, as a version's API lists them, are read exactly
    asked = [{"gives": ["problem"], "bot": [{"text": "Tell us everything"}]}]
    assert count_repeats(asked, questions={"description": ["Tell us everything"]}) == [
        {"turn": 1, "field": "description"}
    ]


def test_a_conversation_is_scored_from_its_ticket_and_a_missing_one_fails_every_check():
    conversation = next(c for c in CONVERSATIONS if c.id == "en-09")
    ticket = {
        "reference": "TZ-1001",
        "queue": "billing",
        "priority": "normal",
        "reason": "asked_for_person",
        "description": conversation.turns[0].say,
        "question": conversation.turns[0].say,
        "topic": "billing",
        "customer": {"name": conversation.profile["name"], "email": conversation.profile["email"]},
    }
    steps = [{"customer": conversation.turns[0].say, "kind": "script", "gives": ["problem"], "bot": []}] * 3
    result = score(conversation, Played("played", steps=steps, ticket=ticket))
    assert result["correct"] == {"queue": True, "priority": False, "reason": True, "intent": None}
    assert all(result["fields"].values()) and result["turns_to_ticket"] == 3
    missing = score(conversation, Played("played", steps=steps, ticket=None))
    assert not any(missing["fields"].values()) and missing["turns_to_ticket"] is None
    unsupported = score(conversation, Played("not_supported", detail="no secret"))
    figures = aggregate([result, missing, unsupported])
    assert (figures["played"], figures["not_supported"], figures["ticket_reached_pct"]) == (2, 1, 50.0)
    assert figures["priority_pct"] == 0.0 and figures["queue_pct"] == 50.0 and figures["intent_pct"] is None


def test_the_customer_token_is_an_hs256_jwt_of_the_customer():
    token = customer_token({"id": "c-1", "name": "Ada", "plan": "enterprise", "lifetime_value": 5000}, "k", now=100)
    header, payload, signature = token.split(".")
    expected = hmac.new(b"k", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims == {
        "sub": "c-1",
        "name": "Ada",
        "plan": "enterprise",
        "lifetime_value": 5000,
        "iat": 100,
        "exp": 3700,
    }


def test_incidents_are_turned_off_in_the_shipped_policies():
    from api.settings import ROOT

    assert "min_tickets: 1000000" in without_incidents((ROOT / "config" / "policies.yml").read_text())
