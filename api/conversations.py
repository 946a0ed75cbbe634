"""The customer's side over HTTP: open a conversation, send messages, follow it live, hand it to a person.

Each route reads the request, checks the customer's token is there, and calls one use case of
`usecases.conversations.Conversations`; what a use case refuses becomes an HTTP answer in api/errors.py."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import bearer, bearer_token
from api.deps import AddressDep, ConversationsDep
from api.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationOut,
    FormOut,
    HandoffIn,
    LanguageOut,
    MessageIn,
    MessagesOut,
    TicketBrief,
)
from kb.lang import SUPPORTED_LANGUAGES
from usecases import form
from usecases.texts import LANGUAGE_NAMES
from usecases.views import Reply

# Conversation ids are 32 hex digits (the column holds 40): a longer one is refused before anything looks it up.
ConversationId = Annotated[
    str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$", description="The conversation's id (letters and digits).")
]
router = APIRouter(prefix="/api/v1/conversations", tags=["customer"])
form_router = APIRouter(prefix="/api/v1", tags=["customer"])


def customer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    return bearer_token(credentials)


CustomerToken = Annotated[str, Depends(customer_token)]


def _out(reply: Reply) -> MessagesOut:
    return MessagesOut.model_validate(reply.model_dump())


@router.post("", status_code=201, response_model=ConversationCreated)
def create_conversation(
    body: ConversationCreate, conversations: ConversationsDep, address: AddressDep
) -> ConversationCreated:
    """Start a chat. Keep the returned token: it is the only key to this conversation.

    With the host site's `customer_token` the conversation is a known customer's: they are not asked for their name
    and email, and the routing rules read their plan and attributes. A token that cannot be trusted (malformed,
    expired, another secret or algorithm than HS256) is a 401 saying why, and no conversation is opened."""
    opened = conversations.open(
        lang=body.lang, address=address, name=body.name, email=body.email, customer_token=body.customer_token
    )
    return ConversationCreated(id=opened.id, token=opened.token, state=opened.state, known=opened.known)


@form_router.get("/handoff-form", response_model=FormOut)
def get_form(lang: Annotated[str, Query(max_length=5)] = "en") -> FormOut:
    """The contact form a handoff collects: its fields, what the bot asks for each in chat, in `lang`, and how
    often the bot asks again before it goes on without a field."""
    return FormOut.model_validate(form.describe(lang))


@form_router.get("/languages", response_model=list[LanguageOut])
def get_languages() -> list[LanguageOut]:
    """The languages a conversation may be in, each named in itself (English, 日本語, 한국어): what a client offers
    the customer to choose from."""
    return [LanguageOut(code=code, name=LANGUAGE_NAMES[code][code]) for code in SUPPORTED_LANGUAGES]


@router.post("/{conversation_id}/messages", response_model=MessagesOut)
async def post_message(
    conversation_id: ConversationId,
    body: MessageIn,
    conversations: ConversationsDep,
    token: CustomerToken,
    address: AddressDep,
) -> MessagesOut:
    """Send the customer's message. It is stored before anything else, so nothing is lost if the bot fails.

    Email addresses, phone numbers and secrets are removed from what is stored. With a `client_message_id`, sending
    the same message again (a retry after a lost connection) is safe: it gets the replies to the first send, and the
    message is neither stored nor answered twice."""
    return _out(await conversations.receive(conversation_id, token, body.text, body.client_message_id, address))


@router.get("/{conversation_id}", response_model=ConversationOut)
def get_conversation_view(
    conversation_id: ConversationId, conversations: ConversationsDep, token: CustomerToken
) -> ConversationOut:
    """The conversation so far: every message, who is talking (bot or agent), and the ticket's status."""
    view = conversations.view(conversation_id, token)
    ticket = TicketBrief.model_validate(view.ticket.model_dump()) if view.ticket else None
    return ConversationOut(id=view.id, state=view.state, lang=view.lang, transcript=view.transcript, ticket=ticket)


# What the customer may see in the live stream (anything else, such as an agent's internal note, never goes out).
CUSTOMER_VISIBLE_SENDERS = ("customer", "bot", "agent", "system")
EVENTS_POLL_SECONDS = 1.0
MAX_EVENT_ID = 2**53 - 1  # message numbers are integers JavaScript holds exactly (and the database stores)
# A stream ends after this and the browser reconnects: no proxy sees an idle connection, and a shutdown (which waits
# for open responses) never waits longer.
EVENTS_STREAM_SECONDS = 15.0


def _event(name: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/{conversation_id}/events", response_class=StreamingResponse)
async def conversation_events(
    conversation_id: ConversationId,
    request: Request,
    conversations: ConversationsDep,
    token: CustomerToken,
    after: Annotated[int, Query(ge=0, le=MAX_EVENT_ID, description="Send only messages numbered after this one.")] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Live updates as server-sent events: `message` for each new message (an agent's reply, say; its `id` is the
    message's number) and `state` whenever who is talking or the ticket changes. The stream ends after a short while;
    reconnect with `?after=<last id>` (or the `Last-Event-ID` header) to go on where it stopped."""
    conversations.authorize(conversation_id, token)
    # a header the browser echoes back: one that is not a message number this server could have sent is ignored
    valid_header = last_event_id and last_event_id.isdigit() and int(last_event_id) <= MAX_EVENT_ID
    seen = int(last_event_id) if valid_header else after

    async def stream() -> AsyncIterator[str]:
        nonlocal seen
        yield "retry: 2000\n\n"
        last_state: dict[str, Any] | None = None
        started = time.monotonic()
        while time.monotonic() - started < EVENTS_STREAM_SECONDS and not await request.is_disconnected():
            changes = await run_in_threadpool(conversations.changes_after, conversation_id, seen)
            for entry in changes.messages:
                seen = entry["seq"]
                if entry["sender"] in CUSTOMER_VISIBLE_SENDERS:
                    yield _event("message", entry, seen)
            ticket = (
                TicketBrief.model_validate(changes.ticket.model_dump()).model_dump(mode="json")
                if changes.ticket
                else None
            )
            state = {"state": changes.state, "ticket": ticket}
            if state != last_state:
                last_state = state
                yield _event("state", state)
            await asyncio.sleep(EVENTS_POLL_SECONDS)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.post("/{conversation_id}/handoff", response_model=MessagesOut)
def hand_off_conversation(
    conversation_id: ConversationId,
    body: HandoffIn,
    conversations: ConversationsDep,
    token: CustomerToken,
    address: AddressDep,
) -> MessagesOut:
    """Hand the conversation to a person with the customer's details: the form the API offers when the bot is
    unavailable, open to any client. Makes one ticket, routed, prioritised and with its SLA clock running, exactly as
    the bot's handoff does; sending it again returns the same ticket."""
    values = body.model_dump(exclude={"reason"})
    return _out(conversations.submit_details(conversation_id, token, values, body.reason, address))
