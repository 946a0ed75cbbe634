"""Tier Zero's handoff engine: conversations, tickets, routing to tier-1 queues.

Plain Python over SQLAlchemy; nothing here knows about Rasa, HTTP or the knowledge base's internals.
"""

from handoff.models import Conversation, HandoffBase, Message, Ticket, TicketEvent
from handoff.service import ArticleTried, HandoffError, HandoffRequest, HandoffService

__all__ = [
    "ArticleTried",
    "Conversation",
    "HandoffBase",
    "HandoffError",
    "HandoffRequest",
    "HandoffService",
    "Message",
    "Ticket",
    "TicketEvent",
]
