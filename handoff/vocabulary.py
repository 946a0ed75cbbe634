"""The handoff's words, each declared once: every other module, schema and check takes them from here.

Each is a `Literal` type (for pydantic models and type checking) with its values as a tuple (for loops, database
filters and error messages); `values` ties the two so that they cannot drift apart.
"""

from __future__ import annotations

from typing import Literal, get_args

Priority = Literal["low", "normal", "high", "urgent"]
"""How urgent a ticket is, from least to most: the order the priority rules raise along."""

HandoffReason = Literal["no_answer", "asked_for_person", "needs_agent"]
"""Why tier 0 handed a conversation over: no confident answer, the customer asked for a person, or the topic needs
an agent's authority (refunds, discounts)."""

HandoffIntent = Literal["asked_for_person", "supervisor", "complaint"]
"""What the customer wants of the person they are handed to: anyone on the team, someone senior (a supervisor, a
manager), or to complain."""

TicketStatus = Literal["new", "open", "pending_customer", "resolved", "closed"]
ConversationState = Literal["bot", "waiting_agent", "agent", "resolved"]
"""Who talks in a conversation: the bot, nobody yet (waiting for an agent), an agent; or nobody, it is over."""

WebhookEventName = Literal[
    "ticket.created", "ticket.reminder", "ticket.breached", "ticket.escalated", "ticket.resolved"
]
"""What a webhook can be told of."""


def values(kind: object) -> tuple[str, ...]:
    """The values of a `Literal` type, in their declared order."""
    return tuple(get_args(kind))


PRIORITIES = values(Priority)
HANDOFF_REASONS = values(HandoffReason)
HANDOFF_INTENTS = values(HandoffIntent)
TICKET_STATUSES = values(TicketStatus)
OPEN_TICKET_STATUSES: tuple[TicketStatus, ...] = ("new", "open", "pending_customer")
CONVERSATION_STATES = values(ConversationState)
WEBHOOK_EVENTS = values(WebhookEventName)
