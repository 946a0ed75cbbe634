"""Incidents: many similar tickets in a short time are one problem. They are grouped under one incident, their
priority goes up, each ticket's history says so, and the bot can tell the next customers it is a known issue.

Similarity comes from outside (handoff/ knows nothing of the knowledge base): pass an `embed` function (the API
passes `kb.embedder.embed_queries`: texts → L2-normalised vectors, compared by cosine), or nothing for a plain
word-overlap measure that needs no model.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from handoff.models import HandoffBase, Ticket, utcnow
from handoff.policies import Policies
from handoff.sla import record
from handoff.vocabulary import PRIORITIES

INCIDENT_STATUSES = ("open", "resolved")
MAX_CANDIDATES = 200  # recent tickets compared with a new one (the newest first)

Embed = Callable[[list[str]], Sequence[Sequence[float]]]
Similarity = Callable[[str, list[str]], list[float]]


class Incident(HandoffBase):
    """One problem many customers reported: its title comes from the first ticket's subject."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    ticket_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    resolution: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list[IncidentTicket]] = relationship(back_populates="incident", order_by="IncidentTicket.id")

    @property
    def tickets(self) -> list[Ticket]:
        return [link.ticket for link in self.links]


class IncidentTicket(HandoffBase):
    """A ticket's place in an incident (a ticket belongs to one incident at most)."""

    __tablename__ = "incident_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    incident: Mapped[Incident] = relationship(back_populates="links")
    ticket: Mapped[Ticket] = relationship()


class IncidentError(ValueError):
    """An incident operation that cannot be done; the message says why."""


class IncidentNotFound(IncidentError):
    """No incident has that id."""


class IncidentAlreadyResolved(IncidentError):
    """The incident is resolved already."""


_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _words(text: str) -> set[str]:
    """Lower-case words; runs of Japanese/Chinese/Korean characters give their character bigrams as well."""
    words: set[str] = set()
    for word in _WORD.findall(text.lower()):
        words.add(word)
        if _CJK.search(word) and len(word) > 1:
            words.update(word[i : i + 2] for i in range(len(word) - 1))
    return words


def word_overlap(text: str, others: list[str]) -> list[float]:
    """Jaccard similarity of the word sets (0–1): a fallback that needs no model."""
    mine = _words(text)
    scores = []
    for other in others:
        theirs = _words(other)
        union = mine | theirs
        scores.append(len(mine & theirs) / len(union) if union else 0.0)
    return scores


VECTORS_KEPT = 4 * MAX_CANDIDATES  # the vectors of recent tickets' texts, so each ticket's text is embedded once
WARM_BATCH = 16


class EmbeddingSimilarity:
    """Cosine similarity of sentence embeddings. Each text is embedded once: its vector (scaled to length 1) is
    kept for the next tickets, which are compared with the same recent ones (the `VECTORS_KEPT` most recently
    used). The comparison is one matrix product over the kept vectors, not a sum in Python: it runs for every new
    ticket, in the event loop, so it must stay a small fraction of a request (bench/results/load.md has the
    measurement)."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._kept: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # tickets may be created in several threads at once

    def vectors_of(self, texts: list[str]) -> np.ndarray:
        """The texts' vectors, each of length 1 (a zero vector stays zero), embedding only those not kept yet."""
        kept = self._kept
        with self._lock:
            new = list(dict.fromkeys(t for t in texts if t not in kept))
            for text, vector in zip(new, self._embed(new) if new else [], strict=True):
                vector = np.asarray(vector, dtype=np.float32)
                kept[text] = vector / (np.linalg.norm(vector) or 1.0)
            vectors = np.stack([kept[t] for t in texts])
            for text in texts:
                kept.move_to_end(text)
            while len(kept) > VECTORS_KEPT:
                kept.popitem(last=False)
            return vectors

    def __call__(self, text: str, others: list[str]) -> list[float]:
        if not others:
            return []
        vectors = self.vectors_of([text, *others])
        return (vectors[1:] @ vectors[0]).tolist()


def embedding_similarity(embed: Embed) -> EmbeddingSimilarity:
    """Cosine similarity of sentence embeddings from `embed`, each text embedded once."""
    return EmbeddingSimilarity(embed)


def ticket_text(ticket: Ticket) -> str:
    """What a ticket is about: the customer's question and description."""
    parts = [ticket.question or "", ticket.description or ""]
    return " ".join(dict.fromkeys(p.strip() for p in parts if p and p.strip()))


@dataclass(frozen=True)
class IncidentMatch:
    """What happened to a new ticket: it started an incident (`created`) or joined an open one."""

    incident: Incident
    created: bool


def incident_of(session: Session, ticket_id: int) -> Incident | None:
    """The incident a ticket belongs to, if any."""
    return session.scalar(select(Incident).join(IncidentTicket).where(IncidentTicket.ticket_id == ticket_id).limit(1))


def open_incident_of(session: Session, ticket_id: int) -> Incident | None:
    """The incident a ticket belongs to while it is open (the bot then says the problem is known)."""
    incident = incident_of(session, ticket_id)
    return incident if incident is not None and incident.status == "open" else None


