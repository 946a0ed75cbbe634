"""The editor's report of knowledge gaps over HTTP, a call of `usecases.reports.Reports.knowledge_gaps` (where its
inputs come from: `usecases.gaps`; the clustering and counting: `kb.gaps`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import EditorDep
from api.deps import ReportsDep
from kb.gaps import DEFAULT_CLUSTER_SIMILARITY
from usecases.reports import KnowledgeGapsView

router = APIRouter(prefix="/api/v1/knowledge-gaps", tags=["editor"])


@router.get("", response_model=KnowledgeGapsView)
def get_knowledge_gaps(
    reports: ReportsDep,
    staff: EditorDep,
    days: Annotated[int, Query(ge=1, le=365, description="How many days back to look.")] = 30,
    min_count: Annotated[
        int, Query(ge=1, le=10_000, description="Leave out clusters and articles seen fewer times than this.")
    ] = 2,
    similarity: Annotated[
        float, Query(ge=0.5, le=0.99, description="How alike two questions must be to share a cluster (cosine).")
    ] = DEFAULT_CLUSTER_SIMILARITY,
) -> KnowledgeGapsView:
    """Questions the bot could not answer (or answered, and the customer still asked for a person), clustered by
    meaning with counts, languages, samples and the nearest article; near-duplicate articles; and the articles
    customers went past to a person or agents replaced with another. It embeds the window's unanswered questions
    (the most recent ones, up to a bound), so it answers more slowly than the other endpoints."""
    return reports.knowledge_gaps(days, min_count, similarity)
