"""The editor's review of what the learning loop suggests: accept (publish), merge into an article, or reject."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, field_validator

from api.auth import EditorDep
from api.schemas import Input
from kb.articles import ArticleNotFound, clean_text
from kb.suggestions import (
    Suggestion,
    SuggestionError,
    SuggestionIncomplete,
    accept,
    merge,
    pending_suggestions,
    reject,
)

router = APIRouter(prefix="/api/v1/suggestions", tags=["editor"])
SuggestionId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class SuggestionOut(BaseModel):
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


def suggestion_out(suggestion: Suggestion) -> SuggestionOut:
    return SuggestionOut.model_validate(suggestion, from_attributes=True)


def _review(request: Request, action) -> SuggestionOut:
    with request.app.state.sessions() as session:
        try:
            return suggestion_out(action(session))
        except ArticleNotFound as error:
            raise HTTPException(404, str(error)) from error
        except SuggestionIncomplete as error:
            raise HTTPException(422, str(error)) from error
        except SuggestionError as error:
            raise HTTPException(409, str(error)) from error


@router.get("", response_model=list[SuggestionOut])
def list_suggestions(
    request: Request,
    staff: EditorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SuggestionOut]:
    """Pending suggestions, those that would have helped the most customers first."""
    with request.app.state.sessions() as session:
        return [suggestion_out(s) for s in pending_suggestions(session, limit, offset)]


@router.post("/{suggestion_id}/accept", response_model=SuggestionOut)
def accept_suggestion(
    suggestion_id: SuggestionId, request: Request, staff: EditorDep, body: AcceptIn | None = None
) -> SuggestionOut:
    """Publish it (with optional edits); the bot answers with it from the next question on. Safe to repeat."""
    edits = body or AcceptIn()
    kb = request.app.state.kb
    return _review(
        request,
        lambda session: accept(
            kb, session, suggestion_id, staff.name, title=edits.title, body=edits.body, question=edits.question
        ),
    )


@router.post("/{suggestion_id}/merge", response_model=SuggestionOut)
def merge_suggestion(suggestion_id: SuggestionId, body: MergeIn, request: Request, staff: EditorDep) -> SuggestionOut:
    """Add its questions to an existing article instead."""
    kb = request.app.state.kb
    return _review(request, lambda session: merge(kb, session, suggestion_id, body.article_id, staff.name))


@router.post("/{suggestion_id}/reject", response_model=SuggestionOut)
def reject_suggestion(suggestion_id: SuggestionId, body: RejectIn, request: Request, staff: EditorDep) -> SuggestionOut:
    """Turn it down, saying why."""
    return _review(request, lambda session: reject(session, suggestion_id, body.reason, staff.name))
