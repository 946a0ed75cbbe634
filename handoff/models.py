"""The handoff tables: conversations with their messages, and the tickets handed to tier-1 queues."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class HandoffBase(DeclarativeBase):
    """Declarative base for the handoff tables."""


class Conversation(HandoffBase):
    """One customer's chat. `state` says who talks: the bot, nobody yet (waiting for an agent), or an agent.

    A known customer's (opened with a customer token the host site signed) carries their id on that site
    (`customer_id`, with the site's `iss` in `customer_site` when the token named one) and the token's verified
    claims: name, email, and the attributes the routing rules read (`customer_attributes`: plan, lifetime_value …)."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20), default="web")
    lang: Mapped[str] = mapped_column(String(8), default="en")
    customer_name: Mapped[str | None] = mapped_column(String(120))
    customer_email: Mapped[str | None] = mapped_column(String(254))
    customer_attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_id: Mapped[str | None] = mapped_column(String(120), index=True)
    customer_site: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), default="bot")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    messages: Mapped[list[Message]] = relationship(back_populates="conversation", order_by="Message.seq")
    tickets: Mapped[list[Ticket]] = relationship(back_populates="conversation", order_by="Ticket.id")


class Message(HandoffBase):
    """A message in a conversation, numbered in order; `payload` holds buttons and article cards.

    A customer's message may carry the key its client chose for it (`client_message_id`, unique in the
    conversation), so a retried send is recognised; the bot's replies point back at the message they answer; a
    notice that tells the customer of an entry of their ticket's history (an escalation, a resolution) carries that
    entry's id (`ticket_event_id`, unique), so no entry is told twice."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_message_id"),
        UniqueConstraint("ticket_event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(20))  # customer | bot | agent | system
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    ticket_event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Ticket(HandoffBase):
    """A structured handoff: everything an agent needs so the customer never repeats themselves."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    queue: Mapped[str] = mapped_column(String(40), index=True)
    tier: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    reason: Mapped[str] = mapped_column(String(30))  # no_answer | asked_for_person | needs_agent
    channel: Mapped[str] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(8))
    customer_name: Mapped[str | None] = mapped_column(String(120))
    customer_email: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    question: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(40))
    topic_confidence: Mapped[float | None] = mapped_column(Float)
    intent: Mapped[str | None] = mapped_column(String(40))  # handoff.vocabulary.HandoffIntent
    intent_confidence: Mapped[float | None] = mapped_column(Float)  # the bot's classifier's, when it read one
    routed_by: Mapped[str] = mapped_column(String(60))
    articles_tried: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    routing_confidence: Mapped[float | None] = mapped_column(Float)
    assignee: Mapped[str | None] = mapped_column(String(120))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    first_response_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    resolution_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolution_article_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    conversation: Mapped[Conversation] = relationship(back_populates="tickets")
    history: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")
    timers: Mapped[list[TicketTimer]] = relationship(back_populates="ticket", order_by="TicketTimer.id")

    @property
    def reference(self) -> str:
        """The id customers and agents quote: TZ-1001."""
        return f"TZ-{1000 + self.id}"


class TicketEvent(HandoffBase):
    """One entry of a ticket's audit history: what changed and who did it."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ticket: Mapped[Ticket] = relationship(back_populates="history")


class TicketTimer(HandoffBase):
    """Something the clock must do to a ticket at `due_at`, exactly once: a reminder, a breach, an escalation level,
    an automatic close. Kept in the database, so a restart neither loses nor repeats one."""

    __tablename__ = "ticket_timers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    # {first_response,resolution}_{reminder,breach} | escalation (with its level and matrix) | auto_close
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[int | None] = mapped_column(Integer)
    matrix: Mapped[str | None] = mapped_column(String(80))  # an escalation's matrix, chosen at the breach
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ticket: Mapped[Ticket] = relationship(back_populates="timers")
