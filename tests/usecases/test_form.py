"""The contact form is declared once (usecases/form.py): the bot's domain, the API's details form and its request
body follow from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.schemas import HandoffIn
from usecases import form

DOMAIN = yaml.safe_load((Path(__file__).parents[2] / "bot" / "domain.yml").read_text(encoding="utf-8"))


def test_the_bots_form_asks_for_the_chat_fields_in_their_order():
    assert DOMAIN["forms"]["handoff_form"]["required_slots"] == [f.slot for f in form.CHAT_FIELDS]


@pytest.mark.parametrize("field", form.CHAT_FIELDS, ids=lambda f: f.slot)
def test_each_chat_field_has_its_slot_and_ask_action_and_no_second_wording(field):
    slot = DOMAIN["slots"][field.slot]
    [mapping] = slot["mappings"]
    assert mapping["type"] == "from_text"
    assert mapping["conditions"] == [{"active_loop": "handoff_form", "requested_slot": field.slot}]
    assert f"action_ask_{field.slot}" in DOMAIN["actions"]
    assert f"utter_ask_{field.slot}" not in DOMAIN["responses"]  # the question is the form's, in every language
    assert set(field.question) == set(field.invalid) == set(field.label) == {"en", "ja", "ko"}


def test_the_details_form_and_its_request_body_have_the_forms_fields():
    shown = form.details_form("c1", "ja", description="アプリが動かない")
    assert [f["name"] for f in shown["fields"]] == [f.name for f in form.FIELDS]
    assert shown["fields"][2]["value"] == "アプリが動かない" and shown["fields"][0]["label"] == "お名前"
    # what the widget needs to render each field: nothing about a field is kept in the widget itself
    assert [(f["max_chars"], f["autocomplete"]) for f in shown["fields"]] == [
        (f.max_chars, f.autocomplete) for f in form.FIELDS
    ]
    assert (shown["fields"][0]["autocomplete"], shown["fields"][1]["autocomplete"]) == ("name", "email")
    assert set(HandoffIn.model_fields) == {f.name for f in form.FIELDS} | {"reason"}
    required = {name for name, info in HandoffIn.model_fields.items() if info.is_required()}
    assert required == {f.name for f in form.FIELDS if f.required}


def test_the_details_form_reads_answers_as_the_bot_does():
    body = HandoffIn(name="私の名前は田中です", email="Mia@Example.com", description="  The app is not working ")
    assert (body.name, body.email, body.description, body.order_id) == (
        "田中",
        "mia@example.com",
        "The app is not working",
        None,
    )
    with pytest.raises(ValueError, match=form.NAME.error.split(" (")[0]):
        HandoffIn(name="where is my parcel?", email="mia@example.com", description="help me")


def test_contact_answers_are_told_apart_from_messages_of_their_own():
    assert form.answers(form.NAME, "Mia Tanaka") and not form.answers(form.NAME, "where is my parcel?")
    assert form.answers(form.EMAIL, "not an address") and not form.answers(form.EMAIL, "/cancel")
    assert not form.answers(form.DESCRIPTION, "the app crashes")  # not a contact detail: stored as it is
    assert form.stored_answer(form.NAME, "Mia") == form.NAME_GIVEN
    assert form.stored_answer(form.EMAIL, "it is mia@例え.jp") == "it is [email removed]"
