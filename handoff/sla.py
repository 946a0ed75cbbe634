"""SLA deadlines and the timers that watch them: reminders, breaches, the escalation matrices, automatic closing.

Deadlines are counted in the queue's business hours and live in the database with one `TicketTimer` row per thing
to do. `fire_due_timers` claims each due row with a conditional UPDATE in the same transaction as its effect, so
every reminder and escalation happens exactly once, however often (and in however many processes) it runs. Each
effect leaves an entry in the ticket's history; the caller may act on it in the same transaction (`on_fired`: the
application tells the customer of an escalation to another team), so that happens exactly once too.

A breach picks the ticket's escalation matrix (by its priority, queue, channel and the deadline missed) and
schedules its levels; each timer names its matrix, so a level that raises the priority does not switch matrices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from handoff.clock import as_utc
from handoff.models import Ticket, TicketEvent, TicketTimer
from handoff.policies import EscalationLevel, EscalationMatrix, Policies
from handoff.vocabulary import PRIORITIES

DEADLINES = ("first_response", "resolution")
ACTIVE_STATUSES = ("new", "open")


def record(ticket: Ticket, actor: str, action: str, at: datetime, **detail: Any) -> TicketEvent:
    """Append an entry to the ticket's audit history (not committed)."""
    event = TicketEvent(actor=actor, action=action, at=at, detail=detail)
    ticket.history.append(event)
    ticket.updated_at = at
    return event


def _due(ticket: Ticket, deadline: str) -> datetime | None:
    value = getattr(ticket, f"{deadline}_due")
    return as_utc(value) if value is not None else None


def pending_timers(ticket: Ticket, *kinds: str) -> list[TicketTimer]:
    """The ticket's timers that have neither fired nor been cancelled, optionally of some kinds only."""
    return [
        t for t in ticket.timers if t.fired_at is None and t.cancelled_at is None and (not kinds or t.kind in kinds)
    ]


def cancel_timers(ticket: Ticket, at: datetime, *kinds: str) -> None:
    """Cancel the ticket's pending timers (of `kinds`, or all)."""
    for timer in pending_timers(ticket, *kinds):
        timer.cancelled_at = at


def _schedule_deadline(ticket: Ticket, policies: Policies, deadline: str, start: datetime) -> None:
    due = _due(ticket, deadline)
    if due is None:
        return
    reminder = policies.calendar(ticket.queue).subtract(due, policies.reminder_before)
    if policies.reminder_before and reminder > start:
        ticket.timers.append(TicketTimer(kind=f"{deadline}_reminder", due_at=reminder))
    ticket.timers.append(TicketTimer(kind=f"{deadline}_breach", due_at=due))


def start_clock(ticket: Ticket, policies: Policies, now: datetime, deadlines: tuple[str, ...] = DEADLINES) -> None:
    """Set the SLA deadlines from `now` (first response and resolution, or the ones named) and their timers."""
    calendar = policies.calendar(ticket.queue)
    sla = policies.sla_for(ticket.priority, ticket.queue, ticket.channel)
    targets = {"first_response": sla.first_response, "resolution": sla.resolution}
    for deadline in deadlines:
        setattr(ticket, f"{deadline}_due", calendar.add(now, targets[deadline]))
        _schedule_deadline(ticket, policies, deadline, now)
    record(
        ticket,
        "sla",
        "sla_started",
        now,
        policy=sla.name,
        **{f"{d}_due": _due(ticket, d).isoformat() for d in deadlines},  # type: ignore[union-attr]
    )


def pause_clock(ticket: Ticket, now: datetime) -> None:
    """Stop the SLA clock while the ticket waits on the customer."""
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def resume_clock(ticket: Ticket, policies: Policies, now: datetime) -> None:
    """Restart a paused clock: deadlines move by the business time the ticket waited; pending timers follow."""
    if ticket.sla_paused_at is None:
        return
    paused_at = as_utc(ticket.sla_paused_at)
    calendar = policies.calendar(ticket.queue)
    waited = calendar.minutes_between(paused_at, now)
    moved = {}
    for deadline in DEADLINES:
        due = _due(ticket, deadline)
        if due is None or due <= paused_at:
            continue
        new_due = calendar.add(now, calendar.minutes_between(paused_at, due))
        setattr(ticket, f"{deadline}_due", new_due)
        moved[f"{deadline}_due"] = new_due.isoformat()
        for timer in pending_timers(ticket, f"{deadline}_reminder"):
            timer.due_at = calendar.subtract(new_due, policies.reminder_before)
        for timer in pending_timers(ticket, f"{deadline}_breach"):
            timer.due_at = new_due
    for timer in pending_timers(ticket, "escalation"):
        timer.due_at = as_utc(timer.due_at) + (now - paused_at)
    ticket.sla_paused_at = None
    record(ticket, "sla", "sla_resumed", now, paused_business_minutes=round(waited, 1), **moved)


