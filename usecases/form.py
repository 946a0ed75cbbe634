"""The contact form, declared once: the details a person needs to take a conversation over, how each answer is
read, what the customer is asked in each language, and how often a field is asked again.

The bot's handoff form asks the `asked_in_chat` fields one by one (bot/actions: its questions, checks and re-asks
come from here, and its slots are named after `slot`); the API's details form, offered when the bot is
unavailable, shows every field (`details_form`) and checks what is posted with the same `parse`; the widget renders
whatever form it is sent."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from handoff import EMAIL_ADDRESS
from privacy.redact import EMAIL as EMAIL_REMOVED

Table = dict[str, str]

# A field answered wrongly this many times in chat is skipped (the form goes on without it).
MAX_FAILURES = 2
SKIPPED = "__skipped__"  # a skipped field's slot value in the bot

NAME_PREFIXES = re.compile(
    r"^(my name is|my name's|i am|i'm|this is|it's|name:|私の名前は|名前は|わたしは|私は|제 이름은|저는|이름은)\s*",
    re.IGNORECASE,
)
NAME_SUFFIXES = re.compile(r"\s*(です|と申します|といいます|입니다|이에요|예요|라고 합니다)[。.!！]*$")
NAME_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254
EMAIL_WRAPPERS = "<>()[],;:。、"
DESCRIPTION_MIN_CHARS = 2
DESCRIPTION_MAX_CHARS = 2000
ORDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9#._/-]{0,39}")
ORDER_ID_MAX_CHARS = 40
# What a customer who leaves the form says (every `cancel` example of nlu_data/nlu.yml has one; a test keeps it so).
# The intent classifier also takes some answers for a cancel ("Robert", near "abort"): without one of these words,
# a message the form asked for is its answer.
CANCEL_WORDS = re.compile(
    r"\b(cancel|stop|never\s?mind|forget|quit|exit|abort|drop|don't want|changed my mind)\b"
    r"|やめ|止め|キャンセル|もういい|中止|したくない|取り消|ストップ|終了"
    r"|그만|취소|중단|관둘|싫어|안 할|멈춰|나갈|없던 일",
    re.IGNORECASE,
)


def name_in(answer: str) -> str | None:
    """The name in the customer's answer to the name question, or None if the answer cannot be a name: too long,
    an email address, a button's /payload, no letter, or a question (a customer who asks "where is my parcel?"
    instead is asked again, and the question is not taken for their name).

    >>> name_in("My name is Ada Lovelace."), name_in("田中です"), name_in("where is my parcel?")
    ('Ada Lovelace', '田中', None)
    """
    name = NAME_SUFFIXES.sub("", NAME_PREFIXES.sub("", answer.strip())).strip(" .。!！")
    if not 0 < len(name) <= NAME_MAX_CHARS or "@" in name or name.startswith("/") or "?" in name or "？" in name:
        return None
    return name if any(c.isalpha() for c in name) else None


def email_in(answer: str) -> str | None:
    """The email address in the customer's answer (the first word that is one, as typed), or None.

    >>> email_in("it's <Ada@Example.org>, thanks"), email_in("no")
    ('Ada@Example.org', None)
    """
    words = (w.strip(EMAIL_WRAPPERS) for w in str(answer or "").split())
    return next((w for w in words if EMAIL_ADDRESS.match(w) and len(w) <= EMAIL_MAX_CHARS), None)


def _email(answer: str) -> str | None:
    address = email_in(answer)
    return address.lower() if address else None


def _description(answer: str) -> str | None:
    text = answer.strip()
    fits = DESCRIPTION_MIN_CHARS <= len(text) <= DESCRIPTION_MAX_CHARS
    return text if fits and not text.startswith("/") and re.search(r"\w.*\w", text, re.DOTALL) else None


def _order_id(answer: str) -> str | None:
    text = answer.strip()
    return text if ORDER_ID.fullmatch(text) else None


@dataclass(frozen=True)
class FormField:
    """One detail of the contact form."""

    name: str  # as the API's details form and the ticket call it
    slot: str  # the bot's slot that holds it
    kind: str  # how the widget renders it: text, email, textarea
    required: bool
    max_chars: int
    parse: Callable[[str], str | None]  # the value in an answer, or None if the answer cannot be one
    label: Table  # the details form's label
    question: Table  # what the bot asks in chat
    invalid: Table  # what the bot says when an answer cannot be one, before asking again
    error: str  # what the API's 422 says of a value that cannot be one
    asked_in_chat: bool = True
    contact: bool = False  # a contact detail: the bot reads it as typed, the transcript keeps a placeholder
    on_ticket: str | None = None  # a field the ticket has no place of its own for: its line in the description
    autocomplete: str = "off"  # what the browser may fill it with (an HTML autocomplete token)


NAME = FormField(
    name="name",
    slot="customer_name",
    kind="text",
    required=True,
    max_chars=NAME_MAX_CHARS,
    parse=name_in,
    label={"en": "Your name", "ja": "お名前", "ko": "이름"},
    question={"en": "What's your name?", "ja": "お名前を教えてください。", "ko": "성함을 알려 주세요."},
    invalid={
        "en": "Sorry, I didn't catch a name there. Please type just your name (up to 100 characters).",
        "ja": "お名前を確認できませんでした。お名前だけを入力してください（100文字まで）。",
        "ko": "성함을 확인하지 못했어요. 성함만 입력해 주세요(100자 이내).",
    },
    error="enter your name (letters, up to 100 characters; not a question or an address)",
    contact=True,
    autocomplete="name",
)
EMAIL = FormField(
    name="email",
    slot="customer_email",
    kind="email",
    required=True,
    max_chars=EMAIL_MAX_CHARS,
    parse=_email,
    label={"en": "Email address", "ja": "メールアドレス", "ko": "이메일 주소"},
    question={
        "en": "What email address should we use to reach you?",
        "ja": "ご連絡先のメールアドレスを教えてください。",
        "ko": "연락받으실 이메일 주소를 알려 주세요.",
    },
    invalid={
        "en": "That doesn't look like an email address. Please type it like name@example.com.",
        "ja": "メールアドレスの形式ではないようです。name@example.com のように入力してください。",
        "ko": "이메일 주소 형식이 아닌 것 같아요. name@example.com 처럼 입력해 주세요.",
    },
    error="enter an email address like name@example.com",
    contact=True,
    autocomplete="email",
)
DESCRIPTION = FormField(
    name="description",
    slot="description",
    kind="textarea",
    required=True,
    max_chars=DESCRIPTION_MAX_CHARS,
    parse=_description,
    label={"en": "How can we help?", "ja": "お問い合わせ内容", "ko": "문의 내용"},
    question={
        "en": "Please describe what you need help with.",
        "ja": "お困りの内容を教えてください。",
        "ko": "어떤 도움이 필요하신지 알려 주세요.",
    },
    invalid={
        "en": "Could you tell me a little more? A sentence about the problem is enough (up to 2000 characters).",
        "ja": "もう少し詳しく教えていただけますか？問題について一文あれば十分です（2000文字まで）。",
        "ko": "조금 더 자세히 알려 주시겠어요? 문제에 대해 한 문장이면 충분해요(2000자 이내).",
    },
    error="describe what you need help with (a few words are enough)",
)
ORDER = FormField(
    name="order_id",
    slot="order_id",
    kind="text",
    required=False,
    max_chars=ORDER_ID_MAX_CHARS,
    parse=_order_id,
    label={"en": "Order number (optional)", "ja": "注文番号（任意）", "ko": "주문 번호 (선택)"},
    question={},
    invalid={},
    error="enter the order number as shown on your receipt",
    asked_in_chat=False,
    on_ticket="Order",
)
FIELDS: tuple[FormField, ...] = (NAME, EMAIL, DESCRIPTION, ORDER)
CHAT_FIELDS: tuple[FormField, ...] = tuple(f for f in FIELDS if f.asked_in_chat)
BY_SLOT = {f.slot: f for f in FIELDS}
BY_NAME = {f.name: f for f in FIELDS}

SUBMIT: Table = {"en": "Send to our team", "ja": "担当者に送信", "ko": "상담원에게 보내기"}
SKIP: Table = {
    "en": "No problem, let's go on without it.",
    "ja": "大丈夫です。この項目は省略して進めます。",
    "ko": "괜찮아요. 이 항목은 건너뛰고 진행할게요.",
}


def in_lang(table: Table, lang: str) -> str:
    return table.get(lang, table["en"])


def contact_field(slot: str | None) -> FormField | None:
    """The contact field the bot's `slot` holds, if it is one."""
    field = BY_SLOT.get(slot or "")
    return field if field is not None and field.contact else None


