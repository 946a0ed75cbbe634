"""Incidents for agents (`handoff.incidents`): the groups of similar tickets that arrived close together, and
resolving one, after which new similar tickets no longer join it and the bot stops calling it a known issue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from handoff.clock import as_utc
from handoff.incidents import (
    Incident,
    IncidentAlreadyResolved,
    IncidentError,
    IncidentNotFound,
    get_incident,
    list_incidents,
    resolve_incident,
)
from usecases.context import Context
from usecases.errors import Conflict, Invalid, NotFound

IncidentStatus = Literal["open", "resolved"]


class IncidentTicketView(BaseModel):
    id: int
    reference: str
    status: str
    priority: str
    queue: str
    subject: str
    created_at: datetime


class IncidentView(BaseModel):
    """An incident with its tickets; `count` is how many tickets joined it."""

    id: int
    title: str
    status: str
    count: int
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    tickets: list[IncidentTicketView]


def view(incident: Incident) -> IncidentView:
    return IncidentView(
        id=incident.id,
        title=incident.title,
        status=incident.status,
        count=incident.ticket_count,
        created_at=as_utc(incident.created_at),
        resolved_at=as_utc(incident.resolved_at) if incident.resolved_at is not None else None,
        resolved_by=incident.resolved_by,
        resolution=incident.resolution,
        tickets=[
            IncidentTicketView(
                id=t.id,
                reference=t.reference,
                status=t.status,
                priority=t.priority,
                queue=t.queue,
                subject=t.subject,
                created_at=as_utc(t.created_at),
            )
            for t in incident.tickets
        ],
    )


class Incidents:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def list(self, status: IncidentStatus | None = None, limit: int = 50, offset: int = 0) -> list[IncidentView]:
        """Incidents, newest first, with their tickets; `status` keeps the open or the resolved ones."""
        with self.ctx.sessions() as session:
            try:
                return [view(i) for i in list_incidents(session, status, limit, offset)]
            except IncidentError as error:
                raise Invalid(str(error)) from error

    def get(self, incident_id: int) -> IncidentView:
        """One incident with its tickets."""
        with self.ctx.sessions() as session:
            try:
                return view(get_incident(session, incident_id))
            except IncidentNotFound as error:
                raise NotFound(str(error)) from error

    def resolve(self, incident_id: int, actor: str, resolution: str | None = None) -> IncidentView:
        """Mark the incident over, now; its tickets stay open for agents to answer. Conflict if it is resolved
        already."""
        with self.ctx.sessions() as session:
            try:
                done = resolve_incident(session, incident_id, actor, self.ctx.clock.now(), resolution)
            except IncidentNotFound as error:
                raise NotFound(str(error)) from error
            except IncidentAlreadyResolved as error:
                raise Conflict(str(error)) from error
            session.commit()
            return view(done)
