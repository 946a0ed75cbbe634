"""The customer's side: open a conversation, send messages (stored first, then the bot answers), read it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from api.auth import bearer, bearer_token, unauthorized
from api.rasa_client import RasaUnavailable, to_messages
from api.schemas import ConversationCreate, ConversationCreated, ConversationOut, MessageIn, MessagesOut, TicketBrief
from api.texts import BOT_UNAVAILABLE, WAITING_FOR_AGENT, say
from handoff.models import Conversation, Ticket
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
    sessions = request.app.state.sessions
    with sessions() as session:
        conversation = _authorized(session, conversation_id, credentials)
        conversation.lang = detect_language(body.text, default=conversation.lang) or conversation.lang
        record_message(session, conversation, "customer", body.text)
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
        replies = await request.app.state.rasa.send(conversation_id, body.text, {"lang": lang})
        messages = to_messages(replies)
    except RasaUnavailable:
        messages = []
    if not messages:  # every rule ends in a reply, so silence means a failed action: never leave the customer hanging
        messages = [{"text": say(BOT_UNAVAILABLE, lang)}]

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
