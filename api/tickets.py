"""The agent's side: the structured handoffs waiting in the tier-1 queues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select

from api.auth import AgentDep
from api.schemas import TicketOut
from handoff.models import PRIORITIES, TICKET_STATUSES, Ticket
from handoff.service import transcript

router = APIRouter(prefix="/api/v1/tickets", tags=["agent"])


def ticket_out(ticket: Ticket, full: bool, session) -> TicketOut:
    return TicketOut(
        id=ticket.id,
        reference=ticket.reference,
        conversation_id=ticket.conversation_id,
        status=ticket.status,
        queue=ticket.queue,
        tier=ticket.tier,
        priority=ticket.priority,
        reason=ticket.reason,
        channel=ticket.channel,
        lang=ticket.lang,
        customer={"name": ticket.customer_name, "email": ticket.customer_email},
        subject=ticket.subject,
        summary=ticket.summary,
        description=ticket.description,
        question=ticket.question,
        topic=ticket.topic,
        topic_confidence=ticket.topic_confidence,
        routed_by=ticket.routed_by,
        articles_tried=ticket.articles_tried,
        tags=ticket.tags,
        assignee=ticket.assignee,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        transcript=transcript(session, ticket.conversation_id) if full else None,
        history=[{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, **e.detail} for e in ticket.history]
        if full
        else None,
    )


@router.get("", response_model=list[TicketOut])
def list_tickets(
    request: Request,
    staff: AgentDep,
    queue: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    priority: Annotated[str | None, Query(max_length=10)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TicketOut]:
    """Tickets, newest first, filtered by queue, status and priority."""
    if status and status not in TICKET_STATUSES:
        raise HTTPException(422, f"unknown status {status!r}: use one of {', '.join(TICKET_STATUSES)}")
    if priority and priority not in PRIORITIES:
        raise HTTPException(422, f"unknown priority {priority!r}: use one of {', '.join(PRIORITIES)}")
    statement = select(Ticket).order_by(Ticket.id.desc()).limit(limit).offset(offset)
    if queue:
        statement = statement.where(Ticket.queue == queue)
    if status:
        statement = statement.where(Ticket.status == status)
    if priority:
        statement = statement.where(Ticket.priority == priority)
    with request.app.state.sessions() as session:
        return [ticket_out(t, False, session) for t in session.scalars(statement)]


@router.get("/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: int, request: Request, staff: AgentDep) -> TicketOut:
    """One ticket with its transcript and history."""
    with request.app.state.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise HTTPException(404, f"no ticket with id {ticket_id}")
        return ticket_out(ticket, True, session)
