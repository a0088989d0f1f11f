"""/workflows: the definitions admins manage (SPEC §4).

`execution_count` comes from Temporal visibility. A page of cards asks for its counts in parallel,
at most 16 calls at a time, each cached for 5 seconds (see `app.temporal.gateway`); when Temporal
is unreachable the counts are null and the rest of the page is still served.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Response, status
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.api.deps import (
    CanRead,
    CanWrite,
    DefinitionDep,
    GatewayDep,
    PrincipalDep,
    RunsDep,
    SessionDep,
    parse_if_match,
)
from app.api.params import Offset, WorkflowId
from app.errors import responses
from app.runs_schemas import CancelRuns
from app.schemas import (
    VIP_EXAMPLE,
    DryRunRequest,
    ReferenceWarning,
    VersionPublic,
    VersionsPublic,
    WorkflowCard,
    WorkflowCreate,
    WorkflowPublic,
    WorkflowReplace,
    WorkflowsPublic,
    WorkflowsSummary,
    WorkflowUpdate,
)
from app.temporal.gateway import TemporalGateway
from definitions.dry_run import DryRunReport, dry_run
from definitions.limits import LINE_PATTERN, MAX_NAME
from definitions.vocabulary import TriggerType
from desk.field_values import sample_fields
from desk.time_values import schedule_clock
from store import definitions_repo
from store.models import WorkflowDefinitionRow, utcnow
from store.references import missing_references
from temporal_edge import TemporalUnavailable

router = APIRouter(prefix="/workflows", tags=["workflows"])

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The version this change is based on; a stale one answers 409",
        examples=["3"],
    ),
]


async def _count(gateway: TemporalGateway, definition_id: str) -> int | None:
    try:
        return await gateway.count_runs(definition_id)
    except TemporalUnavailable:
        return None


async def _public(
    gateway: TemporalGateway, row: WorkflowDefinitionRow, session: Session
) -> WorkflowPublic:
    public = WorkflowPublic.from_row(row, await _count(gateway, row.id))
    return await with_warnings(session, public, row)


async def with_warnings(
    session: Session, public: WorkflowPublic, row: WorkflowDefinitionRow
) -> WorkflowPublic:
    """The answer of a read or save, with the references that do not exist (yet)."""
    missing = await run_in_threadpool(missing_references, session, row.body)
    public.warnings = [ReferenceWarning.of(ref) for ref in missing]
    return public


def _etag(response: Response, row: WorkflowDefinitionRow) -> None:
    response.headers["ETag"] = f'"{row.version}"'


@router.get(
    "", response_model=WorkflowsPublic, dependencies=[CanRead], responses=responses(401, 403, 422)
)
async def list_workflows(
    *,
    session: SessionDep,
    gateway: GatewayDep,
    status_: Annotated[
        Literal["draft", "active"] | None, Query(alias="status", description="Only this status")
    ] = None,
    trigger_type: Annotated[TriggerType | None, Query(description="Only this trigger type")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_NAME,
            pattern=LINE_PATTERN,
            description="Case-insensitive text in the name or description",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
    offset: Offset = 0,
) -> WorkflowsPublic:
    """List workflow cards, filtered and paginated, with run counts from Temporal (all, failed
    in the last 24 h, waiting now)."""
    rows, count = await run_in_threadpool(
        lambda: definitions_repo.list_definitions(
            session, status=status_, trigger_type=trigger_type, q=q, limit=limit, offset=offset
        )
    )
    counts, failures, waiting = await asyncio.gather(
        gateway.count_runs_many(row.id for row in rows),
        gateway.count_runs_many((row.id for row in rows), failed_recently=True),
        gateway.count_runs_many((row.id for row in rows), waiting=True),
    )
    cards = [WorkflowCard.from_row(row, counts.get(row.id)) for row in rows]
    for card in cards:
        card.failed_24h = failures.get(card.id)
        card.waiting = waiting.get(card.id)
    return WorkflowsPublic(data=cards, count=count)


@router.get(
    "/summary",
    response_model=WorkflowsSummary,
    dependencies=[CanRead],
    responses=responses(401, 403),
)
async def workflows_summary(*, session: SessionDep, gateway: GatewayDep) -> WorkflowsSummary:
    """Totals: workflows, active workflows and runs ever started."""
    total, active = await run_in_threadpool(definitions_repo.summary, session)
    try:
        executions: int | None = await gateway.count_all_runs()
    except TemporalUnavailable:
        executions = None
    return WorkflowsSummary(
        total_workflows=total, active_workflows=active, total_executions=executions
    )


@router.post(
    "",
    response_model=WorkflowPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[CanWrite],
    responses=responses(401, 403, 422),
)
async def create_workflow(
    *,
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    workflow_in: Annotated[WorkflowCreate, Body(examples=[VIP_EXAMPLE])],
) -> WorkflowPublic:
    """Create a workflow (version 1)."""
    row = await run_in_threadpool(
        lambda: definitions_repo.create(session, workflow_in, changed_by=principal.actor)
    )
    _etag(response, row)
    response.headers["Location"] = f"/workflows/{row.id}"
    return await with_warnings(session, WorkflowPublic.from_row(row, 0), row)


@router.get(
    "/{workflow_id}",
    response_model=WorkflowPublic,
    dependencies=[CanRead],
    responses=responses(401, 403, 404),
)
async def read_workflow(
    *, session: SessionDep, row: DefinitionDep, gateway: GatewayDep, response: Response
) -> WorkflowPublic:
    """Read one workflow (its ETag is its version)."""
    _etag(response, row)
    return await _public(gateway, row, session)


@router.put(
    "/{workflow_id}",
    response_model=WorkflowPublic,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404, 409, 422),
)
async def replace_workflow(
    *,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    workflow_id: WorkflowId,
    workflow_in: WorkflowReplace,
    principal: PrincipalDep,
    if_match: IfMatch = None,
) -> WorkflowPublic:
    """Replace a workflow's whole definition (new version)."""
    expected = {"If-Match": parse_if_match(if_match), "version": workflow_in.version}
    row = await _save(
        response,
        lambda: definitions_repo.replace(
            session,
            workflow_id,
            workflow_in.definition(),
            expected_versions=expected,
            changed_by=principal.actor,
        ),
    )
    return await _public(gateway, row, session)


