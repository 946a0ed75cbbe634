"""The editor's review of what the learning loop suggests (`kb.suggestions`): the pending suggestions, those that
would have helped the most customers first; accepting one (it is published, and the bot answers with it at once),
merging it into an article, or rejecting it with a reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session

from handoff.clock import as_utc
from kb.articles import ArticleNotFound
from kb.suggestions import (
    Suggestion,
    SuggestionError,
    SuggestionIncomplete,
    accept,
    merge,
    pending_suggestions,
    reject,
)
from usecases.context import Context
from usecases.errors import Conflict, Invalid, NotFound


class SuggestionView(BaseModel):
    """A suggestion as the editor reviews it: what it proposes, the tickets it came from, and its decision."""

    id: int
    kind: str
    status: str
    lang: str
    question: str
    questions: list[str]
    article_id: str | None
    title: str | None
    body: str | None
    tags: list[str]
    tickets: list[str]
    count: int
    similarity: float | None
    created_at: datetime
    decided_by: str | None
    reason: str | None


def view(suggestion: Suggestion) -> SuggestionView:
    return SuggestionView(
        id=suggestion.id,
        kind=suggestion.kind,
        status=suggestion.status,
        lang=suggestion.lang,
        question=suggestion.question,
        questions=list(suggestion.questions),
        article_id=suggestion.article_id,
        title=suggestion.title,
        body=suggestion.body,
        tags=list(suggestion.tags),
        tickets=list(suggestion.tickets),
        count=suggestion.count,
        similarity=suggestion.similarity,
        created_at=as_utc(suggestion.created_at),
        decided_by=suggestion.decided_by,
        reason=suggestion.reason,
    )


@contextmanager
def _review_errors() -> Iterator[None]:
    """The learning loop's refusals as the use cases' errors: an unknown suggestion or article, a suggestion that
    lacks what an article needs, a step its state forbids."""
    try:
        yield
    except ArticleNotFound as error:
        raise NotFound(str(error)) from error
    except SuggestionIncomplete as error:
        raise Invalid(str(error)) from error
    except SuggestionError as error:
        raise Conflict(str(error)) from error


class Suggestions:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def pending(self, limit: int = 50, offset: int = 0) -> list[SuggestionView]:
        """Suggestions waiting for review, those that would have helped the most customers first."""
        with self.ctx.sessions() as session:
            return [view(s) for s in pending_suggestions(session, limit, offset)]

    def accept(
        self,
        suggestion_id: int,
        editor: str,
        title: str | None = None,
        body: str | None = None,
        question: str | None = None,
    ) -> SuggestionView:
        """Publish it, with the editor's optional edits; the bot answers with it from the next question on.
        Accepting it again changes nothing."""
        kb = self.ctx.kb
        return self._review(
            lambda session: accept(kb, session, suggestion_id, editor, title=title, body=body, question=question)
        )

    def merge(self, suggestion_id: int, article_id: str, editor: str) -> SuggestionView:
        """Add its questions to an existing article instead."""
        return self._review(lambda session: merge(self.ctx.kb, session, suggestion_id, article_id, editor))

    def reject(self, suggestion_id: int, reason: str, editor: str) -> SuggestionView:
        """Turn it down, saying why."""
        return self._review(lambda session: reject(session, suggestion_id, reason, editor))

    def _review(self, step: Callable[[Session], Suggestion]) -> SuggestionView:
        with self.ctx.sessions() as session, _review_errors():
            return view(step(session))
