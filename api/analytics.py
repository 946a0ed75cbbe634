"""Analytics for staff over HTTP (`GET /api/v1/analytics`, a call of `usecases.reports.Analytics`) and live
counters for Prometheus (`GET /metrics`): the database's totals, read through the same use case at each scrape, and
the HTTP requests this process answered."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Staff, bearer, get_staff, require
from api.deps import AnalyticsDep, ContextDep, MetricsDep
from handoff.analytics import AnalyticsReport
from usecases.reports import StoreFigures

router = APIRouter()
StaffDep = Annotated[Staff, Depends(require("agent", "editor"))]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@router.get("/api/v1/analytics", response_model=AnalyticsReport, tags=["staff"])
def analytics(
    reports: AnalyticsDep,
    staff: StaffDep,
    since: Annotated[date | None, Query(description="First day (YYYY-MM-DD); default: 30 days before `until`.")] = None,
    until: Annotated[date | None, Query(description="Last day, included (YYYY-MM-DD); default: today.")] = None,
    tz: Annotated[str, Query(max_length=64, description="IANA time zone the days are counted in.")] = "UTC",
) -> AnalyticsReport:
    """Conversations, deflection, escalations by reason, SLA breaches and median reply times over whole days, in
    total, per day, and by language, queue, tag and priority (definitions: `handoff.analytics`)."""
    return reports.report(since, until, tz)


# --- Prometheus ---------------------------------------------------------------------------------------------------


class StoreCollector:
    """Live figures read from the database at each scrape (`usecases.reports.Analytics.figures`), so every API
    process reports the same totals."""

    def __init__(self, figures: Callable[[], StoreFigures]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self.figures()
        yield CounterMetricFamily("tierzero_conversations", "Conversations started.", value=figures.conversations)
        yield _family(
            CounterMetricFamily, "tierzero_messages", "Messages stored, by sender.", ["sender"], figures.messages
        )
        yield _family(
            CounterMetricFamily,
            "tierzero_handoffs",
            "Tickets opened (handoffs to a person), by reason.",
            ["reason"],
            figures.handoffs,
        )
        yield _family(
            GaugeMetricFamily,
            "tierzero_tickets",
            "Tickets by current queue and status.",
            ["queue", "status"],
            figures.tickets,
        )
        yield _family(
            GaugeMetricFamily,
            "tierzero_tickets_open",
            "Tickets being worked on (new, open, pending customer), by queue and priority.",
            ["queue", "priority"],
            figures.open_tickets,
        )
        yield _family(
            CounterMetricFamily,
            "tierzero_sla_breaches",
            "SLA deadlines missed, by deadline (first_response, resolution).",
            ["kind"],
            figures.breaches,
        )
        yield _family(
            GaugeMetricFamily,
            "tierzero_kb_articles",
            "Knowledge-base articles by status.",
            ["status"],
            figures.articles,
        )


def _family(
    kind: type[CounterMetricFamily | GaugeMetricFamily],
    name: str,
    documentation: str,
    labels: list[str],
    rows: Iterable[Sequence[Any]],
) -> Metric:
    family = kind(name, documentation, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v) for v in values], count)
    return family


class RequestMetrics:
    """ASGI middleware counting HTTP requests by method, route template (not the raw path, so ids do not make new
    series) and status class, and timing them."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "tierzero_http_requests",
            "HTTP requests by method, route template and status class.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "tierzero_http_request_duration_seconds",
            "Time to answer an HTTP request (a live event stream counts until it ends), by route template.",
            ["method", "route"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, started = 500, time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in METHODS else "other"  # clients choose it: keep it bounded
            self.requests.labels(method, route, f"{status // 100}xx").inc()
            self.duration.labels(method, route).observe(time.perf_counter() - started)


def instrument(app: FastAPI) -> CollectorRegistry:
    """Give the app the middleware that counts its HTTP requests, and return the registry they are counted in; the
    database's figures join it once the use cases exist (`StoreCollector`, registered at start-up)."""
    registry = CollectorRegistry()
    app.add_middleware(RequestMetrics, registry=registry)
    return registry


def metrics_reader(
    request: Request, ctx: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Prometheus on the same host (a loopback address) reads without a token; anyone else needs a staff token."""
    try:
        loopback = request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        get_staff(ctx, credentials)


@router.get("/metrics", tags=["ops"], dependencies=[Depends(metrics_reader)], response_class=Response)
def metrics(registry: MetricsDep) -> Response:
    """Live counters in the Prometheus text format: conversations, messages, tickets, SLA breaches, articles and
    HTTP requests."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
