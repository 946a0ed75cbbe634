"""What a route may ask FastAPI for, as typed dependencies: the use cases, each by its own name, the settings, the
Rasa actions' executor, the metrics registry and the caller's address. The app builds them once at start-up
(api/main.py) and keeps them in its state; this module is the one place that reads that state, so a route names
what it needs in its signature and never reaches into the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from prometheus_client import CollectorRegistry
from rasa_sdk.executor import ActionExecutor

from api.settings import Settings
from usecases import UseCases
from usecases.answers import Answers
from usecases.articles import ArticleDesk
from usecases.context import Context
from usecases.conversations import Conversations
from usecases.customers import Customers
from usecases.incidents import Incidents
from usecases.reports import Analytics, Reports
from usecases.suggestions import Suggestions
from usecases.tickets import TicketDesk


def use_cases(request: Request) -> UseCases:
    return request.app.state.use_cases


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _executor(request: Request) -> ActionExecutor:
    return request.app.state.executor


def _metrics(request: Request) -> CollectorRegistry:
    return request.app.state.metrics


UseCasesDep = Annotated[UseCases, Depends(use_cases)]


def _context(cases: UseCasesDep) -> Context:
    return cases.ctx


def _conversations(cases: UseCasesDep) -> Conversations:
    return cases.conversations


def _customers(cases: UseCasesDep) -> Customers:
    return cases.customers


def _tickets(cases: UseCasesDep) -> TicketDesk:
    return cases.tickets


def _answers(cases: UseCasesDep) -> Answers:
    return cases.answers


def _articles(cases: UseCasesDep) -> ArticleDesk:
    return cases.articles


def _suggestions(cases: UseCasesDep) -> Suggestions:
    return cases.suggestions


def _incidents(cases: UseCasesDep) -> Incidents:
    return cases.incidents


def _analytics(cases: UseCasesDep) -> Analytics:
    return cases.analytics


def _reports(cases: UseCasesDep) -> Reports:
    return cases.reports


def client_address(request: Request) -> str:
    """The address the request came from, as rate limits count it."""
    return request.client.host if request.client else "unknown"


ContextDep = Annotated[Context, Depends(_context)]
ConversationsDep = Annotated[Conversations, Depends(_conversations)]
CustomersDep = Annotated[Customers, Depends(_customers)]
TicketsDep = Annotated[TicketDesk, Depends(_tickets)]
AnswersDep = Annotated[Answers, Depends(_answers)]
ArticlesDep = Annotated[ArticleDesk, Depends(_articles)]
SuggestionsDep = Annotated[Suggestions, Depends(_suggestions)]
IncidentsDep = Annotated[Incidents, Depends(_incidents)]
AnalyticsDep = Annotated[Analytics, Depends(_analytics)]
ReportsDep = Annotated[Reports, Depends(_reports)]
AddressDep = Annotated[str, Depends(client_address)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ExecutorDep = Annotated[ActionExecutor, Depends(_executor)]
MetricsDep = Annotated[CollectorRegistry, Depends(_metrics)]
# No control characters (PostgreSQL refuses a NUL in a text value: a 500 otherwise).
ArticleId = Annotated[
    str, Path(max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$", description="The article's id (a slug).")
]
