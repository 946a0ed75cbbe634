"""What the customer is told of their ticket after the handoff, in their conversation and its language: that it
moved to another team (an agent's escalation or transfer, or the SLA's escalation matrix raising its tier), with
when to expect a reply; and that it was resolved, with the first lines of the resolution.

Each notice tells one entry of the ticket's history, the record every change already leaves (`handoff.sla.record`),
and is stored with that entry's id, which is unique among messages: however often the code that made the entry runs,
or this is called for it, the customer is told once. It is written in the transaction that writes the entry (the
agent's action in `usecases.tickets`, the timer's in `handoff.sla.fire_due_timers`), so it is told if and only if
the change is committed.

What is not told: internal notes, priority, who on the team has the ticket (a reassignment within the same team,
such as the matrix's reassignment to the queue's lead), reminders and breaches, the automatic close."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import Ticket
from handoff.clock import as_utc
from handoff.models import Message, TicketEvent
from handoff.service import record_message
from usecases.context import Context
from usecases.texts import REPLY_HERE, TICKET_MOVED, TICKET_RESOLVED, reply_expectation, resolution_excerpt, say

logger = logging.getLogger(__name__)

NOTICE = "notice"  # in a system message's payload: which notice it is
MOVED, RESOLVED = "ticket_moved", "ticket_resolved"
ADDED_TO_TICKET = "added_to_ticket"  # a customer's message went to their waiting ticket (usecases.conversations)


def _moved(detail: dict[str, Any]) -> bool:
    """Whether an escalation entry moved the ticket to another queue or tier (its `changes`: name → [before, after])."""
    changes = detail.get("changes") or {}
    return any(key in changes and changes[key][0] != changes[key][1] for key in ("queue", "tier"))


class CustomerNotices:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def wording(self, ticket: Ticket, entry: TicketEvent, lang: str) -> tuple[str, str] | None:
        """Which notice `entry` calls for and its text in `lang`, or None if the customer is not told of it."""
        detail = entry.detail or {}
        if entry.action == "escalated" and _moved(detail):
            queue = (detail.get("changes") or {}).get("queue", [None, ticket.queue])[1]
            text = say(
                TICKET_MOVED,
                lang,
                ticket_ref=ticket.reference,
                queue_name=self.ctx.policies.queue_name(queue, lang),
                reply_expectation=self.expectation(ticket, lang),
            )
            return MOVED, text
        if entry.action == "status" and detail.get("to") == "resolved":
            resolution = resolution_excerpt(detail.get("resolution") or ticket.resolution or "", lang)
            return RESOLVED, say(TICKET_RESOLVED, lang, ticket_ref=ticket.reference, resolution=resolution)
        return None

    def expectation(self, ticket: Ticket, lang: str) -> str:
        """When to expect a reply after a move: the first-response deadline in the new team's hours while it is
        still ahead and unmet; otherwise (answered already, or missed: the matrix escalates after a breach) no time,
        since the SLA sets no new one, only that the reply comes here."""
        due = ticket.first_response_due
        if ticket.first_responded_at is None and due is not None and as_utc(due) > self.ctx.clock.now():
            return reply_expectation(self.ctx.handoff.reply_window(ticket), lang)
        return say(REPLY_HERE, lang)

    def tell(self, session: Session, entry: TicketEvent) -> Message | None:
        """Store the notice `entry` calls for in the ticket's conversation (not committed), unless the customer is
        not told of it or was told already. Returns the message stored, if any."""
        return self._store(session, entry, self.wording(entry.ticket, entry, entry.ticket.conversation.lang))

    def _store(self, session: Session, entry: TicketEvent, worded: tuple[str, str] | None) -> Message | None:
        if worded is None:
            return None
        session.flush()  # the entry's id
        if session.scalar(select(Message.id).where(Message.ticket_event_id == entry.id)) is not None:
            return None
        kind, text = worded
        conversation = entry.ticket.conversation
        return record_message(session, conversation, "system", text, {NOTICE: kind}, ticket_event_id=entry.id)

    def after_timer(self, session: Session, entry: TicketEvent) -> Message | None:
        """`tell`, for the SLA clock (`handoff.sla.fire_due_timers`'s `on_fired`): a notice that cannot be worded is
        logged and skipped, so one bad text never stops the clock for every ticket; a failure to store it rolls the
        timer back, to fire again at the next run."""
        try:
            worded = self.wording(entry.ticket, entry, entry.ticket.conversation.lang)
        except Exception:
            logger.exception("ticket %s: could not word the notice for history entry %s", entry.ticket_id, entry.id)
            return None
        return self._store(session, entry, worded)
