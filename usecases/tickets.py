"""The agent's side: the tickets in the tier-1 queues and the work on them (claim, reply, note, escalate, resolve,
reopen, close). Every change goes through `handoff.TicketWorkflow`, which records it in the ticket's history; the
customer is told of the entries that concern them (`usecases.notices`: a move to another team, the resolution) in
the same transaction; a resolution also becomes a suggestion for the knowledge base."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from handoff import Conversation, HandoffError, InvalidTransition, Ticket, TicketNotFound, TicketWorkflow
from handoff.clock import as_utc
from handoff.service import transcript
from handoff.sla import breached
from handoff.vocabulary import PRIORITIES, TICKET_STATUSES
from kb.articles import ArticleNotFound
from kb.suggestions import SuggestionError, suggest_from_resolution
from usecases.context import Context
from usecases.errors import Conflict, Invalid, NotFound
from usecases.notices import CustomerNotices
from usecases.store import retrying

# The customer's other tickets a ticket shows, newest first.
HISTORY_TICKETS = 20
# The deadline a ticket is working against: its first response until sent, then its resolution.
NEXT_DEADLINE = func.coalesce(
    case((Ticket.first_responded_at.is_(None), Ticket.first_response_due), else_=None), Ticket.resolution_due
)


def _utc(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None


class SlaView(BaseModel):
    """A ticket's SLA clock: deadlines (business hours of its queue), when it was met, and whether it is paused."""

    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    paused_since: datetime | None
    breached: list[str]


class EarlierTicket(BaseModel):
    """One of the customer's other tickets, as the history on a ticket lists it."""

    reference: str
    status: str
    queue: str
    subject: str
    created_at: datetime


class CustomerHistory(BaseModel):
    """The customer's other tickets (the newest `HISTORY_TICKETS`, and how many in all) and how many other
    conversations they had: a known customer's by their id on the host site (`matched_by: customer_id`, verified
    by the site's token), anyone else's by the email address on the ticket (`matched_by: email`, as typed: it may
    not be theirs). Agents only: no customer endpoint shows it."""

    matched_by: Literal["customer_id", "email"]
    tickets: list[EarlierTicket]
    tickets_total: int
    conversations: int


class TicketView(BaseModel):
    id: int
    reference: str
    conversation_id: str
    status: str
    queue: str
    tier: int
    priority: str
    escalation_level: int
    sla: SlaView
    reason: str
    channel: str
    lang: str
    customer: dict[str, str | None]
    customer_id: str | None  # a known customer's id on the host site (their token's `sub`); None: anonymous
    customer_attributes: dict[str, Any]  # what the routing rules read (a known customer's plan, lifetime_value …)
    subject: str
    summary: str
    description: str
    question: str | None
    topic: str | None
    topic_confidence: float | None
    intent: str | None
    intent_confidence: float | None
    routed_by: str
    routing_confidence: float | None
    articles_tried: list[dict[str, Any]]
    tags: list[str]
    assignee: str | None
    resolution: str | None
    resolution_article_id: str | None
    created_at: datetime
    updated_at: datetime
    transcript: list[dict[str, Any]] | None = None
    history: list[dict[str, Any]] | None = None
    customer_history: CustomerHistory | None = None  # in the full view, when the customer can be told apart


@dataclass(frozen=True)
class TicketFilter:
    queue: str | None = None
    status: str | None = None
    priority: str | None = None
    tier: int | None = None
    assignee: str | None = None
    unassigned: bool = False
    breached_only: bool = False
    sort: str = "newest"  # or "deadline": nearest deadline first
    limit: int = 50
    offset: int = 0


@contextmanager
def _workflow_errors() -> Iterator[None]:
    """The workflow's refusals as the use cases' errors: an unknown ticket, a move its status forbids, a value."""
    try:
        yield
    except TicketNotFound as error:
        raise NotFound(str(error)) from error
    except InvalidTransition as error:
        raise Conflict(str(error)) from error
    except HandoffError as error:
        raise Invalid(str(error)) from error


