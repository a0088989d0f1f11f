"""/analytics: run trend, rates, durations and the most triggered workflows (SPEC §4).

Everything comes from Temporal visibility count queries (`app.temporal.analytics`), never from a
listing of runs, so the answer costs the same with a thousand runs or a million. Workflow names
come from the definitions store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.api.deps import CanRead, GatewayDep, SessionDep
from app.api.params import WorkflowFilter
from app.errors import responses
from app.runs_schemas import AnalyticsReport, Bucket
from app.temporal.analytics import MAX_RANKED_DEFINITIONS, analytics_report
from definitions.errors import NotFound
from store import definitions_repo

router = APIRouter(prefix="/analytics", tags=["analytics"])


def _names(session: Session, workflow_id: str | None) -> dict[str, str]:
    """id -> name of the definitions to rank (most recently updated first), or of the one asked."""
    if workflow_id is not None:
        try:
            return {workflow_id: definitions_repo.get(session, workflow_id).name}
        except NotFound:
            return {}  # deleted: its runs are still counted, without a name
    rows, _ = definitions_repo.list_definitions(session, limit=MAX_RANKED_DEFINITIONS)
    return {row.id: row.name for row in rows}


@router.get(
    "",
    response_model=AnalyticsReport,
    response_model_by_alias=True,
    dependencies=[CanRead],
    responses=responses(401, 403, 422, 503),
)
async def get_analytics(
    *,
    gateway: GatewayDep,
    session: SessionDep,
    from_: Annotated[
        datetime | None,
        Query(
            alias="from",
            description="Window start (ISO 8601); default 24 hours (bucket=hour) or 7 days "
            "(bucket=day) before `to`",
        ),
    ] = None,
    to: Annotated[datetime | None, Query(description="Window end (ISO 8601); default now")] = None,
    bucket: Annotated[Bucket, Query(description="Trend granularity (UTC hours or days)")] = "day",
    workflow_id: WorkflowFilter = None,
    top: Annotated[int, Query(ge=0, le=50, description="How many most-triggered workflows")] = 5,
) -> AnalyticsReport:
    """Runs started in the window: trend, success/failure rates, duration, most triggered."""
    names = await run_in_threadpool(_names, session, workflow_id)
    return await analytics_report(
        gateway,
        start=from_,
        end=to,
        bucket=bucket,
        workflow_id=workflow_id,
        definitions=names,
        top=top,
    )
