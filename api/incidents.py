"""Incidents for agents: the groups of similar tickets that arrived close together, and resolving one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth import AgentDep
from api.schemas import Input
from handoff.incidents import Incident, IncidentAlreadyResolved, IncidentNotFound, get_incident, list_incidents
from handoff.incidents import resolve_incident as resolve

router = APIRouter(prefix="/api/v1/incidents", tags=["agent"])
IncidentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The incident's number.")]


class IncidentTicketOut(BaseModel):
    id: int
    reference: str
    status: str
    priority: str
    queue: str
    subject: str
    created_at: datetime


class IncidentOut(BaseModel):
    id: int
    title: str
    status: str
    count: int
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    tickets: list[IncidentTicketOut]


class ResolveIncidentIn(Input):
    resolution: str | None = Field(default=None, max_length=5000)


def incident_out(incident: Incident) -> IncidentOut:
    return IncidentOut(
        id=incident.id,
        title=incident.title,
        status=incident.status,
        count=incident.ticket_count,
        created_at=incident.created_at,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        resolution=incident.resolution,
        tickets=[
            IncidentTicketOut(
                id=t.id,
                reference=t.reference,
                status=t.status,
                priority=t.priority,
                queue=t.queue,
                subject=t.subject,
                created_at=t.created_at,
            )
            for t in incident.tickets
        ],
    )


@router.get("", response_model=list[IncidentOut])
def incidents(
    request: Request,
    staff: AgentDep,
    status: Literal["open", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[IncidentOut]:
    """Incidents, newest first, with their tickets; `status` keeps the open or the resolved ones."""
    with request.app.state.sessions() as session:
        return [incident_out(i) for i in list_incidents(session, status, limit, offset)]


@router.get("/{incident_id}", response_model=IncidentOut)
def incident(incident_id: IncidentId, request: Request, staff: AgentDep) -> IncidentOut:
    """One incident with its tickets."""
    with request.app.state.sessions() as session:
        try:
            return incident_out(get_incident(session, incident_id))
        except IncidentNotFound as error:
            raise HTTPException(404, str(error)) from error


@router.post("/{incident_id}/resolve", response_model=IncidentOut)
def resolve_incident(
    incident_id: IncidentId, request: Request, staff: AgentDep, body: ResolveIncidentIn | None = None
) -> IncidentOut:
    """Mark the incident over: new similar tickets no longer join it and the bot stops calling it a known issue.
    Its tickets stay open for agents to answer. Resolving it again → 409."""
    with request.app.state.sessions() as session:
        try:
            done = resolve(
                session, incident_id, staff.name, request.app.state.clock.now(), body.resolution if body else None
            )
        except IncidentNotFound as error:
            raise HTTPException(404, str(error)) from error
        except IncidentAlreadyResolved as error:
            raise HTTPException(409, str(error)) from error
        session.commit()
        return incident_out(done)
