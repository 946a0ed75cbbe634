"""The agent's side of a ticket: an explicit state machine and the actions that move it, each recorded in the
ticket's history with who did it.

    new ──claim/reply──▶ open ◀──customer replies── pending_customer
     │                    │  └──reply, waiting on customer──▶ │
     └──────resolve───────┴──────────resolve──────────────────┘──▶ resolved ──▶ closed
                                   open ◀──reopen── resolved

A move the table does not allow raises `InvalidTransition`, which the API turns into 409 with its message.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from handoff.clock import Clock
from handoff.models import Message, Ticket, TicketTimer
from handoff.policies import Policies
from handoff.service import HandoffError, record_message
from handoff.sla import cancel_timers, pause_clock, raise_tier, record, resume_clock, start_clock

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending_customer", "resolved"),
    "open": ("pending_customer", "resolved"),
    "pending_customer": ("open", "resolved"),
    "resolved": ("open", "closed"),
    "closed": (),
}


class TicketNotFound(HandoffError):
    """No ticket has that id."""


class InvalidTransition(HandoffError):
    """The ticket's status does not allow this action; the message says what the status is and what is allowed."""


def check_transition(ticket: Ticket, to: str, action: str) -> None:
    """Raise InvalidTransition unless `ticket` may go from its status to `to`."""
    allowed = TRANSITIONS[ticket.status]
    if to not in allowed:
        options = ", ".join(allowed) or "nothing: it is final"
        raise InvalidTransition(
            f"cannot {action} ticket {ticket.reference}: it is {ticket.status} (from {ticket.status} it can go to "
            f"{options})"
        )


