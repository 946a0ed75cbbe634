"""The agent's side: the tickets in the tier-1 queues, and the workflow on them (claim, reply, notes, escalate,
resolve, reopen). Every change goes through `handoff.TicketWorkflow`, which records it in the ticket's history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.auth import AgentDep
from api.schemas import EscalateIn, NoteIn, ReopenIn, ReplyIn, ResolveIn, SlaOut, TicketOut
from handoff import HandoffError, InvalidTransition, Ticket, TicketNotFound, TicketWorkflow
from handoff.models import PRIORITIES, TICKET_STATUSES
from handoff.service import transcript
from handoff.sla import breached
from kb.articles import ArticleNotFound
from kb.suggestions import SuggestionError, suggest_from_resolution

router = APIRouter(prefix="/api/v1/tickets", tags=["agent"])
TicketId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The ticket's number (TZ-1001 is 1).")]

# the deadline a ticket is working against: its first response until sent, then its resolution
NEXT_DEADLINE = func.coalesce(
    case((Ticket.first_responded_at.is_(None), Ticket.first_response_due), else_=None), Ticket.resolution_due
)


def ticket_out(ticket: Ticket, full: bool, session: Session, request: Request) -> TicketOut:
    now = request.app.state.clock.now()
    return TicketOut(
        id=ticket.id,
        reference=ticket.reference,
        conversation_id=ticket.conversation_id,
        status=ticket.status,
        queue=ticket.queue,
        tier=ticket.tier,
        priority=ticket.priority,
        escalation_level=ticket.escalation_level,
        sla=SlaOut(
            first_response_due=ticket.first_response_due,
            resolution_due=ticket.resolution_due,
            first_responded_at=ticket.first_responded_at,
            paused_since=ticket.sla_paused_at,
            breached=breached(ticket, now),
        ),
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
        routing_confidence=ticket.routing_confidence,
        articles_tried=ticket.articles_tried,
        tags=ticket.tags,
        assignee=ticket.assignee,
        resolution=ticket.resolution,
        resolution_article_id=ticket.resolution_article_id,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        transcript=transcript(session, ticket.conversation_id) if full else None,
        history=[{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, **e.detail} for e in ticket.history]
        if full
        else None,
    )


@contextmanager
def _workflow_errors() -> Iterator[None]:
    """Domain errors as HTTP: unknown ticket → 404, a move the status forbids → 409, anything else → 422."""
    try:
        yield
    except TicketNotFound as error:
        raise HTTPException(404, str(error)) from error
    except InvalidTransition as error:
        raise HTTPException(409, str(error)) from error
    except HandoffError as error:
        raise HTTPException(422, str(error)) from error


@router.get("", response_model=list[TicketOut])
def list_tickets(
    request: Request,
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
) -> list[TicketOut]:
    """Tickets filtered by queue, status, priority, tier, assignee; newest first or nearest deadline first."""
    if status and status not in TICKET_STATUSES:
        raise HTTPException(422, f"unknown status {status!r}: use one of {', '.join(TICKET_STATUSES)}")
    if priority and priority not in PRIORITIES:
        raise HTTPException(422, f"unknown priority {priority!r}: use one of {', '.join(PRIORITIES)}")
    statement = select(Ticket)
    if queue:
        statement = statement.where(Ticket.queue == queue)
    if status:
        statement = statement.where(Ticket.status == status)
    if priority:
        statement = statement.where(Ticket.priority == priority)
    if tier:
        statement = statement.where(Ticket.tier == tier)
    if assignee:
        statement = statement.where(Ticket.assignee == (staff.name if assignee == "me" else assignee))
    if unassigned:
        statement = statement.where(Ticket.assignee.is_(None))
    if breached_only:
        now = request.app.state.clock.now()
        statement = statement.where(
            Ticket.status.in_(("new", "open")), Ticket.sla_paused_at.is_(None), now > NEXT_DEADLINE
        )
    if sort == "deadline":
        statement = statement.order_by(NEXT_DEADLINE.is_(None), NEXT_DEADLINE, Ticket.id)
    else:
        statement = statement.order_by(Ticket.id.desc())
    with request.app.state.sessions() as session:
        tickets = session.scalars(statement.limit(limit).offset(offset))
        return [ticket_out(t, False, session, request) for t in tickets]


@router.get("/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: TicketId, request: Request, staff: AgentDep) -> TicketOut:
    """One ticket with its transcript, SLA and history."""
    with request.app.state.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise HTTPException(404, f"no ticket with id {ticket_id}")
        return ticket_out(ticket, True, session, request)


def _act(request: Request, ticket_id: int, action) -> TicketOut:
    workflow: TicketWorkflow = request.app.state.workflow
    with request.app.state.sessions() as session, _workflow_errors():
        action(workflow, session)
        session.commit()
        return ticket_out(workflow.get(session, ticket_id), True, session, request)


@router.post("/{ticket_id}/claim", response_model=TicketOut)
def claim(ticket_id: TicketId, request: Request, staff: AgentDep) -> TicketOut:
    """Take the ticket: you become its assignee, a new ticket opens, the bot stays silent."""
    return _act(request, ticket_id, lambda w, s: w.claim(s, ticket_id, staff.name))


@router.post("/{ticket_id}/reply", response_model=TicketOut)
def reply(ticket_id: TicketId, body: ReplyIn, request: Request, staff: AgentDep) -> TicketOut:
    """Answer the customer in their conversation (their widget shows it); the first reply meets the first-response
    target. With `wait_for_customer` the ticket waits on them and its SLA clock pauses."""
    return _act(request, ticket_id, lambda w, s: w.reply(s, ticket_id, staff.name, body.text, body.wait_for_customer))


@router.post("/{ticket_id}/notes", response_model=TicketOut)
def add_note(ticket_id: TicketId, body: NoteIn, request: Request, staff: AgentDep) -> TicketOut:
    """An internal note for the team, kept in the history; the customer never sees it."""
    return _act(request, ticket_id, lambda w, s: w.add_note(s, ticket_id, staff.name, body.text))


@router.post("/{ticket_id}/escalate", response_model=TicketOut)
def escalate(ticket_id: TicketId, body: EscalateIn, request: Request, staff: AgentDep) -> TicketOut:
    """Hand the ticket to another queue, or up to a tier, with the reason."""
    return _act(
        request,
        ticket_id,
        lambda w, s: w.escalate(s, ticket_id, staff.name, body.reason, queue=body.queue, tier=body.tier),
    )


@router.post("/{ticket_id}/resolve", response_model=TicketOut)
def resolve(ticket_id: TicketId, body: ResolveIn, request: Request, staff: AgentDep) -> TicketOut:
    """Mark it solved, saying what solved it; the customer's next message goes to the bot again.

    The customer's question and the resolution become a suggestion for the knowledge base, pending an editor's
    review (a new phrasing of the linked or closest article, or a draft article)."""

    def resolve_and_learn(workflow: TicketWorkflow, session: Session) -> None:
        workflow.resolve(session, ticket_id, staff.name, body.resolution, body.article_id)
        ticket = workflow.get(session, ticket_id)
        question = ticket.question or ticket.description
        if question:
            try:
                suggest_from_resolution(
                    request.app.state.kb,
                    session,
                    ticket=ticket.reference,
                    question=question,
                    resolution=body.resolution,
                    lang=ticket.lang,
                    tags=list(ticket.tags),
                    article_id=body.article_id,
                )
            except ArticleNotFound as error:
                raise HTTPException(404, f"{error}: link a published article, or none") from error
            except SuggestionError as error:
                raise HTTPException(409, str(error)) from error

    return _act(request, ticket_id, resolve_and_learn)


@router.post("/{ticket_id}/reopen", response_model=TicketOut)
def reopen(ticket_id: TicketId, request: Request, staff: AgentDep, body: ReopenIn | None = None) -> TicketOut:
    """Open a resolved ticket again (a fresh resolution deadline; the bot goes quiet)."""
    return _act(request, ticket_id, lambda w, s: w.reopen(s, ticket_id, staff.name, body.reason if body else None))


@router.post("/{ticket_id}/close", response_model=TicketOut)
def close(ticket_id: TicketId, request: Request, staff: AgentDep) -> TicketOut:
    """Close a resolved ticket for good."""
    return _act(request, ticket_id, lambda w, s: w.close(s, ticket_id, staff.name))
