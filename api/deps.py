"""What a route may ask FastAPI for, as typed dependencies: the use cases, each by its own name, and the caller's
address. The app builds the use cases once at start-up (api/main.py); a route names what it needs in its signature
and never reaches into the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.settings import Settings
from usecases import UseCases
from usecases.answers import Answers
from usecases.context import Context
from usecases.conversations import Conversations
from usecases.tickets import TicketDesk


def use_cases(request: Request) -> UseCases:
    return request.app.state.use_cases


UseCasesDep = Annotated[UseCases, Depends(use_cases)]


def _context(cases: UseCasesDep) -> Context:
    return cases.ctx


def _conversations(cases: UseCasesDep) -> Conversations:
    return cases.conversations


def _tickets(cases: UseCasesDep) -> TicketDesk:
    return cases.tickets


def _answers(cases: UseCasesDep) -> Answers:
    return cases.answers


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def client_address(request: Request) -> str:
    """The address the request came from, as rate limits count it."""
    return request.client.host if request.client else "unknown"


ContextDep = Annotated[Context, Depends(_context)]
ConversationsDep = Annotated[Conversations, Depends(_conversations)]
TicketsDep = Annotated[TicketDesk, Depends(_tickets)]
AnswersDep = Annotated[Answers, Depends(_answers)]
AddressDep = Annotated[str, Depends(client_address)]
SettingsDep = Annotated[Settings, Depends(_settings)]
