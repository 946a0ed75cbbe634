"""Request and response bodies of the HTTP API (the models of kb/ and handoff/ are the source of the fields)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from handoff import EMAIL_ADDRESS
from handoff.vocabulary import HandoffReason
from kb.lang import Lang, normalize
from usecases import form
from usecases.customers import MAX_TOKEN_CHARS
from usecases.views import TicketBrief


def without_control_characters(text: str) -> str:
    r"""The text without control characters (tabs and line breaks kept) or lone surrogates: NUL and the like mean
    nothing to a reader and PostgreSQL refuses them.

    >>> without_control_characters("A\x00B\tC\x07")
    'AB\tC'
    """
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))


class Input(BaseModel):
    """A request body: unknown fields are refused, and control characters are taken out of every text field before
    it is checked."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _without_control_characters(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: without_control_characters(v) if isinstance(v, str) else v for k, v in data.items()}


CLIENT_MESSAGE_ID = re.compile(r"[!-~]{1,64}")


class ConversationCreate(Input):
    lang: Lang = "en"
    name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_ADDRESS.pattern)
    customer_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TOKEN_CHARS,
        description="The host site's signed customer token (a JWT, HS256) for a signed-in customer: their id (sub), "
        "name, email, plan, lifetime_value, attributes and expiry (exp). Checked here: one that cannot be trusted is "
        "a 401 saying why (open the conversation without it), claims of the wrong type or size a 422 naming the "
        "claim. Without it the customer is anonymous. It describes the customer; it opens no conversation.",
    )


class ConversationCreated(BaseModel):
    id: str
    token: str
    state: str
    known: bool = Field(default=False, description="Opened for a known customer (a verified customer_token).")


class MessageIn(Input):
    text: str = Field(max_length=20_000, description="What the customer typed (or a button's payload).")
    client_message_id: str | None = Field(
        default=None,
        description="A key the client chooses for this message (1 to 64 printable ASCII characters, no spaces; a "
        "random one per message) and sends again when it retries: the retry gets the replies to the first send, "
        "and the message is neither stored nor answered twice. The same key with a different text is refused (409).",
        examples=["m-5f0c2e9a41d7"],
    )

    @field_validator("client_message_id")
    @classmethod
    def _printable_key(cls, value: str | None) -> str | None:
        if value is not None and not CLIENT_MESSAGE_ID.fullmatch(value):
            raise ValueError("client_message_id must be 1 to 64 printable ASCII characters, without spaces")
        return value

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        cleaned = "".join(ch for ch in value if ch.isprintable() or ch in "\n\t").strip()
        if not normalize(cleaned):
            raise ValueError("the message is empty: type a question")
        return cleaned


class ArticleCard(BaseModel):
    id: str
    title: str
    url: str
    score: float
    lang: str | None = None
    snippet: str | None = None


class Button(BaseModel):
    title: str
    payload: str


class FormField(BaseModel):
    name: str
    label: str
    type: Literal["text", "email", "tel", "textarea"] = "text"
    required: bool = False
    max_chars: int | None = None  # None in a form stored before fields carried it
    autocomplete: str = "off"
    value: str = ""


class HandoffForm(BaseModel):
    """The details form the API offers when the bot cannot: the widget renders it and posts it to `action`."""

    action: str
    reason: str
    submit: str
    fields: list[FormField]


class BotMessage(BaseModel):
    text: str
    buttons: list[Button] | None = None
    articles: list[ArticleCard] | None = None
    form: HandoffForm | None = None


class MessagesOut(BaseModel):
    messages: list[BotMessage]
    state: str
    ticket: TicketBrief | None = None


class TranscriptEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    seq: int
    sender: str
    text: str
    at: datetime


class ConversationOut(BaseModel):
    id: str
    state: str
    lang: str
    transcript: list[TranscriptEntry]
    ticket: TicketBrief | None = None


def _has_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


class ReplyIn(Input):
    text: str = Field(min_length=1, max_length=10_000, description="What the customer will read.")
    wait_for_customer: bool = Field(
        default=False, description="Put the ticket in pending_customer (pauses the SLA clock until they answer)."
    )
    _text = field_validator("text")(_has_text)


class NoteIn(Input):
    text: str = Field(min_length=1, max_length=10_000, description="Internal: never shown to the customer.")
    _text = field_validator("text")(_has_text)


class EscalateIn(Input):
    queue: str | None = Field(default=None, max_length=40)
    tier: int | None = Field(default=None, ge=2, le=3)
    reason: str = Field(min_length=1, max_length=2000)
    _reason = field_validator("reason")(_has_text)


class ResolveIn(Input):
    resolution: str = Field(min_length=1, max_length=5000, description="What solved the problem.")
    article_id: str | None = Field(default=None, max_length=120, description="The article that answered it.")
    _resolution = field_validator("resolution")(_has_text)


class ReopenIn(Input):
    reason: str | None = Field(default=None, max_length=2000)


class FormFieldOut(BaseModel):
    name: str
    slot: str
    type: str
    required: bool
    max_chars: int
    autocomplete: str
    label: str
    question: str | None


class FormOut(BaseModel):
    """The contact form (usecases/form.py): what the bot asks in chat and the API's details form shows."""

    max_failures: int
    fields: list[FormFieldOut]


class LanguageOut(BaseModel):
    """A language customers may talk in: its code and its name in that language (what a language picker shows)."""

    code: Lang
    name: str


class _DetailsInput(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_none(cls, data: Any) -> Any:
        """An optional field left blank is not given."""
        if not isinstance(data, dict):
            return data
        optional = {f.name for f in form.FIELDS if not f.required}
        return {k: None if k in optional and isinstance(v, str) and not v.strip() else v for k, v in data.items()}


def _form_check(field: form.FormField) -> Any:
    def check(value: str | None) -> str | None:
        if value is None:
            return None
        parsed = field.parse(value)
        if parsed is None:
            raise ValueError(field.error)
        return parsed

    return field_validator(field.name)(check)


# The customer's details for a person to take over, from the widget's form whether or not the bot is up: one field
# for each of the contact form's (usecases/form.py), checked as the bot checks it, and why the customer hands off.
HandoffIn = create_model(
    "HandoffIn",
    __base__=_DetailsInput,
    __validators__={f"_check_{f.name}": _form_check(f) for f in form.FIELDS},
    reason=(HandoffReason, "asked_for_person"),
    **{
        f.name: (str, Field(max_length=f.max_chars))
        if f.required
        else (str | None, Field(None, max_length=f.max_chars))
        for f in form.FIELDS
    },
)
