"""The learning loop: what agents resolve becomes knowledge, after an editor's review.

When a ticket is resolved, its customer question and the agent's resolution note become a *suggestion*, linked
back to the ticket: a new phrasing for an existing article (the one the agent linked, or the closest one if it is
close enough) or a draft article. Near-duplicate suggestions are merged, counting the tickets that asked the same
thing, so editors review the most useful ones first. Accepting publishes at once (the index is updated
incrementally); accepting twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import ValidationError
from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kb.articles import (
    ArticleCreate,
    ArticleError,
    ArticleNotFound,
    ArticleUpdate,
    create_article,
    get_article,
    update_article,
)
from kb.models import Article, KBBase, utcnow
from kb.search import KnowledgeBase

MERGE_SIMILARITY = 0.95
MAX_ARTICLE_PHRASINGS = 100  # as many as an editor may set (kb.articles.ArticleFields)
MAX_PHRASING_CHARS = 300  # an article's alternative questions are short; a long message is clipped to fit
SuggestionKind = Literal["alt_question", "new_article"]


class SuggestionError(ArticleError):
    """A review step that cannot be done; the message says why."""


class SuggestionIncomplete(SuggestionError):
    """The suggestion lacks what an article needs (a title, a body): the editor must give it."""


class Suggestion(KBBase):
    """A proposed change to the knowledge base, pending an editor's review."""

    __tablename__ = "kb_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    lang: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    article_id: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    tickets: Mapped[list[str]] = mapped_column(JSON, default=list)
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    count: Mapped[int] = mapped_column(Integer, default=1)
    similarity: Mapped[float | None] = mapped_column(Float)
    vector: Mapped[list[float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(500))


def suggest_from_resolution(
    kb: KnowledgeBase,
    session: Session,
    *,
    ticket: str,
    question: str,
    resolution: str,
    lang: str,
    tags: list[str] | None = None,
    article_id: str | None = None,
) -> Suggestion:
    """Turn a resolved ticket into a pending suggestion (not committed); a near-duplicate is merged instead."""
    question, resolution = " ".join(question.split())[:MAX_PHRASING_CHARS], resolution.strip()
    if not resolution:
        raise SuggestionError("a resolution note is needed: it is what the next customer will be told")
    if not question:
        raise SuggestionError("the ticket has no customer question to learn from")
    similarity = None
    if article_id is not None:
        target = get_article(session, article_id)
        if target.status == "archived":
            raise SuggestionError(f"article {article_id!r} is archived: link a published article or none")
    else:
        best = kb.search(question, lang=lang).best
        close_enough = kb.policy.threshold(kb.policy.clarify_threshold, lang)
        if best is not None and best.confidence >= close_enough:
            article_id, similarity = best.article.id, best.confidence
    kind: SuggestionKind = "alt_question" if article_id else "new_article"
    vector = kb.embedder.embed_queries([question])[0]
    duplicate = _near_duplicate(session, kind, article_id, lang, vector)
    if duplicate is not None:
        duplicate.count += 1
        duplicate.tickets = [*duplicate.tickets, ticket]
        duplicate.questions = [*duplicate.questions, question]
        return duplicate
    suggestion = Suggestion(
        kind=kind,
        lang=lang,
        question=question,
        article_id=article_id,
        title=None if article_id else question[:300],
        body=None if article_id else resolution,
        tags=list(tags or []),
        tickets=[ticket],
        questions=[question],
        similarity=similarity,
        vector=[round(float(x), 6) for x in vector],
    )
    session.add(suggestion)
    return suggestion


def _near_duplicate(
    session: Session, kind: str, article_id: str | None, lang: str, vector: np.ndarray
) -> Suggestion | None:
    pending = session.scalars(
        select(Suggestion).where(Suggestion.status == "pending", Suggestion.kind == kind, Suggestion.lang == lang)
    )
    best, best_similarity = None, MERGE_SIMILARITY
    for suggestion in pending:
        if suggestion.article_id != article_id:
            continue
        similarity = float(np.dot(np.asarray(suggestion.vector, dtype=np.float32), vector))
        if similarity >= best_similarity:
            best, best_similarity = suggestion, similarity
    return best


def pending_suggestions(session: Session, limit: int = 50, offset: int = 0) -> list[Suggestion]:
    """Suggestions waiting for review, those that would have helped the most customers first."""
    statement = (
        select(Suggestion)
        .where(Suggestion.status == "pending")
        .order_by(Suggestion.count.desc(), Suggestion.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(statement))


def _get(session: Session, suggestion_id: int) -> Suggestion:
    suggestion = session.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise ArticleNotFound(f"no suggestion with id {suggestion_id}")
    return suggestion


def _decide(suggestion: Suggestion, status: str, editor: str, reason: str | None = None) -> None:
    suggestion.status, suggestion.decided_by, suggestion.decided_at = status, editor, utcnow()
    suggestion.reason = reason


def _add_phrasings(session: Session, article_id: str, suggestion: Suggestion, editor: str) -> Article:
    article = get_article(session, article_id)
    if article.status == "archived":
        raise SuggestionError(f"article {article_id!r} is archived: merge into a published article")
    questions = list(dict.fromkeys([*article.questions, *suggestion.questions]))
    if len(questions) > MAX_ARTICLE_PHRASINGS:
        raise SuggestionError(
            f"article {article_id!r} already has {len(article.questions)} alternative questions (the limit is "
            f"{MAX_ARTICLE_PHRASINGS}): remove some in the editor, or accept this as a new article"
        )
    update_article(session, article_id, ArticleUpdate(questions=questions), author=editor)
    article.source_tickets = list(dict.fromkeys([*article.source_tickets, *suggestion.tickets]))
    return article


def accept(
    kb: KnowledgeBase,
    session: Session,
    suggestion_id: int,
    editor: str,
    *,
    title: str | None = None,
    body: str | None = None,
    question: str | None = None,
) -> Suggestion:
    """Publish a suggestion (committed), with the editor's optional edits; accepting it again changes nothing."""
    suggestion = _get(session, suggestion_id)
    if suggestion.status in ("accepted", "merged"):
        return suggestion
    if suggestion.status == "rejected":
        raise SuggestionError(f"suggestion {suggestion_id} was rejected ({suggestion.reason}); it cannot be accepted")
    if question:
        suggestion.questions = [question, *suggestion.questions[1:]]
    if suggestion.kind == "alt_question":
        article = _add_phrasings(session, suggestion.article_id, suggestion, editor)
    else:
        try:
            draft = ArticleCreate(
                lang=suggestion.lang,
                title=(title or suggestion.title or suggestion.question)[:300],
                body=body or suggestion.body or "",
                questions=suggestion.questions,
                tags=suggestion.tags,
                status="published",
            )
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise SuggestionIncomplete(
                f"suggestion {suggestion_id} cannot be published as it stands ({problems}): give the missing "
                "title or body with the accept request, or edit the suggestion"
            ) from error
        article = create_article(session, draft, author=editor)
        article.source_tickets = list(suggestion.tickets)
        suggestion.article_id = article.id
    _decide(suggestion, "accepted", editor)
    session.commit()
    kb.refresh_article(article)  # stored first, then searchable: the bot answers with it from now on
    return suggestion


def merge(kb: KnowledgeBase, session: Session, suggestion_id: int, article_id: str, editor: str) -> Suggestion:
    """Add the suggestion's questions to an existing article instead (committed)."""
    suggestion = _get(session, suggestion_id)
    if suggestion.status != "pending":
        raise SuggestionError(f"suggestion {suggestion_id} is already {suggestion.status}")
    article = _add_phrasings(session, article_id, suggestion, editor)
    suggestion.article_id = article_id
    _decide(suggestion, "merged", editor)
    session.commit()
    kb.refresh_article(article)
    return suggestion


def reject(session: Session, suggestion_id: int, reason: str, editor: str) -> Suggestion:
    """Turn a suggestion down with a reason (committed)."""
    if not reason.strip():
        raise SuggestionError("say why the suggestion is rejected, so the team learns from it")
    suggestion = _get(session, suggestion_id)
    if suggestion.status != "pending":
        raise SuggestionError(f"suggestion {suggestion_id} is already {suggestion.status}")
    _decide(suggestion, "rejected", editor, reason.strip()[:500])
    session.commit()
    return suggestion
