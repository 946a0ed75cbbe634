"""The FastAPI application: customer, agent and editor endpoints, pages, and the Rasa action webhook."""

from __future__ import annotations

import gc
import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import (
    analytics,
    articles,
    conversations,
    docs,
    errors,
    gaps,
    incidents,
    pages,
    queues,
    suggestions,
    tickets,
    webhook,
)
from api.bootstrap import open_context
from api.middleware import BodyLimit
from api.notifier import Notifier
from api.rasa_client import RasaClient
from api.scheduler import Scheduler
from api.security import SecurityHeaders
from api.settings import Settings
from handoff import Clock, HandoffService, SystemClock
from usecases import Limits, build
from usecases.context import Context
from usecases.customers import CustomerTokenKeys
from usecases.queue_classifier import QueueClassifier

logger = logging.getLogger("tierzero")
# The routes whose bodies may be larger (`Settings.max_import_body_bytes`): the bulk import, Rasa's action calls.
LARGE_BODY_PATHS = ("/api/v1/articles/import", "/webhook")


def _readable(errors: list[dict]) -> str:
    parts = []
    for error in errors:
        loc = list(error.get("loc", []))
        where = ".".join(str(p) for p in (loc[1:] if loc[:1] == ["body"] else loc)) or "request"  # a field "body" too
        parts.append(f"{where}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts)


def customer_keys(settings: Settings) -> CustomerTokenKeys:
    """The secrets customer tokens are checked with, out of their SecretStr only here."""
    default = settings.customer_token_secret
    return CustomerTokenKeys(
        default=default.get_secret_value() if default else None,
        sites={site: secret.get_secret_value() for site, secret in settings.customer_token_secrets.items()},
    )


def _warm_incident_vectors(sessions, service: HandoffService) -> None:
    """Best effort, in the background: a failure only means the first ticket embeds the texts itself."""
    try:
        with sessions() as session:
            logger.info("incident detection: %d recent ticket texts embedded", service.warm_incident_vectors(session))
    except Exception:
        logger.exception("could not embed the recent tickets for incident detection ahead")


def _learn_queues(sessions, classifier: QueueClassifier) -> None:
    """Best effort, in the background: the queue classifier on a big knowledge base and on the tickets agents
    moved (their texts are embedded); a failure only means routing goes on with what it had."""
    try:
        with sessions() as session:
            classifier.learn_from_moves(session)
    except Exception:
        logger.exception("could not train the queue classifier on the tickets agents moved")


def _warm_up(sessions, ctx: Context) -> None:
    _warm_incident_vectors(sessions, ctx.handoff)
    _learn_queues(sessions, ctx.queue_classifier)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the app; policies, stores, model and index are opened at start-up (see `api.bootstrap`).

    `clock` is where SLA time comes from (the system clock unless a test passes its own)."""
    settings = settings or Settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        ctx = open_context(settings, clock)  # a bad policies file stops the start-up with line and reason
        sessions, policies = ctx.sessions, ctx.policies
        rasa = RasaClient(settings.rasa_url, settings.rasa_timeout_seconds)
        limits = Limits.per_minute(
            settings.messages_per_minute_per_conversation,
            settings.messages_per_minute_per_address,
            settings.conversations_per_hour_per_address,
        )
        # What the routes (through api/deps.py) and the bot's actions (through the webhook's executor) work with.
        app.state.use_cases = build(
            ctx,
            rasa,
            limits,
            max_message_chars=settings.max_message_chars,
            assistant_timeout=settings.rasa_timeout_seconds,
            customer_keys=customer_keys(settings),
            demo_customer=settings.demo_customer,
        )
        app.state.rasa = rasa
        app.state.executor = webhook.make_executor(app.state.use_cases)
        # the database's figures join the metrics registry the app was built with (`analytics.instrument`, below)
        store_figures = analytics.StoreCollector(app.state.use_cases.analytics.figures)
        registry.register(store_figures)
        if settings.freeze_heap_after_start:  # what is loaded, before any request or background task holds anything
            gc.collect()
            gc.freeze()
        if ctx.queue_classifier.quick:  # the knowledge base's passages, at once; the rest in the background
            ctx.queue_classifier.train()
        threading.Thread(target=_warm_up, args=(sessions, ctx), daemon=True).start()
        app.state.scheduler = Scheduler(
            sessions,
            policies,
            clock,
            settings.scheduler_interval_seconds,
            on_fired=app.state.use_cases.notices.after_timer,
        )
        app.state.scheduler.start()
        app.state.notifier = Notifier(sessions, policies, clock, settings.webhook_interval_seconds)
        app.state.notifier.start()
        yield
        registry.unregister(store_figures)
        await app.state.notifier.stop()
        await app.state.scheduler.stop()
        await rasa.close()

    app = FastAPI(
        title="Tier Zero",
        version="0.1.0",
        summary="A self-hosted tier-0 support assistant: answers from the knowledge base, hands off to tier 1.",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves /docs and /redoc from packaged files, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    webhook.redact_tokens_in_access_log()
    large = (settings.max_import_body_bytes, "TIERZERO_MAX_IMPORT_BODY_BYTES")
    app.add_middleware(
        BodyLimit,
        default=(settings.max_body_bytes, "TIERZERO_MAX_BODY_BYTES"),
        limits={path: large for path in LARGE_BODY_PATHS},
    )  # inside CORS: a browser on another site can read the 413
    # The widget runs on other sites' pages; it sends its token in a header, never a cookie.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        max_age=600,
    )
    app.add_middleware(SecurityHeaders)  # outermost: on every answer, a 413 or a CORS preflight too
    errors.install(app)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in error.errors()]
        return JSONResponse({"detail": _readable(errors), "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> dict:
        """Liveness and what the API depends on: the knowledge base and the Rasa server."""
        rasa_ok = await request.app.state.rasa.ready()
        kb = request.app.state.use_cases.ctx.kb
        return {
            "status": "ok",
            "rasa": "up" if rasa_ok else "down",
            "articles": len(kb.articles),
            "passages": len(kb.vectors),
        }

    registry = app.state.metrics = analytics.instrument(app)  # /metrics: HTTP counters, database figures at start-up
    for module in (
        conversations,
        tickets,
        queues,
        incidents,
        articles,
        suggestions,
        webhook,
        analytics,
        gaps,
        pages,
        docs,
    ):
        app.include_router(module.router)
    app.include_router(conversations.form_router)
    return app
