"""What the API says when the bot is unavailable: a confident knowledge-base answer, else a polite apology."""

from __future__ import annotations

from typing import Any

from api.texts import BOT_UNAVAILABLE, say
from kb import KnowledgeBase


def answer_without_bot(kb: KnowledgeBase, text: str, lang: str, base_url: str) -> list[dict[str, Any]]:
    """Messages for the customer when Rasa is down or silent: the KB's answer only if it is confident."""
    if not text.startswith("/"):
        result = kb.search(text, lang=lang)
        if result.decision == "answer" and result.best:
            return [{"text": result.best.article.summary, "articles": [result.best.card(base_url)]}]
    return [{"text": say(BOT_UNAVAILABLE, lang)}]
