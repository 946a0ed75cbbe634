"""The customer's side: open a conversation, send messages (stored first, then the bot answers), read it back."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import bearer, bearer_token, unauthorized
from api.fallback import answer_without_bot
from api.rasa_client import RasaUnavailable, to_messages
from api.ratelimit import client_address
from api.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationOut,
    HandoffIn,
    MessageIn,
    MessagesOut,
    TicketBrief,
)
from api.texts import BOT_UNAVAILABLE, WAITING_FOR_AGENT, bot_intents, bot_says, say
from bot.actions.actions import email_in, name_in
from bot.actions.texts import queue_name, reply_expectation
from handoff import ArticleTried, HandoffRequest
from handoff.incidents import open_incident_of
from handoff.models import Conversation, Message, Ticket
from handoff.service import (
    ConversationNotFound,
    get_conversation,
    message_with_key,
    open_conversation,
    open_ticket,
    record_message,
    replies_to,
    token_matches,
    transcript,
)
from kb.lang import detect_language
from privacy import redact
from privacy.redact import EMAIL as EMAIL_REMOVED

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


# What the stored transcript shows for the customer's answer to the handoff form's name question; an answer the
# form does not take for a name (`name_in`: a question, say) is not one, and is stored as any other message.
NAME_GIVEN_IN_FORM = "[name given in the form]"
STORE_ATTEMPTS = 3  # a concurrent send may take the same key or the same message number: look again, then retry
REPLAY_POLL_SECONDS = 0.25
T = TypeVar("T")


def _retrying(store: Callable[[], T]) -> T:
    """Run `store` (one transaction) again when a concurrent send takes its key or a message's number first."""
    for _ in range(STORE_ATTEMPTS - 1):
        try:
            return store()
        except IntegrityError:
            pass
    return store()


def _asked_field(session: Session, conversation_id: str, before_seq: int | None = None) -> str | None:
    """The contact detail the bot's latest message asked for, if it did: the `form_field` its reply carries
    (bot/domain.yml, the handoff form's questions)."""
    query = select(Message).where(Message.conversation_id == conversation_id, Message.sender == "bot")
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    latest = session.scalar(query.order_by(Message.seq.desc()).limit(1))
    return latest.payload.get("form_field") if latest is not None else None


def _answers_contact_field(text: str, asked: str | None) -> bool:
    """Whether `text` answers the form's name or email question (`asked`), rather than being a message of its own."""
    if asked == "customer_name":
        return name_in(text) is not None
    return asked == "customer_email" and not text.startswith("/")


def customer_question(text: str) -> str | None:
    """A customer's stored message as a question (spaces tidied), or None if it is not one: a button's /payload, or
    only the placeholder left of a contact detail (the answer to the form's name or email question)."""
    if text.startswith("/") or not re.search(r"\w", text.replace(NAME_GIVEN_IN_FORM, "").replace(EMAIL_REMOVED, "")):
        return None
    return " ".join(text.split())


PAYLOAD = re.compile(r"/(\w+)(\{.*\})?", re.DOTALL)


def typed_text(text: str) -> str:
    """The message as the bot must read it: a button's /payload (an intent of the bot's domain) as it is; anything
    else typed with a leading '/' without it, so no customer can send Rasa a command (/restart, /session_start).

    >>> typed_text('/choose_article{"article_id":"x"}'), typed_text("/restart"), typed_text("//")
    ('/choose_article{"article_id":"x"}', 'restart', '?')
    """
    match = PAYLOAD.fullmatch(text)
    if not text.startswith("/") or (match and match.group(1) in bot_intents()):
        return text
    return text.lstrip("/").strip() or "?"


def _texts_for(text: str, asked: str | None) -> tuple[str, str]:
    """What to store of the customer's message, and what to tell the bot.

    Secrets go nowhere. Contact details live only in the fields meant for them: the answer to the form's name or
    email question goes to the bot as typed (the form fills the ticket's contact fields from it) and is stored as a
    placeholder, or with the address removed; any other message goes to the bot as it is stored, so descriptions,
    questions and suggestions made from it carry no contact details either."""
    text = typed_text(text)
    stored = redact(text).text
    if not _answers_contact_field(text, asked):
        return stored, stored
    if asked == "customer_email" and (address := email_in(stored)):  # one the redaction patterns do not know
        stored = stored.replace(address, EMAIL_REMOVED)
    return NAME_GIVEN_IN_FORM if asked == "customer_name" else stored, redact(text, contact_details=False).text


@dataclass
class _Received:
    """A customer's message once stored, or found stored already (`duplicate`): what happens next depends on it."""

    message_id: int
    duplicate: bool = False
    bot_text: str = ""
    question: str = ""  # what to search and prefill if the bot fails: as stored, and nothing for a contact detail
    lang: str = "en"
    answered: MessagesOut | None = None  # an agent has the conversation: the notice that they will reply


