"""Conversations and handoffs: store every message, and turn a conversation the bot cannot finish into a ticket."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.clock import Clock, SystemClock, as_utc
from handoff.incidents import Embed, IncidentDetector
from handoff.models import Conversation, Message, Ticket, utcnow
from handoff.policies import Policies
from handoff.routing import Classify, Facts, route
from handoff.sla import record, start_clock
from handoff.vocabulary import OPEN_TICKET_STATUSES, HandoffIntent, HandoffReason

# A customer's email address as the bot's form and the API's details form accept it for the ticket.
EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


class HandoffError(ValueError):
    """A handoff operation that cannot be done; the message says why."""


class ConversationNotFound(HandoffError):
    """No conversation has that id."""


def hash_token(token: str) -> str:
    """How tokens are stored: their SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_conversation(
    session: Session,
    *,
    lang: str = "en",
    channel: str = "web",
    customer_name: str | None = None,
    customer_email: str | None = None,
    customer_attributes: dict[str, Any] | None = None,
    customer_id: str | None = None,
    customer_site: str | None = None,
) -> tuple[Conversation, str]:
    """Start a conversation (not committed); returns it and the bearer token only its customer gets."""
    token = secrets.token_urlsafe(32)
    conversation = Conversation(
        id=uuid.uuid4().hex,
        token_hash=hash_token(token),
        lang=lang,
        channel=channel,
        customer_name=customer_name,
        customer_email=customer_email,
        customer_attributes=customer_attributes or {},
        customer_id=customer_id,
        customer_site=customer_site,
    )
    session.add(conversation)
    return conversation, token


def get_conversation(session: Session, conversation_id: str) -> Conversation:
    """The conversation with this id, or ConversationNotFound."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"no conversation with id {conversation_id!r}")
    return conversation


def token_matches(conversation: Conversation, token: str) -> bool:
    """Whether `token` is this conversation's token (constant-time)."""
    return hmac.compare_digest(conversation.token_hash, hash_token(token))


def record_message(
    session: Session,
    conversation: Conversation,
    sender: str,
    text: str,
    payload: dict[str, Any] | None = None,
    *,
    client_message_id: str | None = None,
    in_reply_to: int | None = None,
    ticket_event_id: int | None = None,
) -> Message:
    """Append a message to a conversation (not committed), numbered after the last one: with the key its client
    chose for it (a second message with the same key in the conversation fails on commit), the id of the message
    it answers, or the id of the ticket's history entry it tells the customer of (one message per entry).

    A customer's message on a ticket that waits on them puts the ticket back to open; its SLA clock resumes at the
    scheduler's next run (`handoff.sla.settle_resumed`)."""
    last = session.scalar(select(func.max(Message.seq)).where(Message.conversation_id == conversation.id))
    message = Message(
        conversation_id=conversation.id,
        seq=(last or 0) + 1,
        sender=sender,
        text=text,
        payload=payload or {},
        client_message_id=client_message_id,
        in_reply_to_id=in_reply_to,
        ticket_event_id=ticket_event_id,
    )
    session.add(message)
    conversation.updated_at = utcnow()
    if sender == "customer":
        ticket = open_ticket(session, conversation.id)
        if ticket is not None and ticket.status == "pending_customer":
            ticket.status = "open"
            record(ticket, "customer", "status", utcnow(), **{"from": "pending_customer", "to": "open"})
    return message


def message_with_key(session: Session, conversation_id: str, client_message_id: str) -> Message | None:
    """The customer's message that was sent with this key in this conversation, if any."""
    return session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.client_message_id == client_message_id
        )
    )


def replies_to(session: Session, message: Message) -> list[Message]:
    """The messages stored in answer to `message` (the bot's replies, or the notice that an agent will reply)."""
    return list(session.scalars(select(Message).where(Message.in_reply_to_id == message.id).order_by(Message.seq)))


def transcript(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    """Every message of a conversation, oldest first, as plain data."""
    messages = session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq))
    return [
        {"seq": m.seq, "sender": m.sender, "text": m.text, "at": m.created_at.isoformat(), **m.payload}
        for m in messages
    ]


def open_ticket(session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's ticket that is still being worked on, if any."""
    return session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.id.desc())
    )


class ArticleTried(BaseModel):
    """An article the bot found (and maybe showed) before handing off, with its score."""

    article_id: str
    title: str
    score: float
    topic: str | None = None