@dataclass(frozen=True)
class Fired:
    """A timer that fired: which ticket, what kind, and the history entry it left (its action, detail and id)."""

    ticket_id: int
    kind: str
    level: int | None
    event: str
    detail: dict[str, Any]
    entry_id: int


# What the caller does with a fired timer's history entry, in the timer's transaction, before it commits.
OnFired = Callable[[Session, TicketEvent], object]


def _recipients(ticket: Ticket, policies: Policies, names: list[str]) -> list[str]:
    queue = policies.queues.get(ticket.queue)
    resolved = []
    for name in names:
        if name == "assignee":
            resolved.append(ticket.assignee or f"queue:{ticket.queue}")
        elif name == "queue_lead":
            resolved.append((queue.lead if queue else None) or f"queue:{ticket.queue}")
        else:
            resolved.append(name)
    return list(dict.fromkeys(resolved))


def raise_tier(ticket: Ticket, policies: Policies) -> dict[str, Any]:
    """Move the ticket one tier up: to its queue's `escalate_to` queue, or the same queue at the next tier."""
    before = {"queue": ticket.queue, "tier": ticket.tier}
    queue = policies.queues.get(ticket.queue)
    if queue is not None and queue.escalate_to:
        ticket.queue = queue.escalate_to
        ticket.tier = policies.tier(queue.escalate_to)
    else:
        ticket.tier = min(3, ticket.tier + 1)
    return {"queue": [before["queue"], ticket.queue], "tier": [before["tier"], ticket.tier]}


def _escalate(
    ticket: Ticket, policies: Policies, matrix: EscalationMatrix, level: EscalationLevel, now: datetime
) -> dict[str, Any]:
    notify = _recipients(ticket, policies, level.notify)  # who held the ticket when the level was reached
    changes: dict[str, Any] = {}
    if level.raise_priority:
        raised = PRIORITIES[min(len(PRIORITIES) - 1, PRIORITIES.index(ticket.priority) + 1)]
        changes["priority"] = [ticket.priority, raised]
        ticket.priority = raised
    if level.raise_tier:
        changes.update(raise_tier(ticket, policies))
    lead = policies.queues[ticket.queue].lead if ticket.queue in policies.queues else None
    if level.reassign_to_lead and lead:
        changes["assignee"] = [ticket.assignee, lead]
        ticket.assignee = lead
    ticket.escalation_level = level.level
    return {"level": level.level, "notify": notify, "changes": changes, "matrix": matrix.name}


def _start_matrix(ticket: Ticket, policies: Policies, deadline: str, breached_at: datetime) -> str | None:
    """At a ticket's first breach (and again after a reopen, or once the levels of an earlier one have all fired),
    schedule the levels of its matrix it has not reached yet; returns the name of the matrix that applies (None while
    an earlier breach's matrix still runs, or when no escalation is configured)."""
    if pending_timers(ticket, "escalation"):
        return None  # the matrix of an earlier breach is still running
    matrix = policies.escalation_for(ticket.priority, ticket.queue, ticket.channel, deadline)
    if matrix is None:
        return None
    for level in matrix.levels:
        if level.level > ticket.escalation_level:
            ticket.timers.append(
                TicketTimer(
                    kind="escalation",
                    level=level.level,
                    matrix=matrix.name,
                    due_at=breached_at + timedelta(minutes=level.after),
                )
            )
    return matrix.name


def _timer_matrix(ticket: Ticket, policies: Policies, timer: TicketTimer) -> EscalationMatrix | None:
    """The matrix an escalation timer belongs to; for a timer of an older release (or a matrix renamed since), the
    one the ticket matches now for the deadline it missed first."""
    matrix = policies.matrix(timer.matrix) if timer.matrix else None
    if matrix is None:
        missed = breached(ticket, as_utc(timer.due_at)) or ["first_response"]
        matrix = policies.escalation_for(ticket.priority, ticket.queue, ticket.channel, missed[0])
    return matrix