def customer_history(session: Session, ticket: Ticket) -> CustomerHistory | None:
    """The ticket's customer's other tickets and conversations (see `CustomerHistory`); None for a customer who is
    neither known nor gave an email address."""
    conversation = ticket.conversation
    if conversation.customer_id is not None:
        matched_by: Literal["customer_id", "email"] = "customer_id"
        same_site = Conversation.customer_site.is_not_distinct_from(conversation.customer_site)
        theirs = (Conversation.customer_id == conversation.customer_id) & same_site
        conversations = select(func.count()).where(theirs, Conversation.id != conversation.id)
        tickets = select(Ticket).join(Ticket.conversation).where(theirs)
    elif ticket.customer_email:
        matched_by, email = "email", ticket.customer_email.lower()
        conversations = select(func.count()).where(
            func.lower(Conversation.customer_email) == email, Conversation.id != conversation.id
        )
        tickets = select(Ticket).where(func.lower(Ticket.customer_email) == email)
    else:
        return None
    others = tickets.where(Ticket.id != ticket.id)
    earlier = session.scalars(others.order_by(Ticket.id.desc()).limit(HISTORY_TICKETS))
    return CustomerHistory(
        matched_by=matched_by,
        tickets=[
            EarlierTicket(
                reference=t.reference,
                status=t.status,
                queue=t.queue,
                subject=t.subject,
                created_at=as_utc(t.created_at),
            )
            for t in earlier
        ],
        tickets_total=session.scalar(select(func.count()).select_from(others.subquery())) or 0,
        conversations=session.scalar(conversations.select_from(Conversation)) or 0,
    )


