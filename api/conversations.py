"""The customer's side: open a conversation, send messages (stored first, then the bot answers), read it back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import bearer, bearer_token, unauthorized
from api.fallback import answer_without_bot
from api.rasa_client import RasaUnavailable, to_messages
from api.ratelimit import client_address
from api.schemas import ConversationCreate, ConversationCreated, ConversationOut, MessageIn, MessagesOut, TicketBrief
from api.texts import WAITING_FOR_AGENT, say
from handoff.models import Conversation, Message, Ticket
from handoff.service import (
    ConversationNotFound,
    get_conversation,
    open_conversation,
    open_ticket,
    record_message,
    token_matches,
    transcript,
)
from kb.lang import detect_language
from privacy import redact

router = APIRouter(prefix="/api/v1/conversations", tags=["customer"])


def _latest_ticket(conversation: Conversation) -> Ticket | None:
    return conversation.tickets[-1] if conversation.tickets else None


def _brief(ticket: Ticket | None) -> TicketBrief | None:
    if ticket is None:
        return None
    return TicketBrief(
        id=ticket.id, reference=ticket.reference, queue=ticket.queue, status=ticket.status, priority=ticket.priority
    )


def _authorized(session: Session, conversation_id: str, credentials: HTTPAuthorizationCredentials | None):
    token = bearer_token(credentials)
    try:
        conversation = get_conversation(session, conversation_id)
    except ConversationNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    if not token_matches(conversation, token):
        raise unauthorized("this token does not belong to this conversation")
    return conversation


CustomerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@router.post("", status_code=201, response_model=ConversationCreated)
def create_conversation(body: ConversationCreate, request: Request) -> ConversationCreated:
    """Start a chat. Keep the returned token: it is the only key to this conversation."""
    request.app.state.limits["conversations_per_address"].check(client_address(request), "new conversations")
    with request.app.state.sessions() as session:
        conversation, token = open_conversation(
            session, lang=body.lang, channel="web", customer_name=body.name, customer_email=body.email
        )
        session.commit()
        return ConversationCreated(id=conversation.id, token=token, state=conversation.state)


@router.post("/{conversation_id}/messages", response_model=MessagesOut)
async def post_message(
    conversation_id: str, body: MessageIn, request: Request, credentials: CustomerCredentials
) -> MessagesOut:
    """Send the customer's message. It is stored before anything else, so nothing is lost if the bot fails."""
    settings = request.app.state.settings
    if len(body.text) > settings.max_message_chars:
        raise HTTPException(
            status_code=422,
            detail=f"the message is {len(body.text)} characters long; the limit is {settings.max_message_chars}: "
            "please shorten it or split it into several messages",
        )
    limits = request.app.state.limits
    limits["messages_per_address"].check(client_address(request), "messages from this address")
    sessions = request.app.state.sessions
    text = redact(body.text).text  # secrets never reach the database, the bot or the agents
    with sessions() as session:
        conversation = _authorized(session, conversation_id, credentials)
        limits["messages_per_conversation"].check(conversation.id, "messages in this conversation")
        conversation.lang = detect_language(text, default=conversation.lang) or conversation.lang
        record_message(session, conversation, "customer", text)
        if conversation.state == "resolved":
            conversation.state = "bot"
        state, lang = conversation.state, conversation.lang
        ticket = open_ticket(session, conversation.id)
        if state != "bot" and ticket is not None:
            reply = say(WAITING_FOR_AGENT, lang, ticket=ticket.reference)
            record_message(session, conversation, "system", reply)
            session.commit()
            return MessagesOut(messages=[{"text": reply}], state=state, ticket=_brief(ticket))
        session.commit()

    try:
        replies = await request.app.state.rasa.send(conversation_id, text, {"lang": lang})
        messages = to_messages(replies)
    except RasaUnavailable:
        messages = []
    if not messages:  # every rule ends in a reply, so silence means a failed action: never leave the customer hanging
        messages = answer_without_bot(request.app.state.kb, text, lang, settings.base_url)

    with sessions() as session:
        conversation = get_conversation(session, conversation_id)
        for message in messages:
            extra = {k: v for k, v in message.items() if k != "text"}
            record_message(session, conversation, "bot", message["text"], extra)
        session.commit()
        return MessagesOut(messages=messages, state=conversation.state, ticket=_brief(_latest_ticket(conversation)))


@router.get("/{conversation_id}", response_model=ConversationOut)
def get_conversation_view(conversation_id: str, request: Request, credentials: CustomerCredentials) -> ConversationOut:
    """The conversation so far: every message, who is talking (bot or agent), and the ticket's status."""
    with request.app.state.sessions() as session:
        conversation = _authorized(session, conversation_id, credentials)
        return ConversationOut(
            id=conversation.id,
            state=conversation.state,
            lang=conversation.lang,
            transcript=transcript(session, conversation.id),
            ticket=_brief(_latest_ticket(conversation)),
        )


# What the customer may see in the live stream (anything else, such as an agent's internal note, never goes out).
CUSTOMER_VISIBLE_SENDERS = ("customer", "bot", "agent", "system")
EVENTS_POLL_SECONDS = 1.0
# A stream ends after this and the browser reconnects: no proxy sees an idle connection, and a shutdown (which waits
# for open responses) never waits longer.
EVENTS_STREAM_SECONDS = 15.0


def _changes_after(sessions, conversation_id: str, seq: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Messages numbered after `seq`, and the conversation's state with its ticket, as plain data."""
    with sessions() as session:
        conversation = get_conversation(session, conversation_id)
        messages = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.seq > seq)
            .order_by(Message.seq)
            .limit(200)
        )
        entries = [
            {"seq": m.seq, "sender": m.sender, "text": m.text, "at": m.created_at.isoformat(), **m.payload}
            for m in messages
        ]
        ticket = _brief(_latest_ticket(conversation))
        state = {"state": conversation.state, "ticket": ticket.model_dump() if ticket else None}
        return entries, state


def _event(name: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/{conversation_id}/events", response_class=StreamingResponse)
async def conversation_events(
    conversation_id: str,
    request: Request,
    credentials: CustomerCredentials,
    after: Annotated[int, Query(ge=0, description="Send only messages numbered after this one.")] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Live updates as server-sent events: `message` for each new message (an agent's reply, say; its `id` is the
    message's number) and `state` whenever who is talking or the ticket changes. The stream ends after a short while;
    reconnect with `?after=<last id>` (or the `Last-Event-ID` header) to go on where it stopped."""
    sessions = request.app.state.sessions
    with sessions() as session:
        _authorized(session, conversation_id, credentials)
    seen = int(last_event_id) if last_event_id and last_event_id.isdigit() else after

    async def stream() -> AsyncIterator[str]:
        nonlocal seen
        yield "retry: 2000\n\n"
        last_state: dict[str, Any] | None = None
        started = time.monotonic()
        while time.monotonic() - started < EVENTS_STREAM_SECONDS and not await request.is_disconnected():
            entries, state = await run_in_threadpool(_changes_after, sessions, conversation_id, seen)
            for entry in entries:
                seen = entry["seq"]
                if entry["sender"] in CUSTOMER_VISIBLE_SENDERS:
                    yield _event("message", entry, seen)
            if state != last_state:
                last_state = state
                yield _event("state", state)
            await asyncio.sleep(EVENTS_POLL_SECONDS)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