class IncidentDetector:
    """Groups a new ticket with recent similar ones under the policies' `incidents` settings.

    >>> from handoff.policies import load_policies
    >>> detector = IncidentDetector(load_policies())  # word overlap; IncidentDetector(p, embed=...) for vectors
    """

    def __init__(self, policies: Policies, embed: Embed | None = None, similarity: Similarity | None = None) -> None:
        self.policies = policies
        self.similarity = similarity or (embedding_similarity(embed) if embed is not None else word_overlap)

    def _raise(self, ticket: Ticket) -> str:
        target = self.policies.incidents.priority
        current = PRIORITIES.index(ticket.priority) if ticket.priority in PRIORITIES else 1
        wanted = PRIORITIES.index(target) if target else min(len(PRIORITIES) - 1, current + 1)
        ticket.priority = PRIORITIES[max(current, wanted)]
        return ticket.priority

    def _link(self, session: Session, incident: Incident, ticket: Ticket, now: datetime, created: bool) -> None:
        session.add(IncidentTicket(incident=incident, ticket_id=ticket.id, ticket=ticket, joined_at=now))
        incident.ticket_count = (incident.ticket_count or 0) + 1
        before = ticket.priority
        after = self._raise(ticket)
        record(
            ticket,
            "incidents",
            "incident",
            now,
            incident_id=incident.id,
            title=incident.title,
            joined="created" if created else "joined",
            priority=[before, after],
        )

    def _candidates(
        self, session: Session, now: datetime, ticket_id: int | None = None
    ) -> tuple[list[Any], list[Ticket]]:
        """The tickets a new one is compared with: those of open incidents (with their incident's id), and the
        recent ones in no incident."""
        open_links = session.execute(
            select(IncidentTicket.incident_id, Ticket)
            .join(Ticket, Ticket.id == IncidentTicket.ticket_id)
            .join(Incident, Incident.id == IncidentTicket.incident_id)
            .where(Incident.status == "open")
            .order_by(IncidentTicket.id.desc())
            .limit(MAX_CANDIDATES)
        ).all()
        since = now - timedelta(minutes=self.policies.incidents.window)
        recent = select(Ticket).outerjoin(IncidentTicket, IncidentTicket.ticket_id == Ticket.id)
        recent = recent.where(IncidentTicket.id.is_(None), Ticket.created_at >= since)
        if ticket_id is not None:
            recent = recent.where(Ticket.id != ticket_id)
        return list(open_links), list(session.scalars(recent.order_by(Ticket.id.desc()).limit(MAX_CANDIDATES)))

    def warm(self, session: Session, now: datetime) -> int:
        """Embed, ahead of the next ticket, the texts it will be compared with (after a restart the kept vectors
        are gone, and the first ticket would embed them all while it is being created). Returns how many texts."""
        vectors_of = getattr(self.similarity, "vectors_of", None)
        if not self.policies.incidents.enabled or vectors_of is None:
            return 0
        open_links, recent = self._candidates(session, now)
        texts = [text for text in (ticket_text(t) for t in [*(t for _, t in open_links), *recent]) if text]
        for start in range(0, len(texts), WARM_BATCH):  # in small batches: a ticket created meanwhile waits little
            vectors_of(texts[start : start + WARM_BATCH])
        return len(texts)

    def check(self, session: Session, ticket: Ticket, now: datetime) -> IncidentMatch | None:
        """Put `ticket` (added to the session, not committed) into an incident if it belongs to one: join the most
        similar open incident, or start one when enough recent ungrouped tickets are alike. Not committed."""
        settings = self.policies.incidents
        text = ticket_text(ticket)
        if not settings.enabled or not text:
            return None
        session.flush()
        if incident_of(session, ticket.id) is not None:
            return None
        open_links, recent = self._candidates(session, now, ticket.id)
        texts = [ticket_text(t) for _, t in open_links] + [ticket_text(t) for t in recent]
        if not any(texts):
            return None
        scores = self.similarity(text, texts)
        open_scores, recent_scores = scores[: len(open_links)], scores[len(open_links) :]
        best: dict[int, float] = {}
        for (incident_id, _), score in zip(open_links, open_scores, strict=True):
            if score >= settings.similarity:
                best[incident_id] = max(best.get(incident_id, 0.0), score)
        if best:
            incident = session.get(Incident, max(best, key=lambda i: best[i]))
            assert incident is not None
            self._link(session, incident, ticket, now, created=False)
            return IncidentMatch(incident, created=False)
        similar = [t for t, score in zip(recent, recent_scores, strict=True) if score >= settings.similarity]
        if len(similar) + 1 < settings.min_tickets:
            return None
        group = sorted([*similar, ticket], key=lambda t: t.id)
        incident = Incident(title=group[0].subject[:200], status="open", ticket_count=0, created_at=now)
        session.add(incident)
        session.flush()
        for member in group:
            self._link(session, incident, member, now, created=True)
        return IncidentMatch(incident, created=True)


def list_incidents(session: Session, status: str | None = None, limit: int = 50, offset: int = 0) -> list[Incident]:
    """Incidents, newest first, optionally of one status."""
    if status is not None and status not in INCIDENT_STATUSES:
        raise IncidentError(f"unknown status {status!r}: use one of {', '.join(INCIDENT_STATUSES)}")
    statement = select(Incident).order_by(Incident.id.desc()).limit(limit).offset(offset)
    if status:
        statement = statement.where(Incident.status == status)
    return list(session.scalars(statement))


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident with id {incident_id}")
    return incident


def resolve_incident(
    session: Session, incident_id: int, actor: str, now: datetime, resolution: str | None = None
) -> Incident:
    """Close the incident (not committed): new similar tickets no longer join it, and each ticket's history says
    so. The tickets themselves stay as they are; agents resolve them one by one."""
    incident = get_incident(session, incident_id)
    if incident.status == "resolved":
        raise IncidentAlreadyResolved(
            f"incident {incident_id} was already resolved by {incident.resolved_by} at {incident.resolved_at}"
        )
    incident.status, incident.resolved_at, incident.resolved_by = "resolved", now, actor
    incident.resolution = resolution
    for ticket in incident.tickets:
        record(ticket, actor, "incident_resolved", now, incident_id=incident.id, resolution=resolution)
    return incident
