"""usecases.texts: one catalogue of what customers are told, complete in every customer language."""

from kb.lang import SUPPORTED_LANGUAGES
from usecases import form, texts


def _tables() -> dict[str, dict[str, str]]:
    return {name: value for name, value in vars(texts).items() if name.isupper() and isinstance(value, dict)}


def test_every_text_and_every_form_question_is_written_in_every_customer_language():
    tables = _tables()
    told = {"TICKET_CREATED", "KNOWN_INCIDENT", "WAITING_FOR_AGENT", "TICKET_MOVED", "REPLY_HERE", "TICKET_RESOLVED"}
    assert told | {"LANGUAGE_NAMES"} <= set(tables)
    for name, table in tables.items():
        assert set(table) >= set(SUPPORTED_LANGUAGES), name
    for lang in SUPPORTED_LANGUAGES:
        assert set(texts.LANGUAGE_NAMES[lang]) == set(SUPPORTED_LANGUAGES)
    for field in form.FIELDS:
        assert set(field.label) >= set(SUPPORTED_LANGUAGES), field.name
        if field.asked_in_chat:
            assert set(field.question) >= set(SUPPORTED_LANGUAGES), field.name


def test_a_missing_language_falls_back_to_english():
    assert texts.say(texts.WAITING_FOR_AGENT, "fr", ticket="TZ-1") == texts.say(
        texts.WAITING_FOR_AGENT, "en", ticket="TZ-1"
    )
    assert "TZ-1" in texts.say(texts.WAITING_FOR_AGENT, "ja", ticket="TZ-1")