class TicketDesk:
    def __init__(self, ctx: Context, notices: CustomerNotices | None = None) -> None:
        self.ctx = ctx
        self.notices = notices or CustomerNotices(ctx)

    @property
    def workflow(self) -> TicketWorkflow:
        return self.ctx.workflow

    def view(self, session: Session, ticket: Ticket, full: bool) -> TicketView:
        """The ticket as an agent reads it; `full` adds the transcript, the history and the customer's other
        tickets and conversations."""
        conversation = ticket.conversation
        history = [
            {"at": as_utc(e.at).isoformat(), "actor": e.actor, "action": e.action, **e.detail} for e in ticket.history
        ]
        return TicketView(
            id=ticket.id,
            reference=ticket.reference,
            conversation_id=ticket.conversation_id,
            status=ticket.status,
            queue=ticket.queue,
            tier=ticket.tier,
            priority=ticket.priority,
            escalation_level=ticket.escalation_level,
            sla=SlaView(
                first_response_due=_utc(ticket.first_response_due),
                resolution_due=_utc(ticket.resolution_due),
                first_responded_at=_utc(ticket.first_responded_at),
                paused_since=_utc(ticket.sla_paused_at),
                breached=breached(ticket, self.ctx.clock.now()),
            ),
            reason=ticket.reason,
            channel=ticket.channel,
            lang=ticket.lang,
            customer={"name": ticket.customer_name, "email": ticket.customer_email},
            customer_id=conversation.customer_id,
            customer_attributes=dict(conversation.customer_attributes or {}),
            subject=ticket.subject,
            summary=ticket.summary,
            description=ticket.description,
            question=ticket.question,
            topic=ticket.topic,
            topic_confidence=ticket.topic_confidence,
            intent=ticket.intent,
            intent_confidence=ticket.intent_confidence,
            routed_by=ticket.routed_by,
            routing_confidence=ticket.routing_confidence,
            articles_tried=ticket.articles_tried,
            tags=ticket.tags,
            assignee=ticket.assignee,
            resolution=ticket.resolution,
            resolution_article_id=ticket.resolution_article_id,
            created_at=as_utc(ticket.created_at),
            updated_at=as_utc(ticket.updated_at),
            transcript=transcript(session, ticket.conversation_id) if full else None,
            history=history if full else None,
            customer_history=customer_history(session, ticket) if full else None,
        )

    def list(self, filters: TicketFilter, agent: str) -> list[TicketView]:
        """Tickets filtered by queue, status, priority, tier, assignee ('me': `agent`); newest first or nearest
        deadline first."""
        if filters.status and filters.status not in TICKET_STATUSES:
            raise Invalid(f"unknown status {filters.status!r}: use one of {', '.join(TICKET_STATUSES)}")
        if filters.priority and filters.priority not in PRIORITIES:
            raise Invalid(f"unknown priority {filters.priority!r}: use one of {', '.join(PRIORITIES)}")
        statement = select(Ticket)
        if filters.queue:
            statement = statement.where(Ticket.queue == filters.queue)
        if filters.status:
            statement = statement.where(Ticket.status == filters.status)
        if filters.priority:
            statement = statement.where(Ticket.priority == filters.priority)
        if filters.tier:
            statement = statement.where(Ticket.tier == filters.tier)
        if filters.assignee:
            statement = statement.where(Ticket.assignee == (agent if filters.assignee == "me" else filters.assignee))
        if filters.unassigned:
            statement = statement.where(Ticket.assignee.is_(None))
        if filters.breached_only:
            statement = statement.where(
                Ticket.status.in_(("new", "open")), Ticket.sla_paused_at.is_(None), self.ctx.clock.now() > NEXT_DEADLINE
            )
        if filters.sort == "deadline":
            statement = statement.order_by(NEXT_DEADLINE.is_(None), NEXT_DEADLINE, Ticket.id)
        else:
            statement = statement.order_by(Ticket.id.desc())
        statement = statement.options(selectinload(Ticket.conversation))
        with self.ctx.sessions() as session:
            tickets = session.scalars(statement.limit(filters.limit).offset(filters.offset))
            return [self.view(session, t, full=False) for t in tickets]

    def get(self, ticket_id: int) -> TicketView:
        """One ticket with its transcript, SLA and history."""
        with self.ctx.sessions() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise NotFound(f"no ticket with id {ticket_id}")
            return self.view(session, ticket, full=True)

    def _act(self, ticket_id: int, action: Callable[[TicketWorkflow, Session], object]) -> TicketView:
        """Run `action` on the ticket and tell the customer of the history entries it left that concern them, in
        one transaction (run again if a concurrent message takes the conversation's next number first)."""
        return retrying(lambda: self._act_once(ticket_id, action))

    def _act_once(self, ticket_id: int, action: Callable[[TicketWorkflow, Session], object]) -> TicketView:
        with self.ctx.sessions() as session, _workflow_errors():
            ticket = self.workflow.get(session, ticket_id)
            before = {entry.id for entry in ticket.history}
            action(self.workflow, session)
            session.flush()
            for entry in [e for e in ticket.history if e.id not in before]:
                self.notices.tell(session, entry)
            session.commit()
            return self.view(session, ticket, full=True)

    def claim(self, ticket_id: int, agent: str) -> TicketView:
        """The agent takes the ticket: the bot stays silent from now on."""
        return self._act(ticket_id, lambda w, s: w.claim(s, ticket_id, agent))

    def reply(self, ticket_id: int, agent: str, text: str, wait_for_customer: bool) -> TicketView:
        """Answer the customer in their conversation; the first reply meets the first-response target. With
        `wait_for_customer` the ticket waits on them and its SLA clock pauses."""
        return self._act(ticket_id, lambda w, s: w.reply(s, ticket_id, agent, text, wait_for_customer))

    def note(self, ticket_id: int, agent: str, text: str) -> TicketView:
        """An internal note for the team; the customer never sees it."""
        return self._act(ticket_id, lambda w, s: w.add_note(s, ticket_id, agent, text))

    def escalate(self, ticket_id: int, agent: str, reason: str, queue: str | None, tier: int | None) -> TicketView:
        """Hand the ticket to another queue, or up to a tier, with the reason (kept for the team). The customer is
        told which team has it now and when to expect a reply."""
        return self._act(ticket_id, lambda w, s: w.escalate(s, ticket_id, agent, reason, queue=queue, tier=tier))

    def resolve(self, ticket_id: int, agent: str, resolution: str, article_id: str | None) -> TicketView:
        """Mark it solved, saying what solved it. The customer is told, with the resolution's first lines (up to
        `usecases.texts.RESOLUTION_EXCERPT_CHARS`); the customer's question and the resolution become a suggestion
        for the knowledge base, pending an editor's review."""

        def resolve_and_learn(workflow: TicketWorkflow, session: Session) -> None:
            workflow.resolve(session, ticket_id, agent, resolution, article_id)
            ticket = workflow.get(session, ticket_id)
            question = ticket.question or ticket.description
            if not question:
                return
            try:
                suggest_from_resolution(
                    self.ctx.kb,
                    session,
                    ticket=ticket.reference,
                    question=question,
                    resolution=resolution,
                    lang=ticket.lang,
                    tags=list(ticket.tags),
                    article_id=article_id,
                )
            except ArticleNotFound as error:
                raise NotFound(f"{error}: link a published article, or none") from error
            except SuggestionError as error:
                raise Conflict(str(error)) from error

        return self._act(ticket_id, resolve_and_learn)

    def reopen(self, ticket_id: int, actor: str, reason: str | None) -> TicketView:
        """Open a resolved ticket again (a fresh resolution deadline; the bot goes quiet)."""
        return self._act(ticket_id, lambda w, s: w.reopen(s, ticket_id, actor, reason))

    def close(self, ticket_id: int, actor: str) -> TicketView:
        """Close a resolved ticket for good."""
        return self._act(ticket_id, lambda w, s: w.close(s, ticket_id, actor))