# What the stored transcript shows for the customer's answer to the name question.
NAME_GIVEN = "[name given in the form]"


def answers(field: FormField | None, text: str) -> bool:
    """Whether `text` is the customer's answer to the contact `field` the bot asked for, rather than a message of
    its own: a button's /payload never is; a name only if one can be read in it (a question typed instead stays a
    question); an email answer whatever it says (a wrong one is asked again, and kept out of the transcript)."""
    if field is None or not field.contact or text.startswith("/"):
        return False
    return field is not NAME or field.parse(text) is not None


def stored_answer(field: FormField, redacted: str) -> str:
    """What the transcript keeps of an answer to a contact question: a placeholder for a name, the answer without
    its address (in any script the form reads) for an email."""
    if field is NAME:
        return NAME_GIVEN
    address = email_in(redacted)
    return redacted.replace(address, EMAIL_REMOVED) if address else redacted


def ticket_lines(values: Mapping[str, str | None]) -> str:
    """The answers to the fields the ticket has no place of their own for, as the end of its description: one
    "Label: value" line each (`values` by field name; empty answers left out).

    >>> ticket_lines({"name": "Mia", "order_id": "KM-5521"})
    '\\nOrder: KM-5521'
    """
    return "".join(f"\n{f.on_ticket}: {value}" for f in FIELDS if f.on_ticket and (value := values.get(f.name)))