@router.patch(
    "/{workflow_id}",
    response_model=WorkflowPublic,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404, 409, 422),
)
async def update_workflow(
    *,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    workflow_id: WorkflowId,
    workflow_in: WorkflowUpdate,
    principal: PrincipalDep,
    if_match: IfMatch = None,
) -> WorkflowPublic:
    """Change part of a workflow, e.g. {"status": "active"} (new version)."""
    expected = {"If-Match": parse_if_match(if_match), "version": workflow_in.version}
    row = await _save(
        response,
        lambda: definitions_repo.patch(
            session,
            workflow_id,
            workflow_in.changes(),
            expected_versions=expected,
            changed_by=principal.actor,
        ),
    )
    return await _public(gateway, row, session)


async def _save(
    response: Response, change: Callable[[], WorkflowDefinitionRow]
) -> WorkflowDefinitionRow:
    """Apply a PUT or PATCH (in a thread: it is database work) and set the ETag. SLA trackers
    are not told: the save bumped the SLA definitions version they read (store/sla_version.py)."""
    row = await run_in_threadpool(change)
    _etag(response, row)
    return row


@router.delete(
    "/{workflow_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404),
)
async def delete_workflow(*, session: SessionDep, workflow_id: WorkflowId) -> Response:
    """Delete a workflow; runs in flight finish with their frozen copy."""
    await run_in_threadpool(definitions_repo.delete, session, workflow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{workflow_id}/duplicate",
    response_model=WorkflowPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404),
)
async def duplicate_workflow(
    *, session: SessionDep, principal: PrincipalDep, response: Response, workflow_id: WorkflowId
) -> WorkflowPublic:
    """Copy a workflow as a draft named "<name> (copy)"."""
    row = await run_in_threadpool(
        lambda: definitions_repo.duplicate(session, workflow_id, changed_by=principal.actor)
    )
    _etag(response, row)
    response.headers["Location"] = f"/workflows/{row.id}"
    return await with_warnings(session, WorkflowPublic.from_row(row, 0), row)


@router.get(
    "/{workflow_id}/versions",
    response_model=VersionsPublic,
    dependencies=[CanRead],
    responses=responses(401, 403, 404),
)
async def list_versions(*, session: SessionDep, workflow_id: WorkflowId) -> VersionsPublic:
    """Every saved version of a workflow, oldest first: its full definition, who saved it and a
    one-line summary of the change since the version before."""
    rows = await run_in_threadpool(definitions_repo.versions, session, workflow_id)
    previous = [None, *rows[:-1]]
    data = [VersionPublic.from_row(row, before) for row, before in zip(rows, previous, strict=True)]
    return VersionsPublic(data=data, count=len(rows))


@router.post(
    "/{workflow_id}/versions/{version}/restore",
    response_model=WorkflowPublic,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404, 409, 422),
)
async def restore_version(
    *,
    session: SessionDep,
    gateway: GatewayDep,
    principal: PrincipalDep,
    response: Response,
    workflow_id: str,
    version: int,
    if_match: IfMatch = None,
) -> WorkflowPublic:
    """Save an earlier version's definition as a new version (404 for an unknown version, 409 when
    it is the current definition already or If-Match is stale)."""
    expected = {"If-Match": parse_if_match(if_match)}
    row = await _save(
        response,
        lambda: definitions_repo.restore(
            session, workflow_id, version, expected_versions=expected, changed_by=principal.actor
        ),
    )
    return await _public(gateway, row, session)


@router.post(
    "/{workflow_id}/test",
    response_model=DryRunReport,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404, 422),
)
async def dry_run_workflow(
    *, session: SessionDep, row: DefinitionDep, request: DryRunRequest
) -> DryRunReport:
    """Dry-run a workflow (draft or active) against a sample event; nothing is changed anywhere."""
    definition = definitions_repo.definition_of(row)
    now = utcnow()
    # The sample event applied to the desk store as ingestion would apply it, then rolled back.
    conversation, customer, event = await run_in_threadpool(
        sample_fields, session, request.event, now
    )
    # time.* and the waits' "until" read the schedule as stored now (none if it does not exist).
    clock = await run_in_threadpool(schedule_clock, session, definition.schedule, now)
    return dry_run(
        definition,
        event,
        conversation,
        customer,
        request.sla,
        request.assume,
        now=now,
        clock=clock,
    )


@router.post(
    "/{workflow_id}/runs/cancel",
    response_model=CancelRuns,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[CanWrite],
    responses=responses(401, 403, 503),
)
async def cancel_workflow_runs(*, runs: RunsDep, workflow_id: str) -> CancelRuns:
    """Cancel every running and waiting run of a workflow (also of a deleted one). Each run
    records "cancelled" in its trace; the definition itself is not changed (deactivate it first so
    no new runs start)."""
    return await runs.cancel_definition_runs(workflow_id)
