"""The agent's overview of the queues: how many tickets each holds by status, and the nearest deadline."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from api.auth import AgentDep
from api.schemas import QueueOut
from handoff import Ticket
from handoff.clock import as_utc
from usecases.tickets import NEXT_DEADLINE

router = APIRouter(prefix="/api/v1/queues", tags=["agent"])
WORKING = ("new", "open", "pending_customer")


@router.get("", response_model=list[QueueOut])
def list_queues(request: Request, staff: AgentDep) -> list[QueueOut]:
    """Every configured queue with its tickets being worked on, breaches and the deadline that comes next."""
    policies, now = request.app.state.policies, request.app.state.clock.now()
    with request.app.state.sessions() as session:
        counts: dict[str, dict[str, int]] = {}
        for queue, status, count in session.execute(
            select(Ticket.queue, Ticket.status, func.count())
            .where(Ticket.status.in_(WORKING))
            .group_by(Ticket.queue, Ticket.status)
        ):
            counts.setdefault(queue, {})[status] = count
        running = (
            select(Ticket.id, Ticket.queue, NEXT_DEADLINE.label("due"))
            .where(Ticket.status.in_(("new", "open")), Ticket.sla_paused_at.is_(None))
            .order_by(NEXT_DEADLINE)
        )
        nearest: dict[str, tuple[int, object]] = {}
        breaches: dict[str, int] = {}
        for ticket_id, queue, due in session.execute(running):
            if due is None:
                continue
            nearest.setdefault(queue, (ticket_id, as_utc(due)))
            if as_utc(due) < now:
                breaches[queue] = breaches.get(queue, 0) + 1
    out = []
    for name, queue in policies.queues.items():
        calendar = policies.calendar(name)
        ticket_id, due = nearest.get(name, (None, None))
        out.append(
            QueueOut(
                name=name,
                tier=queue.tier,
                lead=queue.lead,
                timezone=calendar.timezone,
                open_now=calendar.is_open(now),
                counts={status: counts.get(name, {}).get(status, 0) for status in WORKING},
                breached=breaches.get(name, 0),
                nearest_deadline=due,
                nearest_deadline_ticket=f"TZ-{1000 + ticket_id}" if ticket_id else None,
            )
        )
    return out
