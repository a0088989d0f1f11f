"""Runs and analytics from Temporal: visibility reads, run histories, retry and cancel (SPEC §4).

`RunsGateway(client, settings)` returns our own types (`app.runs_schemas`), never SDK objects, and
raises domain errors (`RunNotFound`, `RunConflict`, `InvalidRunsQuery`) that the routes map to
404 / 409 / 422; an unreachable Temporal becomes `app.temporal_gateway.TemporalUnavailable` (503).

Scope: every query is limited to `WorkflowType = "WorkflowRun"` on this deployment's task queue
(`settings.task_queue`), so the SLA trackers never show up as runs, and tests or benchmarks that
share one Temporal namespace with a fresh task queue each see only their own runs.

Analytics use count queries only, never a listing, so their cost does not grow with the number of
runs (see `RunsGateway.analytics` for the query budget and the accuracy of durations).

Visibility lags a moment behind the runs themselves (a run that just closed may still be counted
as running for up to a second or so), and only covers the namespace's retention (30 days on the
embedded stack): older runs are gone from both the lists and the analytics.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote as url_quote

from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from app.runs_schemas import (
    AnalyticsReport,
    AnalyticsWindow,
    Bucket,
    DurationBand,
    DurationStats,
    Outcome,
    RunControl,
    RunDetail,
    RunsPage,
    RunStatus,
    RunSummary,
    StatusCounts,
    TopWorkflow,
    TrendBucket,
)
from app.temporal_gateway import TemporalUnavailable, quote
from definitions.runs import (
    SA_CONVERSATION_ID,
    SA_DEFINITION_ID,
    SA_DEFINITION_VERSION,
    SA_TRIGGER_TYPE,
    WORKFLOW_RUN,
    RunInput,
    RunResult,
)
from store.settings import Settings

RPC_TIMEOUT = timedelta(seconds=10)
#: The `trace` query needs a worker to answer; a run whose worker is gone must not hang the API.
QUERY_TIMEOUT = timedelta(seconds=5)
#: Visibility calls in flight at once for one report.
QUERY_CONCURRENCY = 16
#: Most buckets one analytics report may have (e.g. 200 days, or 8 days and 8 hours by hour).
MAX_BUCKETS = 200
#: Most definitions ranked for "most triggered" (the caller passes the most recently updated first).
MAX_RANKED_DEFINITIONS = 200
MAX_PAGE_SIZE = 200
#: Retries of one run (`...:retry:1` ... `...:retry:100`).
MAX_RETRIES = 100

#: Upper edges of the `ExecutionDuration` bands, in milliseconds. Adjacent edges are at most 2x
#: apart from 50 ms to 2 minutes (at most 1.67x from 200 ms to 15 s, where runs usually end), and
#: at most 6x apart above.
DURATION_EDGES_MS: tuple[int, ...] = (
    50, 100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000,
    30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 14_400_000, 86_400_000,
)  # fmt: skip

DURATION_ACCURACY = (
    "Estimated from counts of runs per ExecutionDuration band (edges 50ms, 100ms, 200ms, 300ms, "
    "500ms, 750ms, 1s, 1.5s, 2s, 3s, 5s, 7.5s, 10s, 15s, 30s, 1m, 2m, 5m, 10m, 30m, 1h, 4h, 1d). "
    "The exact nearest-rank p95 always lies inside p95_bounds_seconds (one band: at most 1.67x "
    "wide between 200ms and 15s, at most 2x up to 2m); p95_seconds interpolates linearly inside "
    "it. The exact average always lies inside average_bounds_seconds; average_seconds counts each "
    "run at its band's midpoint (runs longer than 1 day at 1 day). Figures cover completed and "
    "failed runs that started in the window."
)

LAG_NOTE = (
    "From Temporal visibility, which lags the runs by a moment (a run that just ended may still "
    "count as running); only runs within the namespace's retention period are counted."
)

_DEFINITION_ID = SearchAttributeKey.for_keyword(SA_DEFINITION_ID)
_DEFINITION_VERSION = SearchAttributeKey.for_int(SA_DEFINITION_VERSION)
_TRIGGER_TYPE = SearchAttributeKey.for_keyword(SA_TRIGGER_TYPE)
_CONVERSATION_ID = SearchAttributeKey.for_keyword(SA_CONVERSATION_ID)
_RUN_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    _DEFINITION_ID,
    _DEFINITION_VERSION,
    _TRIGGER_TYPE,
    _CONVERSATION_ID,
)

#: Our status names <-> the ExecutionStatus values of visibility queries.
VISIBILITY_STATUS: dict[RunStatus, str] = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Canceled",
    "terminated": "Terminated",
    "timed_out": "TimedOut",
    "continued_as_new": "ContinuedAsNew",
}
_FROM_VISIBILITY: dict[str, RunStatus] = {v: k for k, v in VISIBILITY_STATUS.items()}
_FROM_SDK: dict[WorkflowExecutionStatus, RunStatus] = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued_as_new",
}
_RETRY_MARK = ":retry:"


# ---------------------------------------------------------------- domain errors


class RunNotFound(LookupError):
    """No WorkflowRun with this id in the namespace (never started, or past retention)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} not found")
        self.run_id = run_id