def _fire(session: Session, timer: TicketTimer, policies: Policies, now: datetime) -> Fired | None:
    ticket = timer.ticket
    due = as_utc(timer.due_at)
    if timer.kind.endswith("_reminder"):
        deadline = timer.kind.removesuffix("_reminder")
        detail = {
            "deadline": deadline,
            "due": _due(ticket, deadline).isoformat(),  # type: ignore[union-attr]
            "notify": _recipients(ticket, policies, ["assignee"]),
        }
        event = "sla_reminder"
    elif timer.kind.endswith("_breach"):
        deadline = timer.kind.removesuffix("_breach")
        detail = {"deadline": deadline, "due": due.isoformat(), "notify": _recipients(ticket, policies, ["assignee"])}
        event = "sla_breached"
        if (matrix_name := _start_matrix(ticket, policies, deadline, due)) is not None:
            detail["matrix"] = matrix_name
    elif timer.kind == "escalation":
        matrix = _timer_matrix(ticket, policies, timer)
        level = matrix.level(timer.level or 0) if matrix is not None else None
        if matrix is None or level is None or level.level <= ticket.escalation_level:
            return None
        detail, event = _escalate(ticket, policies, matrix, level, now), "escalated"
        detail["by"] = "escalation matrix"
    elif timer.kind == "auto_close":
        detail, event = {"from": ticket.status, "to": "closed", "reason": "resolved and no reply"}, "status"
        ticket.status, ticket.closed_at = "closed", now
    else:  # pragma: no cover - a kind this version does not know
        return None
    entry = record(ticket, "sla", event, now, **detail)
    session.flush()  # the entry's id
    return Fired(ticket.id, timer.kind, timer.level, event, detail, entry.id)


def _due_timer(session: Session, now: datetime) -> TicketTimer | None:
    return session.scalar(
        select(TicketTimer)
        .join(Ticket)
        .where(
            TicketTimer.fired_at.is_(None),
            TicketTimer.cancelled_at.is_(None),
            TicketTimer.due_at <= now,
            or_(
                and_(TicketTimer.kind == "auto_close", Ticket.status == "resolved"),
                and_(
                    TicketTimer.kind != "auto_close",
                    Ticket.status.in_(ACTIVE_STATUSES),
                    Ticket.sla_paused_at.is_(None),
                ),
            ),
        )
        .order_by(TicketTimer.due_at, TicketTimer.id)
        .limit(1)
    )


def settle_resumed(session: Session, policies: Policies, now: datetime) -> int:
    """Resume the clocks of tickets the customer answered since the last run (their status went back to open)."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.sla_paused_at.is_not(None), Ticket.status.in_(ACTIVE_STATUSES))
    ).all()
    for ticket in tickets:
        resume_clock(ticket, policies, now)
    session.commit()
    return len(tickets)


def fire_due_timers(
    session: Session, policies: Policies, now: datetime, limit: int = 1000, on_fired: OnFired | None = None
) -> list[Fired]:
    """Fire every timer due at `now`, oldest first, each exactly once; commits after each one.

    `on_fired` is called with the history entry each timer leaves, in that timer's transaction: what it writes is
    committed with the timer's effect, or not at all. If it raises, nothing of that timer is committed and the
    timer stays due for the next run."""
    settle_resumed(session, policies, now)
    fired: list[Fired] = []
    for _ in range(limit):
        timer = _due_timer(session, now)
        if timer is None:
            break
        claimed = session.execute(
            update(TicketTimer)
            .where(TicketTimer.id == timer.id, TicketTimer.fired_at.is_(None), TicketTimer.cancelled_at.is_(None))
            .values(fired_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:  # another worker took it between the select and the update
            session.rollback()
            continue
        session.refresh(timer)
        result = _fire(session, timer, policies, now)
        if result is not None and on_fired is not None:
            on_fired(session, session.get(TicketEvent, result.entry_id))
        session.commit()
        if result is not None:
            fired.append(result)
    return fired


def next_deadline(ticket: Ticket) -> datetime | None:
    """The deadline the team is working against now: the first response until it is sent, then the resolution."""
    if ticket.status not in ("new", "open", "pending_customer"):
        return None
    if ticket.first_responded_at is None and ticket.first_response_due is not None:
        return as_utc(ticket.first_response_due)
    return _due(ticket, "resolution")


def breached(ticket: Ticket, now: datetime) -> list[str]:
    """The deadlines this ticket missed (or is missing now)."""
    missed = []
    first_due, resolution_due = _due(ticket, "first_response"), _due(ticket, "resolution")
    responded = as_utc(ticket.first_responded_at) if ticket.first_responded_at else None
    if first_due and ((responded or now) > first_due) and not (responded is None and ticket.sla_paused_at):
        missed.append("first_response")
    finished = as_utc(ticket.resolved_at) if ticket.resolved_at else None
    paused = ticket.sla_paused_at is not None and finished is None
    if resolution_due and (finished or now) > resolution_due and not paused:
        missed.append("resolution")
    return missed
