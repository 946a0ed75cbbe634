"""Hand a conversation to a person: the one way a ticket is made, whichever channel asks (the bot's form, the
API's details form while the bot is unavailable, any later channel).

It alone decides what the ticket holds of what was tried (`articles_tried`), makes at most one open ticket per
conversation (asking again returns the same ticket and says nothing new), and words the announcement: the ticket,
the team, when to expect a reply, and any known incident it joined."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import ArticleTried, Conversation, HandoffRequest, Ticket
from handoff.clock import as_utc
from handoff.incidents import open_incident_of
from handoff.service import get_conversation, open_ticket, record_message, transcript
from privacy import redact
from usecases import form
from usecases.context import Context
from usecases.errors import NotFound
from usecases.said import customer_words, handoff_intent
from usecases.store import retrying
from usecases.texts import KNOWN_INCIDENT, TICKET_CREATED, reply_expectation, say
from usecases.views import Reply, TicketBrief, brief

# The ticket keeps the most recent of what the customer was shown or could have been.
MAX_ARTICLES_TRIED = 10
# The knowledge base's best candidates for the question join what was shown.
CANDIDATES_TRIED = 3
CHOSEN_ARTICLE = re.compile(r'/choose_article\{"article_id":"([^"]+)"\}')
# The check for an open ticket and the insert of a new one run under this lock (and, on PostgreSQL, a lock on the
# conversation's row), so a double click, a retried request or the bot and the API at once still make one ticket.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class HandoffDetails:
    """What the channel collected: why it hands off and what the customer told it. Texts are as the customer gave
    them; the use case redacts what it stores."""

    reason: str
    description: str
    question: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    answers: Mapping[str, str | None] = field(default_factory=dict)  # every form answer, by field name
    intent_confidence: float | None = None  # how sure the bot's classifier was that a person was asked for


@dataclass(frozen=True)
class Handed:
    """The ticket, what the customer is told of it, and whether this call made it (False: it was there already)."""

    ticket: TicketBrief
    texts: list[str]
    created: bool
    state: str

    def reply(self) -> Reply:
        return Reply(messages=[{"text": t} for t in self.texts], state=self.state, ticket=self.ticket)


def last_ticket_at(session: Session, conversation_id: str) -> datetime | None:
    """When the conversation's latest ticket was made: what the customer wrote before it belongs to that ticket."""
    latest = session.scalar(select(func.max(Ticket.created_at)).where(Ticket.conversation_id == conversation_id))
    return as_utc(latest) if latest else None


class HandOff:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __call__(self, conversation_id: str, details: HandoffDetails, actor: str, *, record: bool = True) -> Handed:
        """Make the conversation's ticket (committed) or return the open one; NotFound for an unknown conversation.

        The announcement is stored in the conversation with the ticket, in one transaction; a channel that stores
        the replies it sends (the bot's turn) passes `record=False`."""
        with self.ctx.sessions() as session:
            try:
                lang = get_conversation(session, conversation_id).lang
            except ValueError as error:
                raise NotFound(str(error)) from error
            entries = transcript(session, conversation_id)
            words = customer_words(entries, since=last_ticket_at(session, conversation_id))
        description = details.description + form.ticket_lines(details.answers)
        question = redact(details.question).text if details.question else None
        request = HandoffRequest(
            conversation_id=conversation_id,
            reason=details.reason,
            customer_name=details.customer_name,
            customer_email=details.customer_email,
            description=redact(description).text,
            question=question,
            lang=lang,
            intent=handoff_intent(words, details.reason),
            intent_confidence=details.intent_confidence,
            articles_tried=self.articles_tried(entries, question or redact(details.description).text, lang),
            customer_words=redact(" ".join(words)).text[:50_000],
        )
        with _LOCK:
            return retrying(lambda: self._store(request, actor, record))

    def _store(self, request: HandoffRequest, actor: str, record: bool) -> Handed:
        with self.ctx.sessions() as session:
            conversation = session.get(Conversation, request.conversation_id, with_for_update=True)
            assert conversation is not None  # read above; conversations are never deleted
            ticket = open_ticket(session, request.conversation_id)
            created = ticket is None
            if ticket is None:
                ticket = self.ctx.handoff.hand_off(session, request, actor=actor)
                session.flush()
                texts = self.announcement(session, ticket, request.lang)
                for text in texts if record else ():
                    record_message(session, conversation, "system", text)
                session.commit()
            else:
                texts = self.announcement(session, ticket, request.lang)
            ticket_brief = brief(ticket, self.ctx.policies, request.lang)
            assert ticket_brief is not None
            return Handed(ticket=ticket_brief, texts=texts, created=created, state=conversation.state)

    def announcement(self, session: Session, ticket: Ticket, lang: str) -> list[str]:
        """What the customer is told of their ticket: the reference, the team and when to expect a reply; and that
        the problem is known, when the ticket joined an open incident."""
        texts = [
            say(
                TICKET_CREATED,
                lang,
                ticket_ref=ticket.reference,
                queue_name=self.ctx.policies.queue_name(ticket.queue, lang),
                reply_expectation=reply_expectation(self.ctx.handoff.reply_window(ticket), lang),
            )
        ]
        if open_incident_of(session, ticket.id) is not None:
            texts.append(say(KNOWN_INCIDENT, lang))
        return texts

    def articles_tried(self, entries: list[dict[str, Any]], question: str, lang: str) -> list[ArticleTried]:
        """What the customer has already seen or could have: the articles shown or offered in the conversation,
        then the knowledge base's best candidates for their question, with their scores."""
        kb = self.ctx.kb
        candidates = kb.search(question, lang=lang).candidates[:CANDIDATES_TRIED] if question.strip() else []
        score_of = {c.article.id: round(c.confidence, 4) for c in candidates}
        tried: dict[str, ArticleTried] = {}
        for entry in (e for e in entries if e["sender"] == "bot"):
            shown = [(c.get("id", ""), c.get("score")) for c in entry.get("articles") or []]
            payloads = (CHOSEN_ARTICLE.fullmatch(b.get("payload", "")) for b in entry.get("buttons") or [])
            offered = [(m.group(1), None) for m in payloads if m]
            for article_id, score in shown + offered:
                view = kb.articles.get(article_id)
                if view is not None:
                    tried.pop(view.id, None)
                    tried[view.id] = ArticleTried(
                        article_id=view.id,
                        title=view.title,
                        score=score if score is not None else score_of.get(view.id, 0.0),
                        topic=view.topic,
                    )
        for candidate in candidates:
            article = candidate.article
            tried.setdefault(
                article.id,
                ArticleTried(
                    article_id=article.id, title=article.title, score=score_of[article.id], topic=article.topic
                ),
            )
        return list(tried.values())[-MAX_ARTICLES_TRIED:]
