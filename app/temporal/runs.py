"""Runs from Temporal: visibility lists, run histories and traces, retry and cancel (SPEC §4).

`RunsGateway(gateway)` reads through the app's `TemporalGateway` (its reconnecting client and its
one count query), returns our own types (`app.runs_schemas`), never SDK objects, and raises the
domain errors of `app.temporal.errors`, which `app.errors` maps to 404 / 409 / 422; an unreachable
Temporal is `temporal_edge.TemporalUnavailable` (503). A retry is started by `temporal_edge`.

Scope: every query starts with `TemporalGateway.runs_scope` (`WorkflowType = "WorkflowRun"` on this
deployment's task queue), so the SLA trackers never show up as runs, and tests or benchmarks that
share one Temporal namespace with a fresh task queue each see only their own runs.

Visibility lags a moment behind the runs themselves (a run that just closed may still be counted
as running for up to a second or so), and only covers the namespace's retention (30 days on the
embedded stack): older runs are gone from both the lists and the analytics.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote as url_quote

from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType, PendingActivityState, WorkflowExecutionStatus
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from app.runs_schemas import (
    CancelRuns,
    Outcome,
    PendingAttempt,
    RunControl,
    RunDetail,
    RunsPage,
    RunStatus,
    RunSummary,
)
from app.temporal.errors import InvalidRunsQuery, RunConflict, rpc_failure
from app.temporal.gateway import TemporalGateway
from definitions.errors import NotFound
from definitions.runs import (
    ACT_DELIVER_WEBHOOK,
    ACT_DISPATCH_EVENT,
    TRACE_QUERY,
    WORKFLOW_RUN,
    RunInput,
    RunResult,
    StepTrace,
    is_retry,
)
from temporal_edge import (
    MAX_RETRIES,
    OUTCOME_STOPPED,
    PHASE_WAITING,
    RPC_TIMEOUT,
    STOPPED_RUNS,
    WAITING_RUNS,
    Client,
    SearchAttr,
    TemporalUnavailable,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowHandle,
    quote,
    start_retry_run,
)

#: The `trace` query needs a worker to answer; a run whose worker is gone must not hang the API.
QUERY_TIMEOUT = timedelta(seconds=5)
MAX_PAGE_SIZE = 200
#: Cancel requests in flight at once when cancelling a definition's runs.
CANCEL_CONCURRENCY = 10

#: Our status names <-> the ExecutionStatus values of visibility queries.
#: Our statuses that refine one of Temporal's (the trace is read as for that one).
_EXECUTION_STATUS: dict[RunStatus, RunStatus] = {"waiting": "running", "stopped": "completed"}

VISIBILITY_STATUS: dict[RunStatus, str] = {
    "running": "Running",
    "waiting": "Running",
    "completed": "Completed",
    "stopped": "Completed",
    "failed": "Failed",
    "cancelled": "Canceled",
    "terminated": "Terminated",
    "timed_out": "TimedOut",
    "continued_as_new": "ContinuedAsNew",
}
#: The SDK's execution status (the API enum's values) -> ours.
_FROM_SDK: dict[int, RunStatus] = {
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING: "running",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED: "completed",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED: "failed",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED: "cancelled",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED: "terminated",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "continued_as_new",
}

# ---------------------------------------------------------------- query building (pure)


def timestamp(value: datetime) -> str:
    """A time literal for StartTime/CloseTime comparisons (RFC 3339, UTC)."""
    return quote(as_utc(value).isoformat())


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()[:6]


def encode_cursor(token: bytes | None) -> str | None:
    """Temporal's page token with a checksum: a cursor we did not hand out is refused here (422)
    rather than sent to Temporal, which retries a garbled token, then fails as if it were down."""
    return base64.urlsafe_b64encode(_check(token) + token).decode("ascii") if token else None


def status_clause(status: RunStatus) -> str:
    """The visibility filter of one of our statuses: `stopped` and `completed` split Temporal's
    Completed by the `RunOutcome` search attribute, `waiting` is a running run in its waiting
    phase (`STOPPED_RUNS`, `WAITING_RUNS`)."""
    if status == "stopped":
        return STOPPED_RUNS
    if status == "waiting":
        return WAITING_RUNS
    clause = f"ExecutionStatus = {quote(VISIBILITY_STATUS[status])}"
    if status == "completed":
        return f"{clause} AND {SearchAttr.RUN_OUTCOME} IS NULL"
    return clause


def decode_cursor(cursor: str | None) -> bytes | None:
    if not cursor:
        return None
    try:
        padded = cursor.encode("ascii") + b"=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise InvalidRunsQuery("cursor", "not a cursor returned by GET /runs") from exc
    check, token = raw[:6], raw[6:]
    if not token or check != _check(token):
        raise InvalidRunsQuery("cursor", "not a cursor returned by GET /runs")
    return token


class RunsGateway:
    """Temporal visibility and history reads, and run control, for the runs API and the CLI."""

    def __init__(self, gateway: TemporalGateway) -> None:
        self.gateway = gateway
        self.settings = gateway.settings

    def ui_url(self, workflow_id: str, temporal_run_id: str) -> str:
        namespace = url_quote(self.settings.temporal_namespace, safe="")
        return (
            f"{self.settings.temporal_ui_url}/namespaces/{namespace}/workflows/"
            f"{url_quote(workflow_id, safe='')}/{url_quote(temporal_run_id, safe='')}/history"
        )

    def _rpc_failure(self, exc: RPCError, run_id: str | None = None) -> Exception:
        return rpc_failure(exc, self.settings.temporal_address, run_id)

    def _summary(self, execution: WorkflowExecution, now: datetime) -> RunSummary:
        attrs = execution.typed_search_attributes
        status = _FROM_SDK.get(execution.status, "running") if execution.status else "running"
        waiting = status == "running" and attrs.get(SearchAttr.RUN_PHASE.key) == PHASE_WAITING
        if status == "completed" and attrs.get(SearchAttr.RUN_OUTCOME.key) == OUTCOME_STOPPED:
            status = "stopped"
        closed = execution.close_time
        return RunSummary(
            run_id=execution.id,
            temporal_run_id=execution.run_id,
            workflow_id=attrs.get(SearchAttr.DEFINITION_ID.key),
            workflow_version=attrs.get(SearchAttr.DEFINITION_VERSION.key),
            trigger_type=attrs.get(SearchAttr.TRIGGER_TYPE.key),
            conversation_id=attrs.get(SearchAttr.CONVERSATION_ID.key),
            status="waiting" if waiting else status,
            started_at=execution.start_time,
            closed_at=closed,
            duration_seconds=round(((closed or now) - execution.start_time).total_seconds(), 6),
            is_retry=is_retry(execution.id),
            temporal_ui_url=self.ui_url(execution.id, execution.run_id),
            waiting_for=attrs.get(SearchAttr.WAITING_FOR.key) if waiting else None,
            waiting_until=attrs.get(SearchAttr.WAITING_UNTIL.key) if waiting else None,
        )

    async def _describe(self, run_id: str) -> tuple[Client, WorkflowExecutionDescription]:
        client = await self.gateway.client()
        try:
            description = await client.get_workflow_handle(run_id).describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise self._rpc_failure(exc, run_id) from exc
        if description.workflow_type != WORKFLOW_RUN:
            raise NotFound("run", run_id)
        return client, description

    # ------------------------------------------------------------ runs

    async def list_runs(
        self,
        *,
        workflow_id: str | None = None,
        status: RunStatus | None = None,
        conversation_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunsPage:
        """One page of runs matching every given filter (start/end bound the start time), running
        first, then most recently closed first."""
        clauses = [self.gateway.runs_scope]
        if workflow_id:
            clauses.append(f"{SearchAttr.DEFINITION_ID} = {quote(workflow_id)}")
        if status:
            clauses.append(status_clause(status))
        if conversation_id:
            clauses.append(f"{SearchAttr.CONVERSATION_ID} = {quote(conversation_id)}")
        if start is not None:
            clauses.append(f"StartTime >= {timestamp(start)}")
        if end is not None:
            clauses.append(f"StartTime < {timestamp(end)}")
        if start is not None and end is not None and as_utc(start) >= as_utc(end):
            raise InvalidRunsQuery("from", "must be before 'to'")
        query = " AND ".join(clauses)
        token = decode_cursor(cursor)
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        client = await self.gateway.client()
        iterator = client.list_workflows(
            query, page_size=limit, next_page_token=token, rpc_timeout=RPC_TIMEOUT
        )

        async def page() -> None:
            try:
                await iterator.fetch_next_page()
            except RPCError as exc:
                if token is not None and exc.status == RPCStatusCode.INVALID_ARGUMENT:
                    raise InvalidRunsQuery("cursor", "not a cursor of this query") from exc
                raise self._rpc_failure(exc) from exc

        (count, _), _ = await asyncio.gather(self.gateway.count(query), page())
        now = datetime.now(UTC)
        return RunsPage(
            data=[self._summary(e, now) for e in iterator.current_page or []],
            count=count,
            next_cursor=encode_cursor(iterator.next_page_token),
        )

    async def get_run(self, run_id: str) -> RunDetail:
        """Status, times, pinned input, trace and failure of one run (its latest execution)."""
        client, description = await self._describe(run_id)
        handle = client.get_workflow_handle(run_id, run_id=description.run_id)
        try:
            history = await handle.fetch_history(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise self._rpc_failure(exc, run_id) from exc
        events = list(history.events)
        summary = self._summary(description, datetime.now(UTC))
        run_input = await _decode_input(client, events)
        executed = _EXECUTION_STATUS.get(summary.status, summary.status)
        trace = await self._trace(client, handle, executed, events[-1] if events else None)
        if trace.result is not None and trace.result.outcome == "stopped":
            summary.status = "stopped"  # also a run stopped before the RunOutcome attribute
        steps = trace.result.steps if trace.result else []
        pending = await _pending_attempts(client, description, steps)
        return RunDetail(
            **summary.model_dump(),
            workflow_name=run_input.definition.name,
            event=run_input.event,
            idempotency_scope=run_input.idempotency_scope,
            retry_of=run_input.retry_of,
            outcome=_outcome(executed, trace.result),
            stopped_at=trace.result.stopped_at if trace.result else None,
            trace=steps,
            trace_source=trace.source,
            error=trace.error,
            error_type=trace.error_type,
            note=trace.note,
            pending=pending,
        )

    async def _trace(
        self,
        client: Client,
        handle: WorkflowHandle[Any, Any],
        status: RunStatus,
        last: HistoryEvent | None,
    ) -> _Trace:
        converter = client.data_converter
        if (
            status == "completed"
            and last is not None
            and last.HasField("workflow_execution_completed_event_attributes")
        ):
            payloads = last.workflow_execution_completed_event_attributes.result.payloads
            [result] = await converter.decode(payloads, [RunResult])
            return _Trace(result, "result")
        if (
            status == "failed"
            and last is not None
            and last.HasField("workflow_execution_failed_event_attributes")
        ):
            failure = await converter.decode_failure(
                last.workflow_execution_failed_event_attributes.failure
            )
            return _failed_trace(failure)
        trace = _Trace(None, "none")
        if (
            status == "terminated"
            and last is not None
            and last.HasField("workflow_execution_terminated_event_attributes")
        ):
            reason = last.workflow_execution_terminated_event_attributes.reason
            trace.error = f"terminated: {reason}" if reason else "terminated by an operator"
            trace.error_type = "Terminated"
        elif status == "cancelled":
            trace.error, trace.error_type = "cancelled on request", "Cancelled"
        elif status == "timed_out":
            trace.error, trace.error_type = "the run timed out", "TimedOut"
        # Running, or closed without a trace in its history: ask the workflow (a worker answers
        # queries on closed runs too, by replaying them).
        try:
            result = await handle.query(
                TRACE_QUERY, result_type=RunResult, rpc_timeout=QUERY_TIMEOUT
            )
        except Exception as exc:  # no worker, query rejected, replay failed: say so, answer anyway
            trace.note = f"the trace query was not answered ({type(exc).__name__}: {exc})"
            return trace
        trace.result = result
        trace.source = "query"
        if status == "running":
            trace.note = "the run is in flight: this trace is provisional"
        return trace

    # ------------------------------------------------------------ control

    async def retry(self, run_id: str) -> RunControl:
        """Start a new WorkflowRun with the failed run's pinned input (same definition version,
        event and idempotency scope, so actions that took effect are not repeated), recording
        `retry_of`; id `{first run}:retry:{n}`, same search attributes and task queue."""
        client, description = await self._describe(run_id)
        status = _FROM_SDK.get(description.status, "running") if description.status else "running"
        if status != "failed":
            raise RunConflict(
                run_id, status, f"run {run_id!r} is {status}: only failed runs can be retried"
            )
        handle = client.get_workflow_handle(run_id, run_id=description.run_id)
        try:
            history = await handle.fetch_history(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise self._rpc_failure(exc, run_id) from exc
        original = await _decode_input(client, list(history.events))
        started = await start_retry_run(
            client, original, retry_of=run_id, task_queue=description.task_queue
        )
        if started is None:
            raise RunConflict(
                run_id, status, f"run {run_id!r} was retried {MAX_RETRIES} times already"
            )
        return RunControl(
            run_id=started.workflow_id,
            status="started",
            retry_of=run_id,
            temporal_ui_url=self.ui_url(started.workflow_id, started.temporal_run_id),
        )

    async def cancel(self, run_id: str) -> RunControl:
        """Ask a running run to cancel (it stops at its next step and ends as cancelled)."""
        client, description = await self._describe(run_id)
        status = _FROM_SDK.get(description.status, "running") if description.status else "running"
        if status != "running":
            raise RunConflict(
                run_id,
                status,
                f"run {run_id!r} is {status}: only running or waiting runs can be cancelled",
            )
        try:
            await client.get_workflow_handle(run_id, run_id=description.run_id).cancel(
                rpc_timeout=RPC_TIMEOUT
            )
        except RPCError as exc:
            raise self._rpc_failure(exc, run_id) from exc
        return RunControl(
            run_id=run_id,
            status="cancel_requested",
            temporal_ui_url=self.ui_url(run_id, description.run_id),
        )

    async def cancel_definition_runs(self, workflow_id: str) -> CancelRuns:
        """Ask every running or waiting run of a definition to cancel: list them from
        visibility, then cancel with bounded concurrency (a server batch operation would be the
        alternative for very many runs). A waiting run records "cancelled" and drops its wait
        row. Visibility lags a moment: a run started a split second ago may be missed."""
        query = (
            f"{self.gateway.runs_scope} AND {SearchAttr.DEFINITION_ID} = {quote(workflow_id)} "
            "AND ExecutionStatus = 'Running'"
        )
        client = await self.gateway.client()
        run_ids: list[str] = []
        try:
            async for execution in client.list_workflows(query, rpc_timeout=RPC_TIMEOUT):
                run_ids.append(execution.id)
        except RPCError as exc:
            raise self._rpc_failure(exc) from exc
        gate = asyncio.Semaphore(CANCEL_CONCURRENCY)
        failed: dict[str, str] = {}

        async def cancel(run_id: str) -> None:
            async with gate:
                try:
                    await client.get_workflow_handle(run_id).cancel(rpc_timeout=RPC_TIMEOUT)
                except RPCError as exc:
                    failed[run_id] = exc.message or type(exc).__name__

        await asyncio.gather(*(cancel(run_id) for run_id in run_ids))
        return CancelRuns(
            workflow_id=workflow_id,
            cancel_requested=[r for r in run_ids if r not in failed],
            failed=failed,
        )

    # ------------------------------------------------------------ counts and analytics


# ---------------------------------------------------------------- pending activities

#: The regular activities a run waits on (conditions and actions are local activities: their
#: retries are counted in the trace by the workflow itself).
_PENDING_WHAT = {ACT_DELIVER_WEBHOOK: "webhook delivery", ACT_DISPATCH_EVENT: "event dispatch"}
_PENDING_STATE: dict[int, Literal["scheduled", "started", "cancel_requested", "paused"]] = {
    PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED: "scheduled",
    PendingActivityState.PENDING_ACTIVITY_STATE_STARTED: "started",
    PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED: "cancel_requested",
    PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED: "paused",
    PendingActivityState.PENDING_ACTIVITY_STATE_PAUSE_REQUESTED: "paused",
}


#: What the server keeps of a last failure too big to store with the pending activity.
_TRUNCATED = "Failure exceeds size limit."


async def _pending_attempts(
    client: Client, description: WorkflowExecutionDescription, steps: list[StepTrace]
) -> list[PendingAttempt]:
    """The run's pending activities as Temporal's describe() reports them (attempt, last
    failure, next attempt), tied to the step running now, whose note says it too, so the trace
    shows a webhook outage while it lasts rather than a step silently "running"."""
    infos = description.raw_description.pending_activities
    if not infos:
        return []
    running = next((s for s in reversed(steps) if s.status == "running"), None)
    pending = [await _pending_attempt(client, info, running) for info in infos]
    if running is not None:
        for item in pending:
            running.note = _join_note(running.note, _pending_note(item))
    return pending


async def _pending_attempt(
    client: Client, info: PendingActivityInfo, running: StepTrace | None
) -> PendingAttempt:
    name = info.activity_type.name
    error = error_type = None
    if info.HasField("last_failure"):
        failure = await client.data_converter.decode_failure(info.last_failure)
        if str(failure) == _TRUNCATED and failure.__cause__ is not None:
            failure = failure.__cause__  # the server cut a big failure down to its cause
        error = _plain_error(failure)
        error_type = (
            failure.type
            if isinstance(failure, ApplicationError) and failure.type
            else type(failure).__name__
        )
    return PendingAttempt(
        step_id=running.step_id if running else None,
        activity=name,
        what=_PENDING_WHAT.get(name, name.replace("_", " ")),
        state=_PENDING_STATE.get(info.state, "scheduled"),
        attempt=max(1, info.attempt),
        maximum_attempts=info.maximum_attempts or None,
        last_error=error,
        last_error_type=error_type,
        last_attempt_at=_time(info, "last_attempt_complete_time"),
        next_attempt_at=_time(info, "next_attempt_schedule_time"),
        expires_at=_time(info, "expiration_time"),
    )


def _time(info: PendingActivityInfo, field: str) -> datetime | None:
    if not info.HasField(field):  # type: ignore[arg-type]  # a Timestamp field of the message
        return None
    return getattr(info, field).ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]


def _pending_note(item: PendingAttempt) -> str:
    """`webhook delivery: attempt 3 in flight; attempt 2 failed: webhook answered 500: ...`."""
    current = "in flight" if item.state == "started" else item.state.replace("_", " ")
    if item.state == "scheduled" and item.next_attempt_at is not None:
        current = f"at {item.next_attempt_at:%H:%M:%S} UTC"
    note = f"{item.what}: attempt {item.attempt} {current}"
    if item.last_error:
        note += f"; attempt {item.attempt - 1} failed: {item.last_error}"
    return note


def _join_note(note: str | None, more: str) -> str:
    return f"{note}; {more}" if note else more


# ---------------------------------------------------------------- history decoding


@dataclass
class _Trace:
    result: RunResult | None
    source: Literal["result", "failure", "query", "none"]
    error: str | None = None
    error_type: str | None = None
    note: str | None = None


async def _decode_input(client: Client, events: Sequence[HistoryEvent]) -> RunInput:
    if not events or events[0].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise TemporalUnavailable("the run's history has no start event")
    payloads = events[0].workflow_execution_started_event_attributes.input.payloads
    [run_input] = await client.data_converter.decode(payloads, [RunInput])
    if not isinstance(run_input, RunInput):  # pragma: no cover - the converter obeys the hint
        run_input = RunInput.model_validate(run_input)
    return run_input


def _outcome(status: RunStatus, result: RunResult | None) -> Outcome | None:
    """The interpreter's outcome, unless the run was stopped from outside (cancelled, terminated,
    timed out): then the trace's provisional "running" says nothing."""
    if result is None or (status != "running" and result.outcome == "running"):
        return None
    return result.outcome


def _failed_trace(failure: BaseException) -> _Trace:
    """The partial trace and the plain-words error of a failed run: the interpreter fails with an
    ApplicationError("step 'x' (action) failed: why", RunResult) of type StepFailed."""
    trace = _Trace(None, "none", error=_plain_error(failure))
    if isinstance(failure, ApplicationError):
        trace.error_type = failure.type or "ApplicationError"
        if failure.details:
            try:
                trace.result = RunResult.model_validate(failure.details[0])
                trace.source = "failure"
            except ValidationError:
                trace.note = "the failure carries no readable trace"
        if trace.result and trace.result.error:
            trace.error = trace.result.error
    else:
        trace.error_type = type(failure).__name__
    return trace


def _plain_error(failure: BaseException) -> str:
    """The failure's message, followed by its causes' (\"because ...\") when they add something."""
    parts: list[str] = []
    current: BaseException | None = failure
    while current is not None and len(parts) < 5:
        message = getattr(current, "message", None) or str(current)
        if message and all(message not in p for p in parts):
            parts.append(message)
        current = current.__cause__
    return "; because ".join(parts) if parts else type(failure).__name__
