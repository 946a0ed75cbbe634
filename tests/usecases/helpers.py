"""Conversations and tickets made as the bot makes them, straight in the stores of a use case's Context; each
conversation starts at the Context's clock."""

from __future__ import annotations

from handoff import HandoffRequest
from handoff.service import open_conversation, record_message
from usecases.context import Context


def handed_off(ctx: Context, text: str, reason: str = "asked_for_person", question: str | None = None) -> int:
    """A new conversation handed to a person with `text` as its description; returns the ticket's id."""
    with ctx.sessions() as session:
        conversation, _ = open_conversation(session)
        conversation.created_at = ctx.clock.now()
        ticket = ctx.handoff.hand_off(
            session,
            HandoffRequest(conversation_id=conversation.id, reason=reason, description=text, question=question),
        )
        session.commit()
        return ticket.id


def conversation(ctx: Context, exchanges: list[tuple[str, list[dict]]], lang: str = "en") -> str:
    """A conversation stored as the API stores one: each customer text, then the bot's messages (text and payload)."""
    with ctx.sessions() as session:
        stored, _ = open_conversation(session, lang=lang)
        stored.created_at = ctx.clock.now()
        for text, replies in exchanges:
            record_message(session, stored, "customer", text)
            for reply in replies:
                record_message(session, stored, "bot", reply["text"], {k: v for k, v in reply.items() if k != "text"})
        session.commit()
        return stored.id
