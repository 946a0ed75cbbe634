"""The customer's side of a conversation, on any channel: open it, send a message (stored first, then answered
by the assistant, or by the knowledge base when the assistant cannot), hand it to a person, read it back.

A customer's turn, top to bottom: `Conversations.receive` stores the message and prepares its search
(`Answers.prepare`), then asks the `Assistant` port (Rasa, through api/rasa_client.py); Rasa calls its custom
actions (bot/actions), which answer through `Answers` and hand off through `HandOff`; the replies come back here
and are stored."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.clock import as_utc
from handoff.models import Conversation, Message
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
from usecases.answers import Answers
from usecases.context import Context
from usecases.customers import Customers, CustomerTokenKeys
from usecases.errors import Conflict, Invalid, NotFound, Unauthorized
from usecases.fallback import answer_without_assistant
from usecases.form import answers, contact_field, stored_answer
from usecases.handoff import HandOff, HandoffDetails, last_ticket_at
from usecases.limits import Limits
from usecases.notices import ADDED_TO_TICKET, NOTICE
from usecases.ports import Assistant, AssistantUnavailable
from usecases.said import customer_words, problem_told
from usecases.store import retrying
from usecases.texts import BOT_UNAVAILABLE, WAITING_FOR_AGENT, say
from usecases.views import Reply, TicketBrief, brief

PAYLOAD = re.compile(r"/(\w+)(\{.*\})?", re.DOTALL)
REPLAY_POLL_SECONDS = 0.25
# A retried message waits this much longer than the assistant may take for the first send's replies.
REPLAY_GRACE_SECONDS = 5.0
MAX_CHANGES = 200  # messages one call of `changes_after` returns; the caller asks again for the rest
# A customer's message stored while a person has the conversation carries this in its payload: neither the bot nor
# the assistant answers it, and a retry of it gets at once what it got (maybe nothing).
FOR_PERSON = "for_person"


def typed_text(text: str, commands: frozenset[str]) -> str:
    """The message as the assistant must read it: a button's /payload naming one of its `commands` as it is;
    anything else typed with a leading '/' without it, so no customer can send the assistant a command of its own
    (/restart, /session_start).

    >>> commands = frozenset({"choose_article"})
    >>> typed_text('/choose_article{"article_id":"x"}', commands), typed_text("/restart", commands)
    ('/choose_article{"article_id":"x"}', 'restart')
    >>> typed_text("//", commands)
    '?'
    """
    match = PAYLOAD.fullmatch(text)
    if not text.startswith("/") or (match and match.group(1) in commands):
        return text
    return text.lstrip("/").strip() or "?"


@dataclass(frozen=True)
class Opened:
    id: str
    token: str
    state: str
    known: bool = False  # opened with a verified customer token


@dataclass(frozen=True)
class Contact:
    """Who the customer said they are when the conversation was opened (None where they did not say)."""

    name: str | None
    email: str | None


@dataclass(frozen=True)
class ConversationView:
    id: str
    state: str
    lang: str
    transcript: list[dict[str, Any]]
    ticket: TicketBrief | None


@dataclass(frozen=True)
class Changes:
    """Messages numbered after the one asked for, and who is talking now with the ticket."""

    messages: list[dict[str, Any]]
    state: str
    ticket: TicketBrief | None


@dataclass
class _Received:
    """A customer's message once stored, or found stored already (`duplicate`): what happens next depends on it."""

    message_id: int
    duplicate: bool = False
    bot_text: str = ""
    question: str = ""  # what to search and prefill if the assistant fails: as stored, nothing for a contact detail
    lang: str = "en"
    answered: Reply | None = None  # a person has the conversation: what the customer gets instead (maybe nothing)