class TicketWorkflow:
    """Claim, reply, note, escalate, resolve, reopen and close tickets under the policies, on the given clock.

    >>> from handoff.clock import SystemClock
    >>> from handoff.policies import load_policies
    >>> workflow = TicketWorkflow(load_policies(), SystemClock())  # then: workflow.claim(session, 1, "Aiko")
    """

    def __init__(self, policies: Policies, clock: Clock) -> None:
        self.policies = policies
        self.clock = clock

    def get(self, session: Session, ticket_id: int) -> Ticket:
        """The ticket with this id, or TicketNotFound."""
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"no ticket with id {ticket_id}")
        return ticket

    def _move(self, ticket: Ticket, to: str, actor: str, action: str, now: datetime, **detail: Any) -> None:
        check_transition(ticket, to, action)
        before = ticket.status
        if before == "pending_customer" and to == "open":
            resume_clock(ticket, self.policies, now)
        ticket.status = to
        if to == "pending_customer":
            pause_clock(ticket, now)
        record(ticket, actor, "status", now, **{"from": before, "to": to}, **detail)

    def claim(self, session: Session, ticket_id: int, agent: str) -> Ticket:
        """Take the ticket: the agent becomes its assignee and a new ticket opens (a resolved one reopens)."""
        ticket, now = self.get(session, ticket_id), self.clock.now()
        if ticket.status in ("resolved", "closed"):  # a resolved ticket reopens; a closed one refuses
            self.reopen(session, ticket_id, agent, reason="claimed again")
        previous = ticket.assignee
        ticket.assignee = agent
        record(ticket, agent, "claimed", now, previous_assignee=previous)
        if ticket.status == "new":
            self._move(ticket, "open", agent, "claim", now)
        ticket.conversation.state = "agent"
        return ticket

    def reply(
        self, session: Session, ticket_id: int, agent: str, text: str, wait_for_customer: bool = False
    ) -> tuple[Ticket, Message]:
        """Send the agent's reply into the customer's conversation; the bot stays silent while the agent owns it.

        The first reply meets the first-response target; a reply to a resolved ticket reopens it.
        `wait_for_customer` puts the ticket in pending_customer, which pauses the SLA clock until the customer
        answers."""
        ticket, now = self.get(session, ticket_id), self.clock.now()
        if ticket.status in ("resolved", "closed"):  # a resolved ticket reopens; a closed one refuses
            self.reopen(session, ticket_id, agent, reason="replied to after it was resolved")
        message = record_message(session, ticket.conversation, "agent", text, {"agent": agent})
        message.created_at = now
        ticket.conversation.state = "agent"
        ticket.assignee = ticket.assignee or agent
        record(ticket, agent, "replied", now, text=text)
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            cancel_timers(ticket, now, "first_response_reminder", "first_response_breach")
        if ticket.status == "new":
            self._move(ticket, "open", agent, "reply", now)
        if wait_for_customer and ticket.status != "pending_customer":
            self._move(ticket, "pending_customer", agent, "wait on the customer for", now)
        elif not wait_for_customer and ticket.status == "pending_customer":
            self._move(ticket, "open", agent, "reply to", now)
        return ticket, message

    def add_note(self, session: Session, ticket_id: int, agent: str, text: str) -> Ticket:
        """An internal note: in the ticket's history, never shown to the customer."""
        ticket = self.get(session, ticket_id)
        record(ticket, agent, "note", self.clock.now(), text=text)
        return ticket

    def escalate(
        self,
        session: Session,
        ticket_id: int,
        actor: str,
        reason: str,
        queue: str | None = None,
        tier: int | None = None,
    ) -> Ticket:
        """Hand the ticket up by hand: to another queue, or to a higher tier (along the queues' `escalate_to`)."""
        ticket, now = self.get(session, ticket_id), self.clock.now()
        if ticket.status in ("resolved", "closed"):
            raise InvalidTransition(
                f"cannot escalate ticket {ticket.reference}: it is {ticket.status}; reopen it first"
            )
        if (queue is None) == (tier is None):
            raise HandoffError("escalate to either a queue or a tier, not both and not neither")
        before = {"queue": ticket.queue, "tier": ticket.tier, "assignee": ticket.assignee}
        if queue is not None:
            if queue not in self.policies.queues:
                known = ", ".join(sorted(self.policies.queues))
                raise HandoffError(f"unknown queue {queue!r}: use one of {known}")
            if queue == ticket.queue:
                raise HandoffError(f"ticket {ticket.reference} is already in the {queue} queue")
            ticket.queue, ticket.tier = queue, self.policies.tier(queue)
        else:
            assert tier is not None
            if not ticket.tier < tier <= 3:
                raise HandoffError(f"ticket {ticket.reference} is at tier {ticket.tier}: escalate to a tier above it")
            while ticket.tier < tier:
                moved_from = (ticket.queue, ticket.tier)
                raise_tier(ticket, self.policies)
                if (ticket.queue, ticket.tier) == moved_from:
                    break
            ticket.tier = max(ticket.tier, tier)
        ticket.assignee = None
        ticket.conversation.state = "waiting_agent"
        record(
            ticket,
            actor,
            "escalated",
            now,
            by=actor,
            reason=reason,
            changes={k: [v, getattr(ticket, k)] for k, v in before.items() if getattr(ticket, k) != v},
        )
        return ticket

    def resolve(
        self, session: Session, ticket_id: int, actor: str, resolution: str, article_id: str | None = None
    ) -> Ticket:
        """Mark the ticket solved: the clocks stop, the conversation goes back to the bot, and the ticket closes by
        itself after `auto_close_after` unless it is reopened."""
        if not resolution.strip():
            raise HandoffError("a resolution is needed: say in a sentence what solved the problem")
        ticket, now = self.get(session, ticket_id), self.clock.now()
        self._move(ticket, "resolved", actor, "resolve", now, resolution=resolution, article_id=article_id)
        ticket.resolution, ticket.resolution_article_id, ticket.resolved_at = resolution, article_id, now
        ticket.sla_paused_at = None
        cancel_timers(ticket, now)
        ticket.timers.append(
            TicketTimer(kind="auto_close", due_at=now + timedelta(minutes=self.policies.auto_close_after))
        )
        ticket.conversation.state = "resolved"
        return ticket

    def reopen(self, session: Session, ticket_id: int, actor: str, reason: str | None = None) -> Ticket:
        """Open a resolved ticket again, with a fresh resolution deadline; the bot goes quiet again."""
        ticket, now = self.get(session, ticket_id), self.clock.now()
        self._move(ticket, "open", actor, "reopen", now, reason=reason)
        ticket.resolved_at = None
        cancel_timers(ticket, now)
        start_clock(ticket, self.policies, now, deadlines=("resolution",))
        ticket.conversation.state = "agent" if ticket.assignee else "waiting_agent"
        return ticket

    def close(self, session: Session, ticket_id: int, actor: str) -> Ticket:
        """Close a resolved ticket for good (a new question later starts a new ticket)."""
        ticket, now = self.get(session, ticket_id), self.clock.now()
        self._move(ticket, "closed", actor, "close", now)
        ticket.closed_at = now
        cancel_timers(ticket, now)
        return ticket
