"""What the customer is told when the assistant cannot answer (down, slow or silent): a confident knowledge-base
answer, else the details form, so the customer can still reach a person."""

from __future__ import annotations

import re
from typing import Any

from kb import KnowledgeBase
from usecases.form import details_form
from usecases.texts import BOT_UNAVAILABLE, BOT_UNAVAILABLE_FORM, say

ASK_HUMAN = "/ask_human"
# A cheap stand-in for the assistant's `ask_human` intent (nlu_data/nlu.yml) while it cannot classify: a wrong guess
# only shows the form a little early, it never hides an answer the customer asked for.
ASKS_FOR_PERSON = re.compile(
    r"\b(human|real person|a person|live agent|an agent|operator|representative|supervisor|manager|"
    r"(talk|speak|chat) (to|with) (someone|somebody|a person))\b|^\s*agent\W*$"
    r"|担当者|オペレーター|人間|有人|人と話|責任者|上司|マネージャー"
    r"|상담원|상담사|직원|담당자|매니저|사람(과|이랑|하고|한테|을|으로)",
    re.IGNORECASE,
)


def asks_for_person(text: str) -> bool:
    """Whether the customer asks for a person, by the widget's button or in their own words (en, ja, ko).

    >>> [asks_for_person(t) for t in ("Can I talk to a human?", "担当者と話したい", "where is my parcel")]
    [True, True, False]
    """
    return text.split("{")[0] == ASK_HUMAN or (not text.startswith("/") and bool(ASKS_FOR_PERSON.search(text)))


def answer_without_assistant(
    kb: KnowledgeBase, text: str, lang: str, base_url: str, *, conversation_id: str | None = None
) -> list[dict[str, Any]]:
    """Messages for the customer when the assistant is down or silent: the KB's answer if it is confident; the
    details form that creates a ticket if it is not, if the customer asks for a person or if the answer says an
    agent must act. Without `conversation_id`, a polite apology instead of the form. An empty `text` is no
    question: nothing is searched, and the form comes without a description."""
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
    question = "" if wants_person or text.startswith("/") else text
    reason = "asked_for_person" if wants_person else "needs_agent" if messages else "no_answer"
    form = details_form(conversation_id, lang, question, reason)
    return [*messages, {"text": say(BOT_UNAVAILABLE_FORM, lang), "form": form}]
