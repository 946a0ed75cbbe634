"""Outgoing webhook notifications, the database side: an outbox written with the change, and its delivery records.

Every ticket change that a helpdesk or chat tool should hear about — a handoff, an SLA reminder, a breach, an
escalation, a resolution — already leaves an entry in the ticket's history (`handoff.sla.record`). Session hooks
(installed on a session factory by `install_outbox`) turn each such entry into a row of `webhook_events` on the
same connection, in the same transaction, just before it commits, so an event exists if and only if its change was
committed: nothing is lost on a crash and nothing is sent for a rolled-back change. Sending is someone else's job
(`api.notifier`): it fans each event out to the configured webhooks (`dispatch`), claims due deliveries one by one
(`claim_due`, a conditional UPDATE, so two workers never send the same attempt), POSTs them and records the outcome
(`record_attempt`), retrying with exponential back-off.

Plain Python over SQLAlchemy: no HTTP here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from handoff.clock import as_utc
from handoff.models import HandoffBase, Ticket, TicketEvent, utcnow
from handoff.policies import Webhook

SIGNATURE_HEADER = "X-TierZero-Signature"
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 3600.0


class WebhookEvent(HandoffBase):
    """One ticket event waiting to be (or already) fanned out to the webhooks, in the order the events happened;
    `uid` is the id receivers see (to drop a repeat) and `body` the exact JSON sent."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class WebhookDelivery(HandoffBase):
    """One event for one webhook URL: pending (with when to try next), delivered, or failed after its last try."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


# --- what to enqueue -------------------------------------------------------------------------------------------


def event_name(entry: TicketEvent) -> str | None:
    """The webhook event a history entry stands for, or None for entries no webhook hears about."""
    if entry.action == "created":
        return "ticket.created"
    if entry.action == "sla_reminder":
        return "ticket.reminder"
    if entry.action == "sla_breached":
        return "ticket.breached"
    if entry.action == "escalated":  # by the escalation matrix after a breach, or by an agent
        return "ticket.escalated"
    if entry.action == "status" and (entry.detail or {}).get("to") == "resolved":
        return "ticket.resolved"
    return None


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def ticket_snapshot(ticket: Ticket) -> dict[str, Any]:
    """The ticket as a webhook receiver sees it, at the moment of the event."""
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "conversation_id": ticket.conversation_id,
        "queue": ticket.queue,
        "tier": ticket.tier,
        "priority": ticket.priority,
        "status": ticket.status,
        "reason": ticket.reason,
        "channel": ticket.channel,
        "lang": ticket.lang,
        "subject": ticket.subject,
        "summary": ticket.summary,
        "customer_name": ticket.customer_name,
        "customer_email": ticket.customer_email,
        "topic": ticket.topic,
        "tags": list(ticket.tags or []),
        "assignee": ticket.assignee,
        "escalation_level": ticket.escalation_level,
        "sla": {
            "first_response_due": _iso(ticket.first_response_due),
            "resolution_due": _iso(ticket.resolution_due),
            "first_responded_at": _iso(ticket.first_responded_at),
        },
        "resolution": ticket.resolution,
        "created_at": _iso(ticket.created_at),
        "resolved_at": _iso(ticket.resolved_at),
    }


def event_body(event_id: str, name: str, at: datetime, ticket: Ticket, detail: dict[str, Any]) -> str:
    """The JSON body POSTed to every webhook for this event (signed as these exact bytes, UTF-8)."""
    payload = {
        "id": event_id,
        "event": name,
        "at": as_utc(at).isoformat(),
        "ticket": ticket_snapshot(ticket),
        "detail": detail,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


_PENDING = "tierzero_webhook_entries"


def _collect(session: Session, _flush_context: Any) -> None:
    """Note the new history entries that are webhook events; they are written to the outbox at commit."""
    entries = [obj for obj in session.new if isinstance(obj, TicketEvent) and event_name(obj)]
    if entries:
        session.info.setdefault(_PENDING, []).extend(entries)


def _enqueue(session: Session) -> None:
    """Write an outbox row for every webhook event of this transaction, on its connection, just before it commits;
    the ticket is described as it stands at the commit (its SLA, a priority an incident raised …)."""
    session.flush()
    entries = sorted(session.info.pop(_PENDING, []), key=lambda entry: entry.id or 0)
    rows = []
    for entry in entries:
        ticket = entry.ticket if entry.ticket is not None else session.get(Ticket, entry.ticket_id)
        if ticket is None:  # pragma: no cover - an entry always belongs to a ticket
            continue
        name, event_id, at = event_name(entry), uuid.uuid4().hex, entry.at or utcnow()
        assert name is not None
        body = event_body(event_id, name, at, ticket, dict(entry.detail or {}))
        rows.append({"uid": event_id, "ticket_id": ticket.id, "event": name, "at": at, "body": body})
    if rows:
        session.connection().execute(insert(WebhookEvent.__table__), rows)


def _forget(session: Session) -> None:
    """A rolled-back change sends nothing."""
    session.info.pop(_PENDING, None)


def install_outbox(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Make every session of `sessions` write the outbox with its changes; returns `sessions`. Bound to one factory,
    not to every SQLAlchemy session in the process, so another program's sessions (a test's, a tool's) stay plain.
    Installing twice is a no-op."""
    for name, listener in (("after_flush", _collect), ("before_commit", _enqueue), ("after_rollback", _forget)):
        if not event.contains(sessions, name, listener):
            event.listen(sessions, name, listener)
    return sessions


