"""/runs: every run, read from Temporal visibility and history; retry and cancel (SPEC §4).

Readers (viewer, admin) list and inspect runs; only admins retry or cancel them. Domain errors of
`app.temporal_runs` become 404 (unknown run), 409 (wrong state) and 422 (bad filter or cursor)
here; an unreachable Temporal is a 503 (`app.errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from app.api.deps import CanRead, CanWrite
from app.api.params import ConversationFilter, Cursor, RunId, WorkflowFilter
from app.errors import ApiError, ErrorDetail, responses
from app.runs_schemas import RunControl, RunDetail, RunsPage, RunStatus
from app.temporal_runs import (
    MAX_PAGE_SIZE,
    InvalidRunsQuery,
    RunConflict,
    RunNotFound,
    RunsGateway,
)

router = APIRouter(prefix="/runs", tags=["runs"])


def get_runs_gateway(request: Request) -> RunsGateway:
    """The app's `RunsGateway`: `app.state.runs` if the lifespan made one, else one built on the
    Temporal gateway's (reconnecting) client, kept on the app state."""
    runs: RunsGateway | None = getattr(request.app.state, "runs", None)
    if runs is None:
        runs = RunsGateway(request.app.state.gateway.client, request.app.state.settings)
        request.app.state.runs = runs
    return runs


RunsDep = Annotated[RunsGateway, Depends(get_runs_gateway)]


@contextmanager
def domain_errors() -> Iterator[None]:
    """Map the gateway's domain errors to the one error shape."""
    try:
        yield
    except RunNotFound as exc:
        raise ApiError(
            404, "not_found", str(exc), [ErrorDetail(loc=["path", "run_id"], msg=str(exc))]
        ) from exc
    except RunConflict as exc:
        raise ApiError(
            409,
            "conflict",
            str(exc),
            [ErrorDetail(loc=["path", "run_id"], msg=f"run is {exc.status}")],
        ) from exc
    except InvalidRunsQuery as exc:
        raise ApiError(
            422,
            "validation_error",
            str(exc),
            [ErrorDetail(loc=["query", exc.field], msg=exc.message)],
        ) from exc


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
    with domain_errors():
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
    with domain_errors():
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
    with domain_errors():
        return await runs.cancel(run_id)


@router.get(
    "/{run_id:path}",
    response_model=RunDetail,
    dependencies=[CanRead],
    responses=responses(401, 403, 404, 503),
)
async def get_run(*, runs: RunsDep, run_id: RunId) -> RunDetail:
    """One run: status, times, pinned version and event, step-by-step trace, error, UI link."""
    with domain_errors():
        return await runs.get_run(run_id)
