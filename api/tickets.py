"""The agent's side over HTTP: the tickets in the tier-1 queues, and the work on them (claim, reply, notes,
escalate, resolve, reopen, close), each a call of `usecases.tickets.TicketDesk`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.auth import AgentDep
from api.deps import TicketsDep
from api.schemas import EscalateIn, NoteIn, ReopenIn, ReplyIn, ResolveIn
from usecases.tickets import TicketFilter, TicketView

router = APIRouter(prefix="/api/v1/tickets", tags=["agent"])
TicketId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The ticket's number (TZ-1001 is 1).")]


@router.get("", response_model=list[TicketView])
def list_tickets(
    desk: TicketsDep,
    staff: AgentDep,
    queue: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    priority: Annotated[str | None, Query(max_length=10)] = None,
    tier: Annotated[int | None, Query(ge=1, le=3)] = None,
    assignee: Annotated[str | None, Query(max_length=120, description="'me' for your own tickets")] = None,
    unassigned: bool = False,
    breached_only: Annotated[bool, Query(alias="breached")] = False,
    sort: Literal["newest", "deadline"] = "newest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TicketView]:
    """Tickets filtered by queue, status, priority, tier, assignee; newest first or nearest deadline first."""
    filters = TicketFilter(
        queue=queue,
        status=status,
        priority=priority,
        tier=tier,
        assignee=assignee,
        unassigned=unassigned,
        breached_only=breached_only,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return desk.list(filters, staff.name)


@router.get("/{ticket_id}", response_model=TicketView)
def get_ticket(ticket_id: TicketId, desk: TicketsDep, staff: AgentDep) -> TicketView:
    """One ticket with its transcript, SLA and history."""
    return desk.get(ticket_id)


@router.post("/{ticket_id}/claim", response_model=TicketView)
def claim(ticket_id: TicketId, desk: TicketsDep, staff: AgentDep) -> TicketView:
    """Take the ticket: you become its assignee, a new ticket opens, the bot stays silent."""
    return desk.claim(ticket_id, staff.name)


@router.post("/{ticket_id}/reply", response_model=TicketView)
def reply(ticket_id: TicketId, body: ReplyIn, desk: TicketsDep, staff: AgentDep) -> TicketView:
    """Answer the customer in their conversation (their widget shows it); the first reply meets the first-response
    target. With `wait_for_customer` the ticket waits on them and its SLA clock pauses."""
    return desk.reply(ticket_id, staff.name, body.text, body.wait_for_customer)


@router.post("/{ticket_id}/notes", response_model=TicketView)
def add_note(ticket_id: TicketId, body: NoteIn, desk: TicketsDep, staff: AgentDep) -> TicketView:
    """An internal note for the team, kept in the history; the customer never sees it."""
    return desk.note(ticket_id, staff.name, body.text)


@router.post("/{ticket_id}/escalate", response_model=TicketView)
def escalate(ticket_id: TicketId, body: EscalateIn, desk: TicketsDep, staff: AgentDep) -> TicketView:
    """Hand the ticket to another queue, or up to a tier, with the reason (the team's: the customer is told only
    which team has it now and when to expect a reply, in their conversation)."""
    return desk.escalate(ticket_id, staff.name, body.reason, body.queue, body.tier)


@router.post("/{ticket_id}/resolve", response_model=TicketView)
def resolve(ticket_id: TicketId, body: ResolveIn, desk: TicketsDep, staff: AgentDep) -> TicketView:
    """Mark it solved, saying what solved it; the customer's next message goes to the bot again.

    The customer is told in their conversation, with the resolution's first lines (whole lines, up to 300
    characters): write it for them. Internal notes are never shown.

    The customer's question and the resolution become a suggestion for the knowledge base, pending an editor's
    review (a new phrasing of the linked or closest article, or a draft article)."""
    return desk.resolve(ticket_id, staff.name, body.resolution, body.article_id)


@router.post("/{ticket_id}/reopen", response_model=TicketView)
def reopen(ticket_id: TicketId, desk: TicketsDep, staff: AgentDep, body: ReopenIn | None = None) -> TicketView:
    """Open a resolved ticket again (a fresh resolution deadline; the bot goes quiet)."""
    return desk.reopen(ticket_id, staff.name, body.reason if body else None)


@router.post("/{ticket_id}/close", response_model=TicketView)
def close(ticket_id: TicketId, desk: TicketsDep, staff: AgentDep) -> TicketView:
    """Close a resolved ticket for good."""
    return desk.close(ticket_id, staff.name)
