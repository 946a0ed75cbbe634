"""What the customer is told when the assistant cannot answer (down, slow or silent): a confident knowledge-base
answer, else the details form, so the customer can still reach a person."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kb import KnowledgeBase
from usecases.form import details_form
from usecases.said import asks_for_person, stated_problem
from usecases.texts import BOT_UNAVAILABLE, BOT_UNAVAILABLE_FORM, say


def answer_without_assistant(
    kb: KnowledgeBase,
    text: str,
    lang: str,
    base_url: str,
    *,
    conversation_id: str | None = None,
    known: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Messages for the customer when the assistant is down or silent: the KB's answer if it is confident; the
    details form that creates a ticket if it is not, if the customer asks for a person or if the answer says an
    agent must act, with what the conversation knows of the customer filled in (`known`: name and email). Without
    `conversation_id`, a polite apology instead of the form. An empty `text` is no question: nothing is searched,
    and the form comes without a description."""
    wants_person = asks_for_person(text)
    messages: list[dict[str, Any]] = []
    if text and not text.startswith("/"):
        result = kb.search(text, lang=lang)
        if result.decision == "answer" and result.best:
            messages.append({"text": result.best.article.summary, "articles": [result.best.card(base_url)]})
            if not wants_person and not result.best.article.needs_agent:
                return messages
    if conversation_id is None:
        return messages or [{"text": say(BOT_UNAVAILABLE, lang)}]
    question = (stated_problem(text) or "") if wants_person else "" if text.startswith("/") else text
    reason = "asked_for_person" if wants_person else "needs_agent" if messages else "no_answer"
    form = details_form(conversation_id, lang, question, reason, known)
    return [*messages, {"text": say(BOT_UNAVAILABLE_FORM, lang), "form": form}]
