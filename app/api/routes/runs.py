"""/runs: every run, read from Temporal visibility and history; retry and cancel (SPEC §4).

Readers (viewer, admin) list and inspect runs; only admins retry or cancel them. The domain errors
of `app.temporal.runs` become 404 (unknown run), 409 (wrong state) and 422 (bad filter or cursor),
an unreachable Temporal 503, all in `app.errors`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import CanRead, CanWrite, RunsDep
from app.api.params import ConversationFilter, Cursor, RunId, WorkflowFilter
from app.errors import responses
from app.runs_schemas import RunControl, RunDetail, RunsPage, RunStatus
from app.temporal.runs import MAX_PAGE_SIZE

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get(
    "",
    response_model=RunsPage,
    dependencies=[CanRead],
    responses=responses(401, 403, 422, 503),
)
async def list_runs(
    *,
    runs: RunsDep,
    workflow_id: WorkflowFilter = None,
    status_: Annotated[
        RunStatus | None, Query(alias="status", description="Current status")
    ] = None,
    conversation_id: ConversationFilter = None,
    from_: Annotated[
        datetime | None, Query(alias="from", description="Started at or after (ISO 8601)")
    ] = None,
    to: Annotated[datetime | None, Query(description="Started before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 50,
    cursor: Cursor = None,
) -> RunsPage:
    """List runs from Temporal visibility, running first, then most recently closed."""
    return await runs.list_runs(
        workflow_id=workflow_id,
        status=status_,
        conversation_id=conversation_id,
        start=from_,
        end=to,
        limit=limit,
        cursor=cursor,
    )


@router.post(
    "/{run_id:path}/retry",
    response_model=RunControl,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404, 409, 503),
)
async def retry_run(*, runs: RunsDep, run_id: RunId) -> RunControl:
    """Re-run a failed run with its pinned version and event; steps that took effect are kept."""
    return await runs.retry(run_id)


@router.post(
    "/{run_id:path}/cancel",
    response_model=RunControl,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404, 409, 503),
)
async def cancel_run(*, runs: RunsDep, run_id: RunId) -> RunControl:
    """Cancel a running run; it stops before its next step and ends as cancelled."""
    return await runs.cancel(run_id)


@router.get(
    "/{run_id:path}",
    response_model=RunDetail,
    dependencies=[CanRead],
    responses=responses(401, 403, 404, 503),
)
async def get_run(*, runs: RunsDep, run_id: RunId) -> RunDetail:
    """One run: status, times, pinned version and event, step-by-step trace, error, UI link."""
    return await runs.get_run(run_id)
