"""How well the bot and the team do over a window of time: deflection, escalations and their reasons, SLA breaches
and reply times, in total, per day, and by language, queue, tag and priority.

Definitions (conversations are counted on the day they started, tickets on the day they were created):

- **answered**: the bot showed the customer at least one article (a bot message carries an article card, from Rasa
  or from the API's fallback when Rasa is down).
- **escalated**: the conversation has a ticket, i.e. it was handed to a person; its reason is its first ticket's
  (`no_answer`, `asked_for_person`, `needs_agent`).
- **deflected**: answered and not escalated. Rates are out of the conversations started in the window.
- **SLA breached** (the automatic escalation): a first-response or resolution deadline of the ticket passed and its
  breach was recorded (the breach timer fired, which starts the escalation matrix). Rates are out of the tickets.
- **first response / resolution**: wall-clock minutes from the ticket's creation to the first agent reply and to
  its resolution (the last one, if it was reopened); medians over the tickets that have one.
- **queue / priority**: the ones the handoff gave the ticket, i.e. the priority its SLA targets were set for, not a
  priority the escalation matrix raised after a breach.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.clock import as_utc
from handoff.models import Conversation, Message, Ticket, TicketEvent, TicketTimer
from handoff.service import REASON_LABELS
from handoff.vocabulary import PRIORITIES

REASONS = tuple(REASON_LABELS)  # no_answer, asked_for_person, needs_agent
DEADLINES = ("first_response", "resolution")
Row = TypeVar("Row")


class Share(BaseModel):
    """A count and its share of the whole it is part of (None when the whole is zero)."""

    count: int
    rate: float | None


class ConversationSummary(BaseModel):
    """What happened to the conversations: answered by the bot, deflected, or escalated to a person (and why)."""

    conversations: int
    answered: Share
    deflected: Share
    escalated: Share
    escalated_by_reason: dict[str, Share]


class TicketSummary(BaseModel):
    """The tickets: why they were opened, how many breached their SLA, and the median reply and resolution times."""

    tickets: int
    by_reason: dict[str, Share]
    sla_breached: Share
    sla_breached_by_deadline: dict[str, Share]
    responded: int
    median_first_response_minutes: float | None
    resolved: int
    median_resolution_minutes: float | None


class DayReport(BaseModel):
    """One calendar day of the window (in the report's time zone)."""

    day: date
    conversations: ConversationSummary
    tickets: TicketSummary


class AnalyticsReport(BaseModel):
    """The figures of the window [since, until): in total, per day, and broken down."""

    since: datetime
    until: datetime
    timezone: str
    conversations: ConversationSummary
    tickets: TicketSummary
    by_language: dict[str, ConversationSummary]
    by_queue: dict[str, TicketSummary]
    by_tag: dict[str, TicketSummary]
    by_priority: dict[str, TicketSummary]
    days: list[DayReport]


@dataclass(frozen=True)
class _ConversationFacts:
    day: date
    lang: str
    answered: bool
    reason: str | None  # its first ticket's reason; None when it was never handed off


@dataclass
class _TicketFacts:
    day: date
    queue: str
    priority: str
    reason: str
    tags: list[str]
    first_response_minutes: float | None
    resolution_minutes: float | None
    breached: set[str] = field(default_factory=set)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or ValueError saying it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as UTC or Asia/Tokyo") from error


def day_window(first: date, last: date, timezone: str = "UTC") -> tuple[datetime, datetime]:
    """The window (in UTC) from the start of day `first` to the end of day `last`, both included, in `timezone`.

    >>> [moment.isoformat() for moment in day_window(date(2025, 1, 1), date(2025, 1, 31), "Asia/Tokyo")]
    ['2024-12-31T15:00:00+00:00', '2025-01-31T15:00:00+00:00']
    """
    tz = zone(timezone)
    try:
        since, until = datetime.combine(first, time(), tz), datetime.combine(last + timedelta(days=1), time(), tz)
        return since.astimezone(UTC), until.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"{first} to {last} in {timezone} is outside the dates that can be counted") from error


def _share(count: int, whole: int) -> Share:
    return Share(count=count, rate=count / whole if whole else None)


def _median(values: Iterable[float | None]) -> tuple[int, float | None]:
    present = [v for v in values if v is not None]
    return len(present), (statistics.median(present) if present else None)


def _conversations(rows: list[_ConversationFacts]) -> ConversationSummary:
    total = len(rows)
    escalated = [r for r in rows if r.reason is not None]
    return ConversationSummary(
        conversations=total,
        answered=_share(sum(r.answered for r in rows), total),
        deflected=_share(sum(r.answered and r.reason is None for r in rows), total),
        escalated=_share(len(escalated), total),
        escalated_by_reason={reason: _share(sum(r.reason == reason for r in escalated), total) for reason in REASONS},
    )


def _tickets(rows: list[_TicketFacts]) -> TicketSummary:
    total = len(rows)
    responded, first_response = _median(r.first_response_minutes for r in rows)
    resolved, resolution = _median(r.resolution_minutes for r in rows)
    return TicketSummary(
        tickets=total,
        by_reason={reason: _share(sum(r.reason == reason for r in rows), total) for reason in REASONS},
        sla_breached=_share(sum(bool(r.breached) for r in rows), total),
        sla_breached_by_deadline={d: _share(sum(d in r.breached for r in rows), total) for d in DEADLINES},
        responded=responded,
        median_first_response_minutes=first_response,
        resolved=resolved,
        median_resolution_minutes=resolution,
    )


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return (as_utc(end) - as_utc(start)).total_seconds() / 60 if end is not None else None


