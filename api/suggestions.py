"""The editor's review of what the learning loop suggests over HTTP: accept (publish), merge into an article, or
reject, each a call of `usecases.suggestions.Suggestions`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field, field_validator

from api.auth import EditorDep
from api.deps import SuggestionsDep
from api.schemas import Input
from kb.articles import clean_text
from usecases.suggestions import SuggestionView

router = APIRouter(prefix="/api/v1/suggestions", tags=["editor"])
SuggestionId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class AcceptIn(Input):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, min_length=1, max_length=50_000)
    question: str | None = Field(default=None, min_length=1, max_length=300)

    @field_validator("title", "body", "question")
    @classmethod
    def _has_readable_text(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value)


class MergeIn(Input):
    article_id: str = Field(min_length=1, max_length=120)


class RejectIn(Input):
    reason: str = Field(min_length=1, max_length=500)


@router.get("", response_model=list[SuggestionView])
def list_suggestions(
    suggestions: SuggestionsDep,
    staff: EditorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SuggestionView]:
    """Pending suggestions, those that would have helped the most customers first."""
    return suggestions.pending(limit, offset)


@router.post("/{suggestion_id}/accept", response_model=SuggestionView)
def accept_suggestion(
    suggestion_id: SuggestionId, suggestions: SuggestionsDep, staff: EditorDep, body: AcceptIn | None = None
) -> SuggestionView:
    """Publish it (with optional edits); the bot answers with it from the next question on. Safe to repeat."""
    edits = body or AcceptIn()
    return suggestions.accept(suggestion_id, staff.name, title=edits.title, body=edits.body, question=edits.question)


@router.post("/{suggestion_id}/merge", response_model=SuggestionView)
def merge_suggestion(
    suggestion_id: SuggestionId, body: MergeIn, suggestions: SuggestionsDep, staff: EditorDep
) -> SuggestionView:
    """Add its questions to an existing article instead."""
    return suggestions.merge(suggestion_id, body.article_id, staff.name)


@router.post("/{suggestion_id}/reject", response_model=SuggestionView)
def reject_suggestion(
    suggestion_id: SuggestionId, body: RejectIn, suggestions: SuggestionsDep, staff: EditorDep
) -> SuggestionView:
    """Turn it down, saying why."""
    return suggestions.reject(suggestion_id, body.reason, staff.name)
