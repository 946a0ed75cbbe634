"""Incidents for agents over HTTP: the groups of similar tickets that arrived close together, and resolving one,
each a call of `usecases.incidents.Incidents`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from api.auth import AgentDep
from api.deps import IncidentsDep
from api.schemas import Input
from usecases.incidents import IncidentStatus, IncidentView

router = APIRouter(prefix="/api/v1/incidents", tags=["agent"])
IncidentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The incident's number.")]


class ResolveIncidentIn(Input):
    resolution: str | None = Field(default=None, max_length=5000)


@router.get("", response_model=list[IncidentView])
def incidents(
    desk: IncidentsDep,
    staff: AgentDep,
    status: IncidentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[IncidentView]:
    """Incidents, newest first, with their tickets; `status` keeps the open or the resolved ones."""
    return desk.list(status, limit, offset)


@router.get("/{incident_id}", response_model=IncidentView)
def incident(incident_id: IncidentId, desk: IncidentsDep, staff: AgentDep) -> IncidentView:
    """One incident with its tickets."""
    return desk.get(incident_id)


@router.post("/{incident_id}/resolve", response_model=IncidentView)
def resolve_incident(
    incident_id: IncidentId, desk: IncidentsDep, staff: AgentDep, body: ResolveIncidentIn | None = None
) -> IncidentView:
    """Mark the incident over: new similar tickets no longer join it and the bot stops calling it a known issue.
    Its tickets stay open for agents to answer. Resolving it again → 409."""
    return desk.resolve(incident_id, staff.name, body.resolution if body else None)
