"""What the customer's use cases return: plain, typed data, read inside the transaction that produced it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from handoff import Policies, Ticket
from handoff.clock import as_utc


class TicketBrief(BaseModel):
    """What a customer may know of their ticket: which it is, which team has it, where it stands, and by when
    to expect the first reply (while none has come)."""

    id: int
    reference: str
    queue: str
    queue_name: str
    status: str
    priority: str
    first_response_due: datetime | None = None


def brief(ticket: Ticket | None, policies: Policies, lang: str) -> TicketBrief | None:
    if ticket is None:
        return None
    waiting = ticket.first_responded_at is None and ticket.first_response_due is not None
    return TicketBrief(
        id=ticket.id,
        reference=ticket.reference,
        queue=ticket.queue,
        queue_name=policies.queue_name(ticket.queue, lang),
        status=ticket.status,
        priority=ticket.priority,
        first_response_due=as_utc(ticket.first_response_due) if waiting else None,
    )


class Reply(BaseModel):
    """What the customer is told after a message or a handoff: the messages, who is talking now, and the ticket."""

    messages: list[dict[str, Any]]
    state: str
    ticket: TicketBrief | None = None
