"""Analytics for staff (`GET /api/v1/analytics`), the same report as a text table for the CLI, and live counters
for Prometheus (`GET /metrics`)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Staff, bearer, get_staff, require
from handoff.analytics import DEADLINES, AnalyticsReport, Share, analytics_report, day_window, zone
from handoff.models import Conversation, Ticket, TicketTimer
from handoff.models import Message as ChatMessage
from handoff.vocabulary import OPEN_TICKET_STATUSES
from kb.models import Article

router = APIRouter()
StaffDep = Annotated[Staff, Depends(require("agent", "editor"))]
MAX_DAYS = 366
DEFAULT_DAYS = 30
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@router.get("/api/v1/analytics", response_model=AnalyticsReport, tags=["staff"])
def analytics(
    request: Request,
    staff: StaffDep,
    since: Annotated[date | None, Query(description="First day (YYYY-MM-DD); default: 30 days before `until`.")] = None,
    until: Annotated[date | None, Query(description="Last day, included (YYYY-MM-DD); default: today.")] = None,
    tz: Annotated[str, Query(max_length=64, description="IANA time zone the days are counted in.")] = "UTC",
) -> AnalyticsReport:
    """Conversations, deflection, escalations by reason, SLA breaches and median reply times over whole days, in
    total, per day, and by language, queue, tag and priority (definitions: `handoff.analytics`)."""
    try:
        since_at, until_at = report_window(since, until, tz, request.app.state.clock.now())
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    with request.app.state.sessions() as session:
        return analytics_report(session, since_at, until_at, timezone=tz)


def report_window(since: date | None, until: date | None, tz: str, now: datetime) -> tuple[datetime, datetime]:
    """The whole days asked for, as a window of times: by default the last 30 days up to today (in `tz`).
    ValueError says what is wrong with a backward, too long or out-of-range window or an unknown time zone."""
    until = until or now.astimezone(zone(tz)).date()
    try:
        since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError as error:
        raise ValueError(f"until ({until}) leaves no room for the default window: give since as well") from error
    if since > until:
        raise ValueError(f"since ({since}) is after until ({until}): swap them")
    if (until - since).days + 1 > MAX_DAYS:
        raise ValueError(f"the window is {(until - since).days + 1} days long; ask for at most {MAX_DAYS} at a time")
    return day_window(since, until, tz)


def _percent(share: Share) -> str:
    return f"{share.count} ({100 * share.rate:.1f}%)" if share.rate is not None else str(share.count)


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "-"
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [headers, *rows]
    ]


def render_text(report: AnalyticsReport) -> str:
    """The report as readable tables, for `tierzero analytics`."""
    c, t = report.conversations, report.tickets
    reasons = ", ".join(f"{k.replace('_', ' ')} {_percent(v)}" for k, v in c.escalated_by_reason.items())
    lines = [
        f"Tier Zero analytics, {report.days[0].day} to {report.days[-1].day} ({report.timezone})",
        "",
        f"Conversations {c.conversations}: answered {_percent(c.answered)}, deflected {_percent(c.deflected)}, "
        f"escalated {_percent(c.escalated)}",
        f"  escalated because: {reasons}",
        f"Tickets {t.tickets}: SLA breached {_percent(t.sla_breached)} "
        f"(first response {t.sla_breached_by_deadline['first_response'].count}, "
        f"resolution {t.sla_breached_by_deadline['resolution'].count}); "
        f"median first response {_duration(t.median_first_response_minutes)} ({t.responded} answered), "
        f"median resolution {_duration(t.median_resolution_minutes)} ({t.resolved} resolved)",
    ]
    ticket_headers = ["tickets", "no answer", "asked", "needs agent", "SLA breached", "1st response", "resolution"]
    for title, groups in (("queue", report.by_queue), ("priority", report.by_priority), ("tag", report.by_tag)):
        if groups:
            rows = [
                [
                    name,
                    str(g.tickets),
                    *(str(share.count) for share in g.by_reason.values()),
                    _percent(g.sla_breached),
                    _duration(g.median_first_response_minutes),
                    _duration(g.median_resolution_minutes),
                ]
                for name, g in groups.items()
            ]
            lines += ["", *_table([title, *ticket_headers], rows)]
    if report.by_language:
        rows = [
            [lang, str(g.conversations), _percent(g.deflected), _percent(g.escalated)]
            for lang, g in report.by_language.items()
        ]
        lines += ["", *_table(["language", "conversations", "deflected", "escalated"], rows)]
    rows = [
        [
            str(d.day),
            str(d.conversations.conversations),
            _percent(d.conversations.deflected),
            _percent(d.conversations.escalated),
            str(d.tickets.tickets),
            _percent(d.tickets.sla_breached),
            _duration(d.tickets.median_first_response_minutes),
            _duration(d.tickets.median_resolution_minutes),
        ]
        for d in report.days
    ]
    headers = [
        "day",
        "conversations",
        "deflected",
        "escalated",
        "tickets",
        "SLA breached",
        "1st response",
        "resolution",
    ]
    lines += ["", *_table(headers, rows)]
    return "\n".join(lines)


# --- Prometheus ---------------------------------------------------------------------------------------------------


class StoreCollector:
    """Live figures read from the database at each scrape, so every API process reports the same totals."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        with self.app.state.sessions() as session:
            conversations = session.scalar(select(func.count()).select_from(Conversation)) or 0
            messages = session.execute(select(ChatMessage.sender, func.count()).group_by(ChatMessage.sender)).all()
            reasons = session.execute(select(Ticket.reason, func.count()).group_by(Ticket.reason)).all()
            tickets = session.execute(
                select(Ticket.queue, Ticket.status, func.count()).group_by(Ticket.queue, Ticket.status)
            ).all()
            open_tickets = session.execute(
                select(Ticket.queue, Ticket.priority, func.count())
                .where(Ticket.status.in_(OPEN_TICKET_STATUSES))
                .group_by(Ticket.queue, Ticket.priority)
            ).all()
            breaches = session.execute(
                select(TicketTimer.kind, func.count())
                .where(TicketTimer.kind.in_([f"{d}_breach" for d in DEADLINES]), TicketTimer.fired_at.is_not(None))
                .group_by(TicketTimer.kind)
            ).all()
            articles = session.execute(select(Article.status, func.count()).group_by(Article.status)).all()
        yield CounterMetricFamily("tierzero_conversations", "Conversations started.", value=conversations)
        yield _family(CounterMetricFamily, "tierzero_messages", "Messages stored, by sender.", ["sender"], messages)
        yield _family(
            CounterMetricFamily,
            "tierzero_handoffs",
            "Tickets opened (handoffs to a person), by reason.",
            ["reason"],
            reasons,
        )
        yield _family(
            GaugeMetricFamily, "tierzero_tickets", "Tickets by current queue and status.", ["queue", "status"], tickets
        )
        yield _family(
            GaugeMetricFamily,
            "tierzero_tickets_open",
            "Tickets being worked on (new, open, pending customer), by queue and priority.",
            ["queue", "priority"],
            open_tickets,
        )
        yield _family(
            CounterMetricFamily,
            "tierzero_sla_breaches",
            "SLA deadlines missed, by deadline (first_response, resolution).",
            ["kind"],
            [(kind.removesuffix("_breach"), count) for kind, count in breaches],
        )
        yield _family(
            GaugeMetricFamily, "tierzero_kb_articles", "Knowledge-base articles by status.", ["status"], articles
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


def instrument(app: FastAPI) -> None:
    """Give the app its metrics registry (database figures and HTTP counters) and the middleware that counts."""
    registry = CollectorRegistry()
    registry.register(StoreCollector(app))
    app.state.metrics = registry
    app.add_middleware(RequestMetrics, registry=registry)


def metrics_reader(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Prometheus on the same host (a loopback address) reads without a token; anyone else needs a staff token."""
    try:
        loopback = request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        get_staff(request, credentials)


@router.get("/metrics", tags=["ops"], dependencies=[Depends(metrics_reader)], response_class=Response)
def metrics(request: Request) -> Response:
    """Live counters in the Prometheus text format: conversations, messages, tickets, SLA breaches, articles and
    HTTP requests."""
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