def _receive(sessions, conversation_id: str, body: MessageIn, credentials, limits) -> _Received:
    """Store the customer's message (committed), unless its key shows it is a retry of one stored already."""
    with sessions() as session:
        conversation = _authorized(session, conversation_id, credentials)
        key = body.client_message_id
        first = message_with_key(session, conversation.id, key) if key else None
        if first is not None:
            asked = _asked_field(session, conversation.id, before_seq=first.seq)
            if _texts_for(body.text, asked)[0] != first.text:
                raise HTTPException(
                    status_code=409,
                    detail=f"client_message_id {key!r} was already used for a different message in this "
                    "conversation: give each new message a new key, and reuse a key only to retry that same message",
                )
            return _Received(first.id, duplicate=True)
        limits["messages_per_conversation"].check(conversation.id, "messages in this conversation")
        asked = _asked_field(session, conversation.id)
        stored, bot_text = _texts_for(body.text, asked)
        conversation.lang = detect_language(bot_text, default=conversation.lang) or conversation.lang
        message = record_message(session, conversation, "customer", stored, client_message_id=key)
        session.flush()  # a concurrent send with the same key fails here (IntegrityError)
        if conversation.state == "resolved":
            conversation.state = "bot"
        question = "" if _answers_contact_field(typed_text(body.text), asked) else stored
        received = _Received(message.id, bot_text=bot_text, question=question, lang=conversation.lang)
        ticket = open_ticket(session, conversation.id) if conversation.state != "bot" else None
        if ticket is not None:
            reply = say(WAITING_FOR_AGENT, conversation.lang, ticket=ticket.reference)
            record_message(session, conversation, "system", reply, in_reply_to=message.id)
            received.answered = MessagesOut(messages=[{"text": reply}], state=conversation.state, ticket=_brief(ticket))
        session.commit()
        return received


async def _replies_to_first_send(sessions, conversation_id: str, message_id: int, wait_seconds: float) -> MessagesOut:
    """What the first send of a retried message was answered; if that send is still waiting for the bot, its
    replies once stored (for up to `wait_seconds`, then an apology: the message is saved)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with sessions() as session:
            replies = replies_to(session, session.get(Message, message_id))
            if replies or time.monotonic() >= deadline:
                conversation = get_conversation(session, conversation_id)
                messages = [{**m.payload, "text": m.text} for m in replies]
                return MessagesOut(
                    messages=messages or [{"text": say(BOT_UNAVAILABLE, conversation.lang)}],
                    state=conversation.state,
                    ticket=_brief(_latest_ticket(conversation)),
                )
        await asyncio.sleep(REPLAY_POLL_SECONDS)


def _form_field(replies: list[dict[str, Any]]) -> str | None:
    """Which of the handoff form's contact details the bot's replies ask for, if any."""
    customs = (r.get("custom") for r in replies)
    return next((c["form_field"] for c in customs if isinstance(c, dict) and c.get("form_field")), None)


@router.post("/{conversation_id}/messages", response_model=MessagesOut)
async def post_message(
    conversation_id: str, body: MessageIn, request: Request, credentials: CustomerCredentials
) -> MessagesOut:
    """Send the customer's message. It is stored before anything else, so nothing is lost if the bot fails.

    Email addresses, phone numbers and secrets are removed from what is stored. With a `client_message_id`, sending
    the same message again (a retry after a lost connection) is safe: it gets the replies to the first send, and the
    message is neither stored nor answered twice."""
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
    received = _retrying(lambda: _receive(sessions, conversation_id, body, credentials, limits))
    if received.duplicate:
        wait = settings.rasa_timeout_seconds + 5
        return await _replies_to_first_send(sessions, conversation_id, received.message_id, wait)
    if received.answered is not None:
        return received.answered

    text, lang = received.bot_text, received.lang
    if received.question and not text.startswith("/"):  # the bot will likely search it: embed it meanwhile
        request.app.state.kb.prepare_search(text)
    try:
        replies = await request.app.state.rasa.send(conversation_id, text, {"lang": lang})
        messages = to_messages(replies)
    except RasaUnavailable:
        replies, messages = [], []
    if messages and (field := _form_field(replies)):
        messages[-1]["form_field"] = field  # stored with it: the next message is the answer (`_asked_field`)
    if not messages:  # every rule ends in a reply, so silence means a failed action: never leave the customer hanging
        messages = answer_without_bot(
            request.app.state.kb, received.question, lang, settings.base_url, conversation_id=conversation_id
        )

    def store_replies() -> MessagesOut:
        with sessions() as session:
            conversation = get_conversation(session, conversation_id)
            for message in messages:
                extra = {k: v for k, v in message.items() if k != "text"}
                record_message(session, conversation, "bot", message["text"], extra, in_reply_to=received.message_id)
            session.commit()
            return MessagesOut(messages=messages, state=conversation.state, ticket=_brief(_latest_ticket(conversation)))

    return _retrying(store_replies)


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
MAX_EVENT_ID = 2**53 - 1  # message numbers are integers JavaScript holds exactly (and the database stores)
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
    after: Annotated[int, Query(ge=0, le=MAX_EVENT_ID, description="Send only messages numbered after this one.")] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Live updates as server-sent events: `message` for each new message (an agent's reply, say; its `id` is the
    message's number) and `state` whenever who is talking or the ticket changes. The stream ends after a short while;
    reconnect with `?after=<last id>` (or the `Last-Event-ID` header) to go on where it stopped."""
    sessions = request.app.state.sessions
    with sessions() as session:
        _authorized(session, conversation_id, credentials)
    # a header the browser echoes back: one that is not a message number this server could have sent is ignored
    valid_header = last_event_id and last_event_id.isdigit() and int(last_event_id) <= MAX_EVENT_ID
    seen = int(last_event_id) if valid_header else after

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


