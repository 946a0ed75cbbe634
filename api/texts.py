"""What the API itself says to customers when the bot cannot (Rasa down or slow), in their language."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml

BOT_UNAVAILABLE = {
    "en": "Sorry, I'm having trouble answering right now. Your message is saved. Please try again in a moment, "
    'or type "talk to a person" and leave your details so our team can reply.',
    "ja": "申し訳ありません。ただいま応答に問題が発生しています。メッセージは保存されました。"
    "少し時間をおいて再度お試しいただくか、"
    "「担当者と話したい」と入力して連絡先をお残しください。",
    "ko": "죄송합니다. 지금 답변에 문제가 있어요. 메시지는 저장되었습니다. 잠시 후 다시 시도하시거나, "
    '"상담원 연결"이라고 입력하고 연락처를 남겨 주세요.',
}

WAITING_FOR_AGENT = {
    "en": "Thanks, I've added this to your ticket {ticket}. A member of our team will reply here.",
    "ja": "ありがとうございます。チケット {ticket} に追記しました。担当者からこちらに返信いたします。",
    "ko": "감사합니다. 티켓 {ticket}에 추가했어요. 상담원이 여기로 답변드립니다.",
}


# With the details form below it (api/fallback.py): the bot is unavailable, so the form is the way to a person.
BOT_UNAVAILABLE_FORM = {
    "en": "Sorry, our assistant is unavailable right now. Your message is saved. To have a person from our team "
    "help you, leave your details below and we'll reply here.",
    "ja": "申し訳ありません。ただいまアシスタントをご利用いただけません。メッセージは保存されました。"
    "担当者がお手伝いしますので、下のフォームに連絡先をご記入ください。こちらに返信いたします。",
    "ko": "죄송합니다. 지금은 도우미를 이용할 수 없어요. 메시지는 저장되었습니다. "
    "상담원의 도움을 받으시려면 아래에 연락처를 남겨 주세요. 여기로 답변드립니다.",
}

FORM_LABELS = {
    "en": {
        "name": "Your name",
        "email": "Email address",
        "description": "How can we help?",
        "order_id": "Order number (optional)",
        "submit": "Send to our team",
    },
    "ja": {
        "name": "お名前",
        "email": "メールアドレス",
        "description": "お問い合わせ内容",
        "order_id": "注文番号（任意）",
        "submit": "担当者に送信",
    },
    "ko": {
        "name": "이름",
        "email": "이메일 주소",
        "description": "문의 내용",
        "order_id": "주문 번호 (선택)",
        "submit": "상담원에게 보내기",
    },
}

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "bot" / "domain.yml"


def say(table: dict[str, str], lang: str, **values: str) -> str:
    return table.get(lang, table["en"]).format(**values)


@cache
def _domain() -> dict[str, Any]:
    return yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))


def _bot_responses() -> dict[str, list[dict[str, Any]]]:
    return _domain()["responses"]


@cache
def bot_intents() -> frozenset[str]:
    """The intents of the bot's domain: what a button's /payload may name."""
    return frozenset(_domain()["intents"])


def bot_says(response: str, lang: str, **values: str) -> str:
    """One of the bot's replies (bot/domain.yml) in `lang`, so the API words a ticket's creation as the bot does.

    >>> bot_says("utter_known_incident", "en").startswith("Other customers")
    True
    """
    variants = _bot_responses()[response]
    in_lang = (v for v in variants if {"type": "slot", "name": "lang", "value": lang} in (v.get("condition") or []))
    return next(in_lang, variants[0])["text"].format(**values)