def _conversation_facts(session: Session, since: datetime, until: datetime, tz: ZoneInfo) -> list[_ConversationFacts]:
    in_window = (Conversation.created_at >= since, Conversation.created_at < until)
    answered = set(
        session.scalars(
            select(Message.conversation_id)
            .join(Conversation)
            .where(*in_window, Message.sender == "bot", Message.payload[("articles", 0)].as_string().is_not(None))
            .distinct()
        )
    )
    reasons: dict[str, str] = {}
    for conversation_id, reason in session.execute(
        select(Ticket.conversation_id, Ticket.reason).join(Conversation).where(*in_window).order_by(Ticket.id)
    ):
        reasons.setdefault(conversation_id, reason)
    return [
        _ConversationFacts(as_utc(created).astimezone(tz).date(), lang, id_ in answered, reasons.get(id_))
        for id_, created, lang in session.execute(
            select(Conversation.id, Conversation.created_at, Conversation.lang).where(*in_window)
        )
    ]


def _ticket_facts(session: Session, since: datetime, until: datetime, tz: ZoneInfo) -> list[_TicketFacts]:
    in_window = (Ticket.created_at >= since, Ticket.created_at < until)
    tickets: dict[int, _TicketFacts] = {}
    for row in session.execute(
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.queue,
            Ticket.priority,
            Ticket.reason,
            Ticket.tags,
            Ticket.first_responded_at,
            Ticket.resolved_at,
        ).where(*in_window)
    ):
        tickets[row.id] = _TicketFacts(
            day=as_utc(row.created_at).astimezone(tz).date(),
            queue=row.queue,
            priority=row.priority,
            reason=row.reason,
            tags=list(row.tags or []),
            first_response_minutes=_minutes(row.created_at, row.first_responded_at),
            resolution_minutes=_minutes(row.created_at, row.resolved_at),
        )
    # The queue and priority at handoff: from the history up to the first `sla_started` (an incident found while
    # handing off raises the priority before the clock starts); the ticket's current ones if it has no history.
    started: set[int] = set()
    for ticket_id, action, detail in session.execute(
        select(TicketEvent.ticket_id, TicketEvent.action, TicketEvent.detail)
        .join(Ticket)
        .where(*in_window, TicketEvent.action.in_(("created", "incident", "sla_started")))
        .order_by(TicketEvent.ticket_id, TicketEvent.id)
    ):
        facts = tickets[ticket_id]
        if ticket_id in started:
            continue
        if action == "sla_started":
            started.add(ticket_id)
        elif action == "created":
            facts.queue = detail.get("queue", facts.queue)
            facts.priority = detail.get("priority", facts.priority)
        elif action == "incident" and detail.get("priority"):
            facts.priority = detail["priority"][-1]  # [before, after]
    for ticket_id, kind in session.execute(
        select(TicketTimer.ticket_id, TicketTimer.kind)
        .join(Ticket)
        .where(*in_window, TicketTimer.kind.in_([f"{d}_breach" for d in DEADLINES]), TicketTimer.fired_at.is_not(None))
    ):
        tickets[ticket_id].breached.add(kind.removesuffix("_breach"))
    return list(tickets.values())


def _grouped(rows: list[Row], keys: Callable[[Row], Iterable[str]]) -> dict[str, list[Row]]:
    """The rows under each of their keys (a ticket with three tags is in three groups), keys sorted."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        for key in keys(row):
            groups[key].append(row)
    return dict(sorted(groups.items()))


def analytics_report(session: Session, since: datetime, until: datetime, timezone: str = "UTC") -> AnalyticsReport:
    """The figures of the window [since, until) (aware datetimes), with days counted in `timezone`.

    Raises ValueError for a naive or empty window or an unknown time zone. See the module's docstring for what
    each figure means."""
    tz = zone(timezone)
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until need a time zone (aware datetimes)")
    if since >= until:
        raise ValueError(f"the window is empty: since ({since.isoformat()}) is not before until ({until.isoformat()})")
    since_utc, until_utc = since.astimezone(UTC), until.astimezone(UTC)  # SQLite keeps no offset: compare in UTC
    conversations = _conversation_facts(session, since_utc, until_utc, tz)
    tickets = _ticket_facts(session, since_utc, until_utc, tz)
    conversations_by_day = _grouped(conversations, lambda r: [r.day.isoformat()])
    tickets_by_day = _grouped(tickets, lambda r: [r.day.isoformat()])
    first, last = since.astimezone(tz).date(), (until - timedelta(microseconds=1)).astimezone(tz).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    by_priority = _grouped(tickets, lambda r: [r.priority])
    return AnalyticsReport(
        since=since,
        until=until,
        timezone=timezone,
        conversations=_conversations(conversations),
        tickets=_tickets(tickets),
        by_language={k: _conversations(v) for k, v in _grouped(conversations, lambda r: [r.lang]).items()},
        by_queue={k: _tickets(v) for k, v in _grouped(tickets, lambda r: [r.queue]).items()},
        by_tag={k: _tickets(v) for k, v in _grouped(tickets, lambda r: r.tags).items()},
        by_priority={p: _tickets(by_priority[p]) for p in sorted(by_priority, key=_priority_rank)},
        days=[
            DayReport(
                day=day,
                conversations=_conversations(conversations_by_day.get(day.isoformat(), [])),
                tickets=_tickets(tickets_by_day.get(day.isoformat(), [])),
            )
            for day in days
        ],
    )


def _priority_rank(priority: str) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)
