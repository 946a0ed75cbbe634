"""The agent's overview of the queues over HTTP: how many tickets each holds by status, and the nearest deadline
(`usecases.reports.Reports.queues`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import AgentDep
from api.deps import ReportsDep
from usecases.reports import QueueView

router = APIRouter(prefix="/api/v1/queues", tags=["agent"])


@router.get("", response_model=list[QueueView])
def list_queues(reports: ReportsDep, staff: AgentDep) -> list[QueueView]:
    """Every configured queue with its tickets being worked on, breaches and the deadline that comes next."""
    return reports.queues()