# The check for an open ticket and the insert of a new one run under this lock (and, on PostgreSQL, a lock on the
# conversation's row), so a double click or a retried request still makes one ticket.
_HANDOFF_LOCK = threading.Lock()
MAX_ARTICLES_TRIED = 10


def _articles_tried(kb, entries: list[dict[str, Any]], question: str, lang: str) -> list[ArticleTried]:
    """What the customer has already seen or could have: the articles shown in the conversation, then the knowledge
    base's best candidates for their question, as the bot's `action_answer_from_kb` records them."""
    tried: dict[str, ArticleTried] = {}
    for card in (c for e in entries if e["sender"] == "bot" for c in e.get("articles") or []):
        view = kb.articles.get(card.get("id", ""))
        if view is not None:
            tried[view.id] = ArticleTried(
                article_id=view.id, title=view.title, score=card.get("score", 0.0), topic=view.topic
            )
    for candidate in kb.search(question, lang=lang).candidates[:3]:
        article = candidate.article
        tried.setdefault(
            article.id,
            ArticleTried(
                article_id=article.id, title=article.title, score=round(candidate.confidence, 4), topic=article.topic
            ),
        )
    return list(tried.values())[-MAX_ARTICLES_TRIED:]


def _ticket_created(service, session: Session, ticket: Ticket, lang: str) -> list[str]:
    """What the bot says when it creates a ticket: the reference, the team and when to expect a reply."""
    texts = [
        bot_says(
            "utter_ticket_created",
            lang,
            ticket_ref=ticket.reference,
            queue_name=queue_name(ticket.queue, lang),
            reply_expectation=reply_expectation(service.reply_window(ticket), lang),
        )
    ]
    if open_incident_of(session, ticket.id) is not None:
        texts.append(bot_says("utter_known_incident", lang))
    return texts


@router.post("/{conversation_id}/handoff", response_model=MessagesOut)
def hand_off_conversation(
    conversation_id: str, body: HandoffIn, request: Request, credentials: CustomerCredentials
) -> MessagesOut:
    """Hand the conversation to a person with the customer's details: the form the API offers when the bot is
    unavailable, open to any client. Makes one ticket, routed, prioritised and with its SLA clock running, exactly as
    the bot's handoff does; sending it again returns the same ticket."""
    request.app.state.limits["messages_per_address"].check(client_address(request), "messages from this address")
    sessions, service = request.app.state.sessions, request.app.state.handoff
    with sessions() as session:
        lang = _authorized(session, conversation_id, credentials).lang
        entries = transcript(session, conversation_id)
    description = redact(body.description).text
    asked = [q for e in entries if e["sender"] == "customer" and (q := customer_question(e["text"]))]
    question = asked[-1] if asked and body.reason != "asked_for_person" else None
    handoff = HandoffRequest(
        conversation_id=conversation_id,
        reason=body.reason,
        customer_name=body.name,
        customer_email=body.email,
        description=f"{description}\nOrder: {body.order_id}" if body.order_id else description,
        question=question,
        lang=lang,
        articles_tried=_articles_tried(request.app.state.kb, entries, question or description, lang),
    )

    def store() -> MessagesOut:
        with sessions() as session:
            conversation = session.get(Conversation, conversation_id, with_for_update=True)
            ticket = open_ticket(session, conversation_id)
            if ticket is None:
                ticket = service.hand_off(session, handoff, actor="customer")
                session.flush()
                texts = _ticket_created(service, session, ticket, lang)
                for text in texts:
                    record_message(session, conversation, "system", text)
                session.commit()
            else:  # sent again: the same ticket, and nothing new in the conversation
                texts = _ticket_created(service, session, ticket, lang)
            return MessagesOut(messages=[{"text": t} for t in texts], state=conversation.state, ticket=_brief(ticket))

    with _HANDOFF_LOCK:
        return _retrying(store)
