"""Tier Zero's handoff engine: conversations, tickets, routing to tier-1 queues, SLA clocks and escalation.

Plain Python over SQLAlchemy; nothing here knows about Rasa, HTTP or the knowledge base's internals.
"""

from handoff.clock import Clock, ManualClock, SystemClock
from handoff.models import Conversation, HandoffBase, Message, Ticket, TicketEvent, TicketTimer
from handoff.policies import Policies, PolicyError, load_policies, parse_policies
from handoff.service import EMAIL_ADDRESS, ArticleTried, HandoffError, HandoffRequest, HandoffService, ReplyWindow
from handoff.sla import fire_due_timers
from handoff.webhooks import WebhookDelivery, WebhookEvent, install_outbox
from handoff.workflow import InvalidTransition, TicketNotFound, TicketWorkflow

__all__ = [
    "EMAIL_ADDRESS",
    "ArticleTried",
    "Clock",
    "Conversation",
    "HandoffBase",
    "HandoffError",
    "HandoffRequest",
    "HandoffService",
    "InvalidTransition",
    "ManualClock",
    "Message",
    "Policies",
    "PolicyError",
    "ReplyWindow",
    "SystemClock",
    "Ticket",
    "TicketEvent",
    "TicketNotFound",
    "TicketTimer",
    "TicketWorkflow",
    "WebhookDelivery",
    "WebhookEvent",
    "fire_due_timers",
    "install_outbox",
    "load_policies",
    "parse_policies",
]
