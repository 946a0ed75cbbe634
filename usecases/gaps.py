"""What the knowledge-gaps report (`usecases.reports.Reports.knowledge_gaps`) reads from the handoff tables, as the
plain inputs of `kb.gaps`, which does the clustering and counting:

- **unanswered questions**: tickets created in the window for `no_answer` or `asked_for_person` (their question, else
  the description the customer gave), and questions the bot offered a handoff for because it found no answer
  (Rasa's no-answer reply, whose buttons are `/affirm` and `/deny`, or the API's details form with reason
  `no_answer`) when the customer did not take it. `needs_agent` tickets are left out: the bot answered, and the
  article itself says a person must act.
- **article outcomes**: every article card the bot showed, and the ticket that followed it when nothing else was
  shown or offered in between (see `kb.gaps.ArticleOutcome`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.clock import as_utc
from handoff.models import Conversation, Message, Ticket
from kb.gaps import ArticleOutcome, UnansweredQuestion
from kb.lang import detect_language
from kb.suggestions import Suggestion
from usecases.said import customer_question

GAP_REASONS = ("no_answer", "asked_for_person")


@dataclass
class _Turn:
    """What the bot said after one customer message: the article cards it showed, whether it offered a person."""

    at: datetime
    question: str | None  # the customer's last question (`customer_question`) before this turn
    cards: list[str] = field(default_factory=list)
    offered: bool = False

    @property
    def decisive(self) -> bool:
        return bool(self.cards) or self.offered


def _offers_handoff(payload: dict[str, Any]) -> bool:
    buttons = payload.get("buttons") or []
    form = payload.get("form") or {}
    return any(b.get("payload") == "/affirm" for b in buttons) or form.get("reason") == "no_answer"


def _turns(messages: list[Message]) -> list[_Turn]:
    turns: list[_Turn] = []
    question: str | None = None
    for message in messages:
        if message.sender == "customer":
            question = customer_question(message.text) or question
            turns.append(_Turn(as_utc(message.created_at), question))
        elif message.sender == "bot" and turns:
            turn = turns[-1]
            turn.cards += [card["id"] for card in message.payload.get("articles") or [] if card.get("id")]
            turn.offered = turn.offered or _offers_handoff(message.payload)
            turn.at = as_utc(message.created_at)
    return [turn for turn in turns if turn.decisive]


def gather(session: Session, since: datetime) -> tuple[list[UnansweredQuestion], list[ArticleOutcome]]:
    """The unanswered questions and article outcomes of conversations and tickets since `since`."""
    tickets: dict[str, list[Ticket]] = defaultdict(list)
    for ticket in session.scalars(select(Ticket).where(Ticket.created_at >= since).order_by(Ticket.id)):
        tickets[ticket.conversation_id].append(ticket)
    questions: list[UnansweredQuestion] = []
    asked: set[tuple[str, str]] = set()
    for conversation_id, conversation_tickets in tickets.items():
        for ticket in conversation_tickets:
            text = " ".join((ticket.question or ticket.description or "").split())
            if ticket.reason in GAP_REASONS and text:
                questions.append(
                    UnansweredQuestion(text, ticket.lang, as_utc(ticket.created_at), ticket.reference, ticket.reason)
                )
                asked.add((conversation_id, text))
    outcomes: list[ArticleOutcome] = []
    rows = session.execute(
        select(Message, Conversation.lang)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.created_at >= since)
        .order_by(Message.conversation_id, Message.seq)
    )
    for conversation_id, group in groupby(rows, key=lambda row: row[0].conversation_id):
        group = list(group)
        lang = group[0][1]
        turns = _turns([message for message, _ in group])
        followed_by = _tickets_after(turns, tickets.get(conversation_id, []))
        for number, turn in enumerate(turns):
            if turn.cards:
                ticket = followed_by.get(number)
                for article_id in dict.fromkeys(turn.cards):
                    outcomes.append(
                        ArticleOutcome(
                            article_id,
                            escalated=ticket is not None and ticket.reason != "needs_agent",
                            resolved_with=ticket.resolution_article_id if ticket is not None else None,
                        )
                    )
            elif turn.question and (conversation_id, turn.question) not in asked:
                asked.add((conversation_id, turn.question))
                language = detect_language(turn.question, default=lang) or lang
                questions.append(UnansweredQuestion(turn.question, language, turn.at))
    return questions, outcomes


def _tickets_after(turns: list[_Turn], tickets: list[Ticket]) -> dict[int, Ticket]:
    """For each ticket, the turn just before it (its number), when that turn showed articles."""
    followed_by: dict[int, Ticket] = {}
    for ticket in tickets:
        created = as_utc(ticket.created_at)
        before = [number for number, turn in enumerate(turns) if turn.at <= created]
        if before and turns[before[-1]].cards:
            followed_by.setdefault(before[-1], ticket)
    return followed_by


def pending_suggestions_by_ticket(session: Session) -> dict[str, list[int]]:
    """The pending learning-loop suggestions made from each ticket (by reference)."""
    suggestion_of: dict[str, list[int]] = defaultdict(list)
    for suggestion in session.scalars(select(Suggestion).where(Suggestion.status == "pending")):
        for reference in suggestion.tickets:
            suggestion_of[reference].append(suggestion.id)
    return suggestion_of