# --- delivering ------------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The X-TierZero-Signature value: `sha256=` and the hex HMAC-SHA256 of the raw body keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1, 2, 3 …): 1 s, 2 s, 4 s, 8 s … capped at an hour."""
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))


def dispatch(session: Session, webhooks: list[Webhook], now: datetime, limit: int = 200) -> int:
    """Fan new events out: one pending delivery per webhook that wants the event. Each event is claimed with a
    conditional UPDATE and committed with its deliveries, so it is fanned out exactly once. Returns how many."""
    ids = session.scalars(
        select(WebhookEvent.id).where(WebhookEvent.dispatched_at.is_(None)).order_by(WebhookEvent.id).limit(limit)
    ).all()
    count = 0
    for event_id in ids:
        claimed = session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id, WebhookEvent.dispatched_at.is_(None))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            session.rollback()
            continue
        name = session.scalar(select(WebhookEvent.event).where(WebhookEvent.id == event_id))
        for hook in webhooks:
            if hook.wants(name or ""):
                session.add(WebhookDelivery(event_id=event_id, url=hook.url, attempts=0, next_attempt_at=now))
        session.commit()
        count += 1
    return count


@dataclass(frozen=True)
class Claimed:
    """A delivery attempt this worker now owns: send `body` to `url`, then call `record_attempt`."""

    delivery_id: int
    event_id: str
    event: str
    url: str
    body: str
    attempt: int


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[Claimed]:
    """Take the deliveries due at `now`: each is claimed with a conditional UPDATE that counts the attempt and
    pushes its next try `lease` ahead (so a worker that dies mid-send is retried later, never twice at once)."""
    due = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    claimed: list[Claimed] = []
    for delivery_id, attempts in due:
        taken = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts == attempts,
            )
            .values(attempts=attempts + 1, last_attempt_at=now, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if not taken:
            continue
        row = session.execute(
            select(WebhookDelivery.url, WebhookEvent.uid, WebhookEvent.event, WebhookEvent.body)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id)
        ).one()
        claimed.append(Claimed(delivery_id, row[1], row[2], row[0], row[3], attempts + 1))
    return claimed


def record_attempt(
    session: Session,
    claimed: Claimed,
    now: datetime,
    max_attempts: int,
    status_code: int | None = None,
    error: str | None = None,
) -> str:
    """Record how an attempt went (a 2xx status code is success); returns the delivery's new status."""
    ok = status_code is not None and 200 <= status_code < 300 and error is None
    values: dict[str, Any] = {"last_status_code": status_code, "last_error": None if ok else (error or "")[:2000]}
    if ok:
        values.update(status="delivered", delivered_at=now)
    elif claimed.attempt >= max_attempts:
        values.update(status="failed")
    else:
        values.update(next_attempt_at=now + backoff(claimed.attempt))
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claimed.delivery_id, WebhookDelivery.attempts == claimed.attempt)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return values.get("status", "pending")
