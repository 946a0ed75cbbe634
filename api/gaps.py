"""The editor's report of knowledge gaps over a time window: what customers asked that the bot could not answer,
clustered by meaning; articles that say the same as another; articles customers or agents kept overriding.

Where the inputs come from (the handoff tables; `kb.gaps` does the clustering and counting):

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
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import EditorDep
from handoff.clock import as_utc
from handoff.models import Conversation, Message, Ticket
from kb.gaps import (
    DEFAULT_CLUSTER_SIMILARITY,
    ArticleOutcome,
    UnansweredQuestion,
    knowledge_gaps,
    near_duplicate_articles,
    overridden_articles,
)
from kb.lang import detect_language
from kb.search import KnowledgeBase
from kb.suggestions import Suggestion
from usecases.conversations import customer_question

router = APIRouter(prefix="/api/v1/knowledge-gaps", tags=["editor"])
GAP_REASONS = ("no_answer", "asked_for_person")
# Embedding runs at tens of questions a second on a small server: past this, only the most recent are clustered.
MAX_QUESTIONS = 1000


class NearestArticleOut(BaseModel):
    id: str
    title: str
    lang: str
    similarity: float
    decision: str


class GapClusterOut(BaseModel):
    title: str
    count: int
    languages: dict[str, int]
    reasons: dict[str, int]
    samples: list[str]
    tickets: list[str]
    suggestions: list[int]  # pending learning-loop suggestions made from these tickets
    first_seen: datetime
    last_seen: datetime
    cohesion: float
    nearest: NearestArticleOut | None


class ArticleRefOut(BaseModel):
    id: str
    title: str
    lang: str


class DuplicatePairOut(BaseModel):
    first: ArticleRefOut
    second: ArticleRefOut
    similarity: float
    same_language: bool


class OverriddenArticleOut(BaseModel):
    article_id: str
    title: str | None
    shown: int
    overridden: int
    escalated: int
    replaced: int
    replaced_by: dict[str, int]


class KnowledgeGapsOut(BaseModel):
    since: datetime
    until: datetime
    min_count: int
    similarity: float
    questions: int
    truncated: bool  # more unanswered questions than MAX_QUESTIONS: only the most recent were clustered
    clusters: list[GapClusterOut]
    near_duplicates: list[DuplicatePairOut]
    overridden: list[OverriddenArticleOut]


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


def knowledge_gaps_report(
    sessions, kb: KnowledgeBase, now: datetime, days: int, min_count: int, similarity: float
) -> KnowledgeGapsOut:
    """The whole report for the `days` before `now` (used by the API and by `tierzero kb gaps`)."""
    since = now - timedelta(days=days)
    with sessions() as session:
        questions, outcomes = gather(session, since)
        pending = session.scalars(select(Suggestion).where(Suggestion.status == "pending"))
        suggestion_of: dict[str, list[int]] = defaultdict(list)
        for suggestion in pending:
            for reference in suggestion.tickets:
                suggestion_of[reference].append(suggestion.id)
    questions.sort(key=lambda q: q.when, reverse=True)
    clusters = knowledge_gaps(kb, questions[:MAX_QUESTIONS], threshold=similarity, min_count=min_count)
    return KnowledgeGapsOut(
        since=since,
        until=now,
        min_count=min_count,
        similarity=similarity,
        questions=min(len(questions), MAX_QUESTIONS),
        truncated=len(questions) > MAX_QUESTIONS,
        clusters=[
            GapClusterOut.model_validate(
                {
                    **asdict(cluster),
                    "suggestions": sorted({s for t in cluster.tickets for s in suggestion_of.get(t, [])}),
                }
            )
            for cluster in clusters
        ],
        near_duplicates=[
            DuplicatePairOut.model_validate(pair, from_attributes=True) for pair in near_duplicate_articles(kb)
        ],
        overridden=[
            OverriddenArticleOut.model_validate(entry, from_attributes=True)
            for entry in overridden_articles(kb, outcomes, min_count=min_count)
        ],
    )


@router.get("", response_model=KnowledgeGapsOut)
def get_knowledge_gaps(
    request: Request,
    staff: EditorDep,
    days: Annotated[int, Query(ge=1, le=365, description="How many days back to look.")] = 30,
    min_count: Annotated[
        int, Query(ge=1, le=10_000, description="Leave out clusters and articles seen fewer times than this.")
    ] = 2,
    similarity: Annotated[
        float, Query(ge=0.5, le=0.99, description="How alike two questions must be to share a cluster (cosine).")
    ] = DEFAULT_CLUSTER_SIMILARITY,
) -> KnowledgeGapsOut:
    """Questions the bot could not answer (or answered, and the customer still asked for a person), clustered by
    meaning with counts, languages, samples and the nearest article; near-duplicate articles; and the articles
    customers went past to a person or agents replaced with another. Embeds the questions: takes seconds."""
    app = request.app.state
    return knowledge_gaps_report(app.sessions, app.kb, app.clock.now(), days, min_count, similarity)