class RunConflict(Exception):
    """The run is not in a state that allows this operation (retry a non-failed run, ...)."""

    def __init__(self, run_id: str, status: RunStatus, message: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.status = status


class InvalidRunsQuery(ValueError):
    """A filter, window or cursor that cannot be answered; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---------------------------------------------------------------- query building (pure)


# One quoting rule for every visibility query of the app.
literal = quote


def timestamp(value: datetime) -> str:
    """A time literal for StartTime/CloseTime comparisons (RFC 3339, UTC)."""
    return literal(as_utc(value).isoformat())


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def duration_literal(ms: int) -> str:
    return literal(f"{ms}ms")


def _check(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()[:6]


def encode_cursor(token: bytes | None) -> str | None:
    """Temporal's page token with a checksum: a cursor we did not hand out is refused here (422)
    rather than sent to Temporal, which retries a garbled token, then fails as if it were down."""
    return base64.urlsafe_b64encode(_check(token) + token).decode("ascii") if token else None


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


def retry_base(run_id: str) -> str:
    """`run:wf:evt:retry:2` -> `run:wf:evt`: retries of retries are numbered on the first run."""
    return run_id.split(_RETRY_MARK, 1)[0]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    bucket: Bucket

    @staticmethod
    def resolve(
        start: datetime | None, end: datetime | None, bucket: Bucket, now: datetime
    ) -> Window:
        """Fill the defaults (to: now; from: 24 hours before by hour, 7 days before by day) and
        check the window has between 1 and `MAX_BUCKETS` buckets."""
        end = as_utc(end) if end is not None else now
        if start is None:
            start = end - (timedelta(hours=24) if bucket == "hour" else timedelta(days=7))
        start = as_utc(start)
        if start >= end:
            raise InvalidRunsQuery("from", "must be before 'to'")
        window = Window(start, end, bucket)
        if len(window.buckets()) > MAX_BUCKETS:
            raise InvalidRunsQuery(
                "bucket",
                f"the window spans more than {MAX_BUCKETS} {bucket}s; narrow from/to or use a "
                "larger bucket",
            )
        return window

    def buckets(self) -> list[tuple[datetime, datetime]]:
        """UTC-aligned hours or days, the first and last clipped to the window."""
        step = timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)
        edge = self.start.replace(minute=0, second=0, microsecond=0)
        if self.bucket == "day":
            edge = edge.replace(hour=0)
        out: list[tuple[datetime, datetime]] = []
        while edge < self.end:
            out.append((max(edge, self.start), min(edge + step, self.end)))
            edge += step
            if len(out) > MAX_BUCKETS:
                break
        return out


def duration_stats(measured: int, below: Sequence[int], longest_possible: float) -> DurationStats:
    """Average and p95 from band counts. `below[k]` = runs with ExecutionDuration below
    `DURATION_EDGES_MS[k]`; `measured` = all of them; `longest_possible` bounds the last band
    (no run of the window can have run longer than from the window's start until now)."""
    edges = [ms / 1000 for ms in DURATION_EDGES_MS]
    # Queries run one after the other on a changing store: keep the counts monotonic.
    cumulative: list[int] = []
    for count in below:
        cumulative.append(max(count, cumulative[-1] if cumulative else 0))
    total = max(measured, cumulative[-1] if cumulative else 0)
    lowers = [0.0, *edges]
    uppers: list[float | None] = [*edges, None]
    counts = [b - a for a, b in zip([0, *cumulative], [*cumulative, total], strict=True)]
    bands = [
        DurationBand(lower_seconds=lo, upper_seconds=hi, runs=n)
        for lo, hi, n in zip(lowers, uppers, counts, strict=True)
    ]
    if total == 0:
        return DurationStats(
            runs_measured=0,
            average_seconds=None,
            average_bounds_seconds=None,
            p95_seconds=None,
            p95_bounds_seconds=None,
            bands=bands,
            accuracy=DURATION_ACCURACY,
        )
    top = max(longest_possible, edges[-1])
    his = [hi if hi is not None else top for hi in uppers]
    mids = [
        (lo + hi) / 2 if up is not None else lo
        for lo, hi, up in zip(lowers, his, uppers, strict=True)
    ]
    average = sum(n * m for n, m in zip(counts, mids, strict=True)) / total
    low = sum(n * lo for n, lo in zip(counts, lowers, strict=True)) / total
    high = sum(n * hi for n, hi in zip(counts, his, strict=True)) / total
    rank = math.ceil(0.95 * total)  # nearest rank
    seen = 0
    p95 = p95_low = p95_high = 0.0
    for n, lo, hi, up in zip(counts, lowers, his, uppers, strict=True):
        if n and seen + n >= rank:
            p95_low, p95_high = lo, hi
            position = (rank - seen - 0.5) / n
            p95 = lo + (hi - lo) * position if up is not None else lo
            break
        seen += n
    return DurationStats(
        runs_measured=total,
        average_seconds=round(average, 6),
        average_bounds_seconds=(round(low, 6), round(high, 6)),
        p95_seconds=round(p95, 6),
        p95_bounds_seconds=(p95_low, p95_high),
        bands=bands,
        accuracy=DURATION_ACCURACY,
    )


def _status_counts(groups: Mapping[str, int], started: int) -> dict[str, int]:
    def get(name: RunStatus) -> int:
        return groups.get(VISIBILITY_STATUS[name], 0)

    return {
        "started": started,
        "running": get("running"),
        "completed": get("completed") + get("continued_as_new"),
        "failed": get("failed") + get("timed_out"),
        "cancelled": get("cancelled"),
        "terminated": get("terminated"),
    }


# ---------------------------------------------------------------- the gateway

ClientSource = Client | Callable[[], Awaitable[Client]]


class RunsGateway:
    """Temporal visibility and history reads, and run control, for the runs and analytics API.

    `client` is a connected client (pydantic data converter) or an async callable returning one
    (e.g. `TemporalGateway.client`, which reconnects while Temporal is down)."""

    def __init__(self, client: ClientSource, settings: Settings) -> None:
        self._client_source = client
        self.settings = settings

    async def client(self) -> Client:
        if isinstance(self._client_source, Client):
            return self._client_source
        return await self._client_source()

    # ------------------------------------------------------------ helpers

    @property
    def scope(self) -> str:
        """The filter every query starts with: our runs, on our task queue."""
        return (
            f"WorkflowType = {literal(WORKFLOW_RUN)} "
            f"AND TaskQueue = {literal(self.settings.task_queue)}"
        )

    def ui_url(self, workflow_id: str, temporal_run_id: str) -> str:
        namespace = url_quote(self.settings.temporal_namespace, safe="")
        return (
            f"{self.settings.temporal_ui_url}/namespaces/{namespace}/workflows/"
            f"{url_quote(workflow_id, safe='')}/{url_quote(temporal_run_id, safe='')}/history"
        )

    def _rpc_failure(self, exc: RPCError, run_id: str | None = None) -> Exception:
        if exc.status == RPCStatusCode.NOT_FOUND and run_id is not None:
            return RunNotFound(run_id)
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            return InvalidRunsQuery("query", f"Temporal rejected the query: {exc.message}")
        return TemporalUnavailable(
            f"Temporal call failed at {self.settings.temporal_address}: {exc.message or exc}"
        )

    async def _count(self, query: str) -> tuple[int, dict[str, int]]:
        """(count, {group value: count}) of a count query."""
        client = await self.client()
        try:
            result = await client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise self._rpc_failure(exc) from exc
        groups = {
            str(group.group_values[0]) if group.group_values else "": int(group.count)
            for group in result.groups
        }
        return int(result.count), groups

    def _summary(self, execution: WorkflowExecution, now: datetime) -> RunSummary:
        attrs = execution.typed_search_attributes
        status = _FROM_SDK.get(execution.status, "running") if execution.status else "running"
        closed = execution.close_time
        return RunSummary(
            run_id=execution.id,
            temporal_run_id=execution.run_id,
            workflow_id=attrs.get(_DEFINITION_ID),
            workflow_version=attrs.get(_DEFINITION_VERSION),
            trigger_type=attrs.get(_TRIGGER_TYPE),
            conversation_id=attrs.get(_CONVERSATION_ID),
            status=status,
            started_at=execution.start_time,
            closed_at=closed,
            duration_seconds=round(((closed or now) - execution.start_time).total_seconds(), 6),
            is_retry=_RETRY_MARK in execution.id,
            temporal_ui_url=self.ui_url(execution.id, execution.run_id),
        )

    async def _describe(self, run_id: str) -> tuple[Client, WorkflowExecutionDescription]:
        client = await self.client()
        try:
            description = await client.get_workflow_handle(run_id).describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise self._rpc_failure(exc, run_id) from exc
        if description.workflow_type != WORKFLOW_RUN:
            raise RunNotFound(run_id)
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
        clauses = [self.scope]
        if workflow_id:
            clauses.append(f"{SA_DEFINITION_ID} = {literal(workflow_id)}")
        if status:
            clauses.append(f"ExecutionStatus = {literal(VISIBILITY_STATUS[status])}")
        if conversation_id:
            clauses.append(f"{SA_CONVERSATION_ID} = {literal(conversation_id)}")
        if start is not None:
            clauses.append(f"StartTime >= {timestamp(start)}")
        if end is not None:
            clauses.append(f"StartTime < {timestamp(end)}")
        if start is not None and end is not None and as_utc(start) >= as_utc(end):
            raise InvalidRunsQuery("from", "must be before 'to'")
        query = " AND ".join(clauses)
        token = decode_cursor(cursor)
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        client = await self.client()
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

        (count, _), _ = await asyncio.gather(self._count(query), page())
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
        trace = await self._trace(client, handle, summary.status, events[-1] if events else None)
        return RunDetail(
            **summary.model_dump(),
            workflow_name=run_input.definition.name,
            event=run_input.event,
            idempotency_scope=run_input.idempotency_scope,
            retry_of=run_input.retry_of,
            outcome=_outcome(summary.status, trace.result),
            stopped_at=trace.result.stopped_at if trace.result else None,
            trace=trace.result.steps if trace.result else [],
            trace_source=trace.source,
            error=trace.error,
            error_type=trace.error_type,
            note=trace.note,
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
            result = await handle.query("trace", result_type=RunResult, rpc_timeout=QUERY_TIMEOUT)
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
        retry_input = original.model_copy(update={"retry_of": run_id})
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(key, value)
                for key in _RUN_ATTRIBUTES
                if (value := description.typed_search_attributes.get(key)) is not None
            ]
        )
        base = retry_base(run_id)
        existing, _ = await self._count(f"WorkflowId STARTS_WITH {literal(base + _RETRY_MARK)}")
        for n in range(existing + 1, MAX_RETRIES + 1):
            new_id = f"{base}{_RETRY_MARK}{n}"
            try:
                started = await client.start_workflow(
                    WORKFLOW_RUN,
                    retry_input,
                    id=new_id,
                    task_queue=description.task_queue,
                    search_attributes=attributes,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    static_summary=f"{original.definition.name} · retry of {run_id}",
                    rpc_timeout=RPC_TIMEOUT,
                )
            except WorkflowAlreadyStartedError:
                continue  # visibility lagged behind an earlier retry: take the next number
            except RPCError as exc:
                raise self._rpc_failure(exc) from exc
            return RunControl(
                run_id=new_id,
                status="started",
                retry_of=run_id,
                temporal_ui_url=self.ui_url(new_id, started.result_run_id or ""),
            )
        raise RunConflict(run_id, status, f"run {run_id!r} was retried {MAX_RETRIES} times already")

    async def cancel(self, run_id: str) -> RunControl:
        """Ask a running run to cancel (it stops at its next step and ends as cancelled)."""
        client, description = await self._describe(run_id)
        status = _FROM_SDK.get(description.status, "running") if description.status else "running"
        if status != "running":
            raise RunConflict(
                run_id, status, f"run {run_id!r} is {status}: only running runs can be cancelled"
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

    # ------------------------------------------------------------ counts and analytics

    async def count_executions(self, definition_ids: Sequence[str]) -> dict[str, int]:
        """Runs ever started (within retention) per definition: the cards' `execution_count`.
        One count query per definition, `QUERY_CONCURRENCY` at a time."""
        limit = asyncio.Semaphore(QUERY_CONCURRENCY)

        async def one(definition_id: str) -> int:
            async with limit:
                count, _ = await self._count(
                    f"{self.scope} AND {SA_DEFINITION_ID} = {literal(definition_id)}"
                )
                return count

        ids = list(dict.fromkeys(definition_ids))
        counts = await asyncio.gather(*(one(i) for i in ids))
        return dict(zip(ids, counts, strict=True))

    async def count_all_executions(self) -> int:
        """Every run started (within retention): the summary's `total_executions`."""
        count, _ = await self._count(self.scope)
        return count

    async def analytics(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        bucket: Bucket = "day",
        workflow_id: str | None = None,
        definitions: Mapping[str, str] | None = None,
        top: int = 5,
        now: datetime | None = None,
    ) -> AnalyticsReport:
        """Trend, rates, durations and the most triggered workflows of runs started in
        [start, end), from count queries only, so the cost is flat in the number of runs.

        Query budget (run `QUERY_CONCURRENCY` at a time): one `GROUP BY ExecutionStatus` count per
        bucket (at most `MAX_BUCKETS`), one count per duration band edge plus one
        (`len(DURATION_EDGES_MS) + 1` = 24), and one count per ranked definition (at most
        `MAX_RANKED_DEFINITIONS` of `definitions`, id -> name, most recently updated first; only
        `workflow_id` when given). Totals are the sum of the buckets.

        Accuracy: counts are exact as of each query (visibility lags completion by a moment). The
        average and the p95 duration come from the band counts: the exact values are guaranteed
        inside the reported bounds; see `DURATION_ACCURACY`.

        A run counts in the bucket in which it *started*, with its status *now*; "completed"
        includes runs stopped by a condition (Temporal sees both as a completed workflow).
        """
        now = as_utc(now) if now is not None else datetime.now(UTC)
        window = Window.resolve(start, end, bucket, now)
        base = self.scope
        if workflow_id:
            base += f" AND {SA_DEFINITION_ID} = {literal(workflow_id)}"
        limit = asyncio.Semaphore(QUERY_CONCURRENCY)
        queries = 0

        async def count(query: str) -> tuple[int, dict[str, int]]:
            nonlocal queries
            async with limit:
                queries += 1
                return await self._count(query)

        def started_between(a: datetime, b: datetime) -> str:
            return f"StartTime >= {timestamp(a)} AND StartTime < {timestamp(b)}"

        in_window = f"{base} AND {started_between(window.start, window.end)}"
        measured = (
            f"{in_window} AND ExecutionStatus IN "
            f"({literal('Completed')}, {literal('Failed')}, {literal('TimedOut')})"
        )
        buckets = window.buckets()
        trend_calls = [
            count(f"{base} AND {started_between(a, b)} GROUP BY ExecutionStatus")
            for a, b in buckets
        ]
        band_calls = [
            count(f"{measured} AND ExecutionDuration < {duration_literal(ms)}")
            for ms in DURATION_EDGES_MS
        ]
        ranked = [workflow_id] if workflow_id else list(definitions or {})[:MAX_RANKED_DEFINITIONS]
        rank_calls = [count(f"{in_window} AND {SA_DEFINITION_ID} = {literal(d)}") for d in ranked]
        results = await asyncio.gather(*trend_calls, count(measured), *band_calls, *rank_calls)
        trend_results = results[: len(buckets)]
        measured_count = results[len(buckets)][0]
        band_results = results[len(buckets) + 1 : len(buckets) + 1 + len(DURATION_EDGES_MS)]
        rank_results = results[len(buckets) + 1 + len(DURATION_EDGES_MS) :]

        trend = [
            TrendBucket(start=a, end=b, **_status_counts(groups, total))
            for (a, b), (total, groups) in zip(buckets, trend_results, strict=True)
        ]
        totals = StatusCounts(
            **{
                name: sum(getattr(b, name) for b in trend)
                for name in ("started", "running", "completed", "failed", "cancelled", "terminated")
            }
        )
        ended = totals.completed + totals.failed + totals.cancelled + totals.terminated
        durations = duration_stats(
            measured_count,
            [n for n, _ in band_results],
            longest_possible=(now - window.start).total_seconds(),
        )
        names = definitions or {}
        top_workflows = sorted(
            (
                TopWorkflow(workflow_id=d, name=names.get(d), executions=n)
                for d, (n, _) in zip(ranked, rank_results, strict=True)
                if n > 0
            ),
            key=lambda t: (-t.executions, t.name or "", t.workflow_id),
        )[: max(top, 0)]
        return AnalyticsReport(
            window=AnalyticsWindow.model_validate(
                {
                    "from": window.start,
                    "to": window.end,
                    "bucket": window.bucket,
                    "workflow_id": workflow_id,
                }
            ),
            totals=totals,
            success_rate=round(totals.completed / ended, 6) if ended else None,
            failure_rate=round(totals.failed / ended, 6) if ended else None,
            durations=durations,
            trend=trend,
            top_workflows=top_workflows,
            queries=queries,
            generated_at=now,
            note=LAG_NOTE,
        )


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