def without_contact_answers(text: str) -> str:
    """`text` without the placeholders the transcript keeps for contact answers."""
    return text.replace(NAME_GIVEN, "").replace(EMAIL_REMOVED, "")


def details_form(
    conversation_id: str,
    lang: str,
    description: str = "",
    reason: str = "no_answer",
    known: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The details form as the widget renders it: where to send it and its fields, labelled in `lang`, with the
    customer's unanswered question already in the description and what the conversation already holds of them
    (`known`, by field name: a known customer's name and email) filled in."""
    values = {**{k: v for k, v in (known or {}).items() if v}, DESCRIPTION.name: description}
    return {
        "action": f"/api/v1/conversations/{conversation_id}/handoff",
        "reason": reason,
        "submit": in_lang(SUBMIT, lang),
        "fields": [
            {
                "name": f.name,
                "label": in_lang(f.label, lang),
                "type": f.kind,
                "required": f.required,
                "max_chars": f.max_chars,
                "autocomplete": f.autocomplete,
                "value": values.get(f.name) or "",
            }
            for f in FIELDS
        ],
    }


def describe(lang: str) -> dict[str, Any]:
    """The form as a client may learn it: every field, what the bot asks for it in chat, and how often it asks."""
    return {
        "max_failures": MAX_FAILURES,
        "fields": [
            {
                "name": f.name,
                "slot": f.slot,
                "type": f.kind,
                "required": f.required,
                "max_chars": f.max_chars,
                "autocomplete": f.autocomplete,
                "label": in_lang(f.label, lang),
                "question": in_lang(f.question, lang) if f.asked_in_chat else None,
            }
            for f in FIELDS
        ],
    }