class HandoffRequest(BaseModel):
    """What the bot collected: who the customer is, what they need, what was already tried, and why it hands off."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    reason: HandoffReason
    customer_name: str | None = Field(default=None, max_length=120)
    customer_email: str | None = Field(default=None, max_length=254)
    description: str = Field(max_length=5000)
    question: str | None = Field(default=None, max_length=5000)
    lang: str = "en"
    intent: HandoffIntent | None = None
    intent_confidence: float | None = Field(default=None, ge=0, le=1)
    articles_tried: list[ArticleTried] = Field(default_factory=list)
    customer_words: str = Field(default="", max_length=50_000)  # all they wrote: the routing and priority rules read it


def _first_sentence(text: str, limit: int) -> str:
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?。！？])\s*", text, maxsplit=1)[0] or text
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


REASON_LABELS = {
    "no_answer": "Bot found no answer",
    "asked_for_person": "Customer asked for a person",
    "needs_agent": "Needs an agent's authority",
}


@dataclass(frozen=True)
class ReplyWindow:
    """When a customer can expect the first reply: the deadline, the time now, and the team's time zone and hours."""

    due: datetime
    now: datetime
    timezone: str
    open_now: bool


class HandoffService:
    """Hands a conversation to a tier-1 queue as one pre-filled ticket, routed and prioritised by the policies,
    with its SLA clock started.

    >>> from handoff.policies import load_policies
    >>> service = HandoffService(load_policies())  # then: service.hand_off(session, HandoffRequest(...))
    """

    def __init__(
        self,
        policies: Policies,
        clock: Clock | None = None,
        classify: Classify | None = None,
        embed: Embed | None = None,
    ) -> None:
        self.policies = policies
        self.clock = clock or SystemClock()
        self.classify = classify
        self.incidents = IncidentDetector(policies, embed=embed)  # word overlap without `embed`

    def hand_off(self, session: Session, request: HandoffRequest, actor: str = "bot") -> Ticket:
        """Create the ticket (not committed); a conversation with an open ticket gets that ticket back, not a second."""
        conversation = get_conversation(session, request.conversation_id)
        existing = open_ticket(session, conversation.id)
        if existing is not None:
            return existing
        now = self.clock.now()
        best = max(request.articles_tried, key=lambda a: a.score, default=None)
        topic = best.topic if best else None
        text = " ".join(filter(None, [request.question, request.description]))
        facts = Facts(
            text=text,
            topic=topic,
            topic_confidence=best.score if best else None,
            intent=request.intent,
            lang=request.lang,
            channel=conversation.channel,
            customer=conversation.customer_attributes or {},
            context=request.customer_words,
        )
        decided = route(facts, self.policies, self.classify)
        description = request.description.strip() or (request.question or "")
        ticket = Ticket(
            conversation_id=conversation.id,
            status="new",
            queue=decided.queue,
            tier=decided.tier,
            priority=decided.priority,
            reason=request.reason,
            channel=conversation.channel,
            lang=request.lang,
            customer_name=request.customer_name or conversation.customer_name,
            customer_email=request.customer_email or conversation.customer_email,
            subject=_first_sentence(description or REASON_LABELS[request.reason], 120),
            summary=f"{REASON_LABELS[request.reason]} ({request.lang}, {conversation.channel}): "
            + _first_sentence(description, 200),
            description=description,
            question=request.question,
            topic=topic,
            topic_confidence=facts.topic_confidence,
            intent=request.intent,
            intent_confidence=request.intent_confidence,
            routed_by=decided.routed_by,
            routing_confidence=decided.routing_confidence,
            articles_tried=[a.model_dump() for a in request.articles_tried],
            tags=[t for t in (topic, request.reason, request.intent, request.lang) if t],
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        record(
            ticket,
            actor,
            "created",
            now,
            queue=decided.queue,
            tier=decided.tier,
            routed_by=decided.routed_by,
            routing_confidence=decided.routing_confidence,
            **({"classified_as": decided.classified_as} if decided.classified_as is not None else {}),
            priority=decided.priority,
            priority_by=decided.priority_by,
        )
        lead = self.policies.queues[decided.queue].lead if decided.queue in self.policies.queues else None
        if request.intent in self.policies.lead_takes and lead:  # hierarchical escalation, asked for by the customer
            ticket.assignee = lead
            record(ticket, "system", "assigned", now, assignee=lead, because=f"intent: {request.intent}")
        self.incidents.check(session, ticket, now)  # may raise its priority: before the SLA clock starts
        start_clock(ticket, self.policies, now)
        if request.customer_name and not conversation.customer_name:
            conversation.customer_name = request.customer_name
        if request.customer_email and not conversation.customer_email:
            conversation.customer_email = request.customer_email
        conversation.state = "waiting_agent"
        return ticket

    def warm_incident_vectors(self, session: Session) -> int:
        """Embed the recent tickets' texts for incident detection now (at start-up, off the request path), so the
        first ticket after a restart does not embed them all while it is created. Returns how many texts."""
        return self.incidents.warm(session, self.clock.now())

    def reply_window(self, ticket: Ticket) -> ReplyWindow:
        """What the bot tells the customer about the first reply, from the ticket's SLA and its queue's hours."""
        calendar = self.policies.calendar(ticket.queue)
        now = self.clock.now()
        due = as_utc(ticket.first_response_due) if ticket.first_response_due else calendar.add(now, 0)
        return ReplyWindow(due=due, now=now, timezone=calendar.timezone, open_now=calendar.is_open(now))