class Conversations:
    def __init__(
        self,
        ctx: Context,
        assistant: Assistant,
        answers: Answers,
        hand_off: HandOff,
        limits: Limits,
        *,
        max_message_chars: int,
        assistant_timeout: float,
        customers: Customers | None = None,
    ) -> None:
        self.ctx, self.assistant, self.answers, self.hand_off, self.limits = ctx, assistant, answers, hand_off, limits
        self.max_message_chars, self.assistant_timeout = max_message_chars, assistant_timeout
        self.customers = customers or Customers(CustomerTokenKeys(), ctx.clock.now)

    # ---- open and read ----

    def open(
        self,
        *,
        lang: str,
        address: str,
        channel: str = "web",
        name: str | None = None,
        email: str | None = None,
        customer_token: str | None = None,
    ) -> Opened:
        """Start a conversation; the token returned is the only key to it.

        With a `customer_token` (the host site's, `usecases.customers`) the conversation is a known customer's: it
        holds the token's verified claims, which come before `name` and `email` (those fill only what the token
        does not say). A token that cannot be trusted is refused (Unauthorized, or Invalid for its claims), and no
        conversation is opened: the client may open one without it."""
        self.limits.conversations_per_address.check(address, "new conversations")
        known = self.customers.verify(customer_token) if customer_token is not None else None
        with self.ctx.sessions() as session:
            conversation, token = open_conversation(
                session,
                lang=lang,
                channel=channel,
                customer_name=(known and known.name) or name,
                customer_email=(known and known.email) or email,
                customer_attributes=known.routing_attributes() if known else None,
                customer_id=known.sub if known else None,
                customer_site=known.iss if known else None,
            )
            session.commit()
            return Opened(id=conversation.id, token=token, state=conversation.state, known=known is not None)

    def _authorized(self, session: Session, conversation_id: str, token: str) -> Conversation:
        try:
            conversation = get_conversation(session, conversation_id)
        except ConversationNotFound as error:
            raise NotFound(str(error)) from error
        if not token_matches(conversation, token):
            raise Unauthorized("this token does not belong to this conversation")
        return conversation

    def authorize(self, conversation_id: str, token: str) -> None:
        """NotFound or Unauthorized unless `token` opens this conversation."""
        with self.ctx.sessions() as session:
            self._authorized(session, conversation_id, token)

    def problem_told(self, conversation_id: str, *, latest_asks: bool = False) -> str | None:
        """What the customer has told of their problem since their latest ticket, in their own words (see
        `usecases.said.problem_told`), so a handoff does not ask for it again."""
        with self.ctx.sessions() as session:
            entries = transcript(session, conversation_id)
            words = customer_words(entries, since=last_ticket_at(session, conversation_id))
            return problem_told(words, latest_asks=latest_asks)

    def known_contact(self, conversation_id: str) -> Contact:
        """The name and email the conversation already holds, so the form does not ask for them again."""
        with self.ctx.sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return Contact(None, None)
            return Contact(conversation.customer_name, conversation.customer_email)

    def _brief(self, conversation: Conversation) -> TicketBrief | None:
        latest = conversation.tickets[-1] if conversation.tickets else None
        return brief(latest, self.ctx.policies, conversation.lang)

    def view(self, conversation_id: str, token: str) -> ConversationView:
        """The conversation so far: every message, who is talking, and the ticket."""
        with self.ctx.sessions() as session:
            conversation = self._authorized(session, conversation_id, token)
            return ConversationView(
                id=conversation.id,
                state=conversation.state,
                lang=conversation.lang,
                transcript=transcript(session, conversation.id),
                ticket=self._brief(conversation),
            )

    def changes_after(self, conversation_id: str, seq: int) -> Changes:
        """Messages numbered after `seq` (at most MAX_CHANGES), the state and the ticket."""
        with self.ctx.sessions() as session:
            conversation = get_conversation(session, conversation_id)
            messages = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.seq > seq)
                .order_by(Message.seq)
                .limit(MAX_CHANGES)
            )
            entries = [
                {"seq": m.seq, "sender": m.sender, "text": m.text, "at": as_utc(m.created_at).isoformat(), **m.payload}
                for m in messages
            ]
            return Changes(messages=entries, state=conversation.state, ticket=self._brief(conversation))

    # ---- a customer's turn ----

    async def receive(
        self, conversation_id: str, token: str, text: str, client_message_id: str | None, address: str
    ) -> Reply:
        """Store the customer's message, then answer it. Nothing is lost if the assistant fails: the message is
        stored first and the knowledge base answers, or the details form is offered. While a person has the
        conversation neither answers: the message goes to the ticket, acknowledged at most once in a row
        (`_acknowledge`). Secrets are removed from what is stored; with a `client_message_id`, sending the same
        message again gets the first send's replies and is neither stored nor answered twice."""
        if len(text) > self.max_message_chars:
            raise Invalid(
                f"the message is {len(text)} characters long; the limit is {self.max_message_chars}: "
                "please shorten it or split it into several messages"
            )
        self.limits.messages_per_address.check(address, "messages from this address")
        received = retrying(lambda: self._store_message(conversation_id, token, text, client_message_id))
        if received.duplicate:
            return await self._replies_to_first_send(conversation_id, received.message_id)
        if received.answered is not None:
            return received.answered
        if received.question and not received.bot_text.startswith("/"):  # the assistant will likely search it
            self.answers.prepare(received.bot_text)
        try:
            messages = await self.assistant.reply(conversation_id, received.bot_text, received.lang)
        except AssistantUnavailable:
            messages = []
        if not messages:  # every rule ends in a reply, so silence means a failed action: never leave them hanging
            contact = self.known_contact(conversation_id)
            messages = answer_without_assistant(
                self.ctx.kb,
                received.question,
                received.lang,
                self.ctx.public_url,
                conversation_id=conversation_id,
                known={"name": contact.name, "email": contact.email},
            )
        return retrying(lambda: self._store_replies(conversation_id, received.message_id, messages))

    def _asked_field(self, session: Session, conversation_id: str, before_seq: int | None = None) -> str | None:
        """The form field the bot's latest message asked for, if it did (its `form_field`)."""
        query = select(Message).where(Message.conversation_id == conversation_id, Message.sender == "bot")
        if before_seq is not None:
            query = query.where(Message.seq < before_seq)
        latest = session.scalar(query.order_by(Message.seq.desc()).limit(1))
        return latest.payload.get("form_field") if latest is not None else None

    def _texts_for(self, text: str, asked: str | None) -> tuple[str, str, bool]:
        """What to store of the customer's message, what to tell the assistant, and whether it answers a contact
        question.

        Secrets go nowhere. Contact details live only in the fields meant for them: the answer to the form's name
        or email question goes to the assistant as typed (the form fills the ticket's contact fields from it) and
        is stored as a placeholder, or with the address removed; any other message goes to the assistant as it is
        stored, so descriptions, questions and suggestions made from it carry no contact details either."""
        text = typed_text(text, self.assistant.commands())
        stored = redact(text).text
        field = contact_field(asked)
        if field is None or not answers(field, text):
            return stored, stored, False
        return stored_answer(field, stored), redact(text, contact_details=False).text, True

    def _store_message(self, conversation_id: str, token: str, text: str, key: str | None) -> _Received:
        with self.ctx.sessions() as session:
            conversation = self._authorized(session, conversation_id, token)
            first = message_with_key(session, conversation.id, key) if key else None
            if first is not None:
                asked = self._asked_field(session, conversation.id, before_seq=first.seq)
                if self._texts_for(text, asked)[0] != first.text:
                    raise Conflict(
                        f"client_message_id {key!r} was already used for a different message in this "
                        "conversation: give each new message a new key, and reuse a key only to retry that same message"
                    )
                return _Received(first.id, duplicate=True)
            self.limits.messages_per_conversation.check(conversation.id, "messages in this conversation")
            stored, bot_text, contact_answer = self._texts_for(text, self._asked_field(session, conversation.id))
            conversation.lang = detect_language(bot_text, default=conversation.lang) or conversation.lang
            if conversation.state == "resolved":
                conversation.state = "bot"
            ticket = open_ticket(session, conversation.id) if conversation.state != "bot" else None
            for_person = {FOR_PERSON: True} if ticket is not None else None
            message = record_message(session, conversation, "customer", stored, for_person, client_message_id=key)
            session.flush()  # a concurrent send with the same key fails here (IntegrityError)
            question = "" if contact_answer else stored
            received = _Received(message.id, bot_text=bot_text, question=question, lang=conversation.lang)
            if ticket is not None:
                received.answered = self._acknowledge(session, conversation, ticket.reference, message)
            session.commit()
            return received

    def _acknowledge(self, session: Session, conversation: Conversation, reference: str, message: Message) -> Reply:
        """What a customer's message gets while a person has the conversation: nothing from the bot, and at most
        the notice that it was added to the ticket.

        - `agent` (an agent claimed the ticket or replied): nothing at all; the message reaches the agent in the
          ticket's transcript, and the widget's banner already says a member of the team is with them.
        - `waiting_agent` (no agent yet, or escalated to another team): the notice, unless the last thing the
          customer was told is that same notice (`ADDED_TO_TICKET`), i.e. once per run of customer messages with
          nothing said to them in between. The first message after the handoff announcement or after a notice
          that the ticket moved to another team is acknowledged; a second one in a row is not."""
        brief_now = self._brief(conversation)
        if conversation.state != "waiting_agent" or self._acknowledged(session, conversation.id, message.seq):
            return Reply(messages=[], state=conversation.state, ticket=brief_now)
        payload = {NOTICE: ADDED_TO_TICKET}
        text = say(WAITING_FOR_AGENT, conversation.lang, ticket=reference)
        record_message(session, conversation, "system", text, payload, in_reply_to=message.id)
        return Reply(messages=[{**payload, "text": text}], state=conversation.state, ticket=brief_now)

    def _acknowledged(self, session: Session, conversation_id: str, before_seq: int) -> bool:
        """Whether the last message said to the customer before `before_seq` is the added-to-your-ticket notice."""
        said = session.scalar(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.seq < before_seq,
                Message.sender.in_(("bot", "agent", "system")),
            )
            .order_by(Message.seq.desc())
            .limit(1)
        )
        return said is not None and said.payload.get(NOTICE) == ADDED_TO_TICKET

    def _store_replies(self, conversation_id: str, message_id: int, messages: list[dict[str, Any]]) -> Reply:
        with self.ctx.sessions() as session:
            conversation = get_conversation(session, conversation_id)
            for message in messages:
                extra = {k: v for k, v in message.items() if k != "text"}
                record_message(session, conversation, "bot", message["text"], extra, in_reply_to=message_id)
            session.commit()
            return Reply(messages=messages, state=conversation.state, ticket=self._brief(conversation))

    async def _replies_to_first_send(self, conversation_id: str, message_id: int) -> Reply:
        """What the first send of a retried message was answered; if that send is still waiting for the assistant,
        its replies once stored (then an apology: the message is saved)."""
        deadline = time.monotonic() + self.assistant_timeout + REPLAY_GRACE_SECONDS
        while True:
            with self.ctx.sessions() as session:
                first = session.get(Message, message_id)
                replies = replies_to(session, first)
                if replies or first.payload.get(FOR_PERSON) or time.monotonic() >= deadline:
                    conversation = get_conversation(session, conversation_id)
                    messages = [{**m.payload, "text": m.text} for m in replies]
                    if not messages and not first.payload.get(FOR_PERSON):
                        messages = [{"text": say(BOT_UNAVAILABLE, conversation.lang)}]
                    return Reply(
                        messages=messages,
                        state=conversation.state,
                        ticket=self._brief(conversation),
                    )
            await asyncio.sleep(REPLAY_POLL_SECONDS)

    # ---- the details form ----

    def submit_details(
        self, conversation_id: str, token: str, values: dict[str, str | None], reason: str, address: str
    ) -> Reply:
        """Hand the conversation to a person with the details the customer filled in (the form offered while the
        assistant is unavailable; `values` by the form's field names, already checked). Sending it again returns
        the same ticket."""
        self.limits.messages_per_address.check(address, "messages from this address")
        with self.ctx.sessions() as session:
            self._authorized(session, conversation_id, token)
            words = customer_words(transcript(session, conversation_id), since=last_ticket_at(session, conversation_id))
        details = HandoffDetails(
            reason=reason,
            description=values.get("description") or "",
            question=problem_told(words) if reason == "asked_for_person" else words[-1] if words else None,
            customer_name=values.get("name"),
            customer_email=values.get("email"),
            answers=values,
        )
        return self.hand_off(conversation_id, details, actor="customer").reply()
