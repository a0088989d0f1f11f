"""Response models of the runs and analytics endpoints (SPEC §4): our own types, built by
`app.temporal.runs.RunsGateway` from Temporal visibility and history, never SDK objects."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from definitions.cursor import Outcome as Outcome  # re-exported: the one outcome vocabulary
from definitions.events import Event
from definitions.runs import StepTrace

#: `stopped`: completed in Temporal, but a condition stopped it (its `RunOutcome` search
#: attribute, set since patch run-outcome-attribute; older stopped runs list as completed).
RunStatus = Literal[
    "running",
    "waiting",
    "completed",
    "stopped",
    "failed",
    "cancelled",
    "terminated",
    "timed_out",
    "continued_as_new",
]
Bucket = Literal["hour", "day"]


# ---------------------------------------------------------------- runs


class RunSummary(BaseModel):
    """One run as visibility knows it."""

    run_id: str = Field(
        description="The run's id (its Temporal workflow id): `run:{workflow_id}:{event_id}`, "
        "`...:retry:{n}` for a retry",
        examples=["run:wf_3f9a1c2b7d4e5f60:evt-123"],
    )
    temporal_run_id: str = Field(description="Temporal's id of this execution of the run")
    workflow_id: str | None = Field(
        description="The workflow definition the run executes", examples=["wf_3f9a1c2b7d4e5f60"]
    )
    workflow_version: int | None = Field(description="The definition version pinned by the run")
    trigger_type: str | None = Field(examples=["new_conversation"])
    conversation_id: str | None = Field(examples=["c-9"])
    status: RunStatus
    started_at: datetime
    closed_at: datetime | None = Field(description="When the run ended; null while it runs")
    duration_seconds: float | None = Field(
        description="Close minus start; while running, the time it has been running so far"
    )
    is_retry: bool = Field(description="True when this run retries a failed one")
    temporal_ui_url: str = Field(description="This run in the Temporal Web UI")
    waiting_for: str | None = Field(
        default=None,
        description="While waiting: what for (`4h`, `customer_message`, `status_change → "
        "resolved`)",
        examples=["customer_message"],
    )
    waiting_until: datetime | None = Field(
        default=None, description="While waiting: the wait's deadline"
    )


class RunsPage(BaseModel):
    """One page of runs, running first then most recently closed first."""

    data: list[RunSummary]
    count: int = Field(description="Runs matching the filters (all pages), from a count query")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class PendingAttempt(BaseModel):
    """Work a running run waits on while Temporal retries it: a webhook delivery or an event
    dispatch (the run's pending activities, read live from Temporal, so each read shows the
    attempt in progress and why the previous one failed)."""

    step_id: str | None = Field(
        description="The step it belongs to (the step running now); null when the trace is "
        "unavailable",
        examples=["route"],
    )
    activity: str = Field(description="The activity's name", examples=["deliver_webhook"])
    what: str = Field(description="The same in words", examples=["webhook delivery"])
    state: Literal["scheduled", "started", "cancel_requested", "paused"] = Field(
        description="started: an attempt is in flight; scheduled: waiting for the next attempt"
    )
    attempt: int = Field(
        description="The attempt in flight or scheduled next (1 = the first)", examples=[3]
    )
    maximum_attempts: int | None = Field(
        description="The attempt limit; null: retried by time until `expires_at`"
    )
    last_error: str | None = Field(
        description="Why the previous attempt failed; null before any attempt failed",
        examples=["webhook answered 500: upstream down"],
    )
    last_error_type: str | None = Field(
        description="Its stable type", examples=["WebhookUnavailable"]
    )
    last_attempt_at: datetime | None = Field(description="When the previous attempt ended")
    next_attempt_at: datetime | None = Field(description="When the next attempt starts (scheduled)")
    expires_at: datetime | None = Field(
        description="When retrying gives up and the step fails (null: no deadline)"
    )


class RunDetail(RunSummary):
    """One run with its pinned input, step-by-step trace and, when it failed, why."""

    workflow_name: str = Field(description="The definition's name as the run saw it")
    event: Event = Field(description="The event that started the run")
    idempotency_scope: str = Field(
        description="Actions take effect once per (scope, step); a retry keeps the original's scope"
    )
    retry_of: str | None = Field(description="The failed run this run retries")
    outcome: Outcome | None = Field(
        description="How the interpreter ended: completed every step, stopped by a condition, "
        "or failed at a step; running while in flight. Null when cancelled, terminated or timed "
        "out (the trace then shows how far it got)"
    )
    stopped_at: str | None = Field(description="The condition step that stopped the run")
    trace: list[StepTrace] = Field(
        description="Each step: condition values and results, action outputs, attempts, errors"
    )
    trace_source: Literal["result", "failure", "query", "none"] = Field(
        description="Where the trace came from: the run's result (completed), the failure details "
        "(failed), the `trace` query (running, cancelled or terminated), or nowhere"
    )
    error: str | None = Field(
        description="Why the run failed (or was cancelled, terminated, timed out), in plain words",
        examples=["step 'route' (route) failed: team 'ghost' does not exist"],
    )
    error_type: str | None = Field(
        description="The stable error type, e.g. StepFailed", examples=["StepFailed"]
    )
    note: str | None = Field(default=None, description="Anything partial about this answer")
    pending: list[PendingAttempt] = Field(
        default=[],
        description="While the run runs: the webhook deliveries and event dispatches it waits "
        "on, with the current attempt and the last error (empty when none is pending)",
    )


class CancelRuns(BaseModel):
    """The answer of POST /workflows/{id}/runs/cancel."""

    workflow_id: str
    cancel_requested: list[str] = Field(description="Runs asked to cancel (running or waiting)")
    failed: dict[str, str] = Field(
        default={}, description="Runs that could not be asked, with the reason"
    )


class RunControl(BaseModel):
    """The answer of retry and cancel."""

    run_id: str = Field(description="The new run (retry) or the run asked to cancel (cancel)")
    status: Literal["started", "cancel_requested"]
    retry_of: str | None = None
    temporal_ui_url: str


# ---------------------------------------------------------------- analytics


class StatusCounts(BaseModel):
    """Runs by current status. `failed` includes runs that timed out."""

    started: int = Field(description="Every run started (whatever its status now)")
    running: int = 0
    completed: int = Field(
        default=0,
        description="Ended normally, including runs stopped by a condition (a stop is a success)",
    )
    failed: int = 0
    cancelled: int = 0
    terminated: int = 0


class TrendBucket(StatusCounts):
    """Runs that started in [start, end), by their status now."""

    start: datetime
    end: datetime


class DurationBand(BaseModel):
    lower_seconds: float
    upper_seconds: float | None = Field(description="null: no upper edge (the last band)")
    runs: int


class DurationStats(BaseModel):
    """Execution time of the runs that ended on their own (completed and failed), estimated from
    counts per `ExecutionDuration` band. The true values are guaranteed within the bounds."""

    runs_measured: int
    average_seconds: float | None = Field(description="Band midpoints weighted by band counts")
    average_bounds_seconds: tuple[float, float] | None = Field(
        description="The exact average lies in [lower, upper] (every run at its band's lower or "
        "upper edge)"
    )
    p95_seconds: float | None = Field(description="Linear interpolation inside the p95's band")
    p95_bounds_seconds: tuple[float, float] | None = Field(
        description="The band that holds the exact (nearest-rank) p95"
    )
    bands: list[DurationBand]
    accuracy: str = Field(description="How exact these figures are")


class TopWorkflow(BaseModel):
    workflow_id: str
    name: str | None = Field(description="From the definitions store; null if deleted")
    executions: int = Field(description="Runs started in the window")


class AnalyticsWindow(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    bucket: Bucket
    workflow_id: str | None = None


class AnalyticsReport(BaseModel):
    """Run analytics for a window, from Temporal visibility count queries only."""

    model_config = ConfigDict(populate_by_name=True)

    window: AnalyticsWindow
    totals: StatusCounts
    success_rate: float | None = Field(
        description="completed / ended runs (completed + failed + cancelled + terminated); "
        "null when none ended"
    )
    failure_rate: float | None = Field(description="failed / ended runs; null when none ended")
    stopped: int = Field(
        default=0,
        description="Of the completed runs, those a condition stopped (one more count query)",
    )
    durations: DurationStats
    trend: list[TrendBucket]
    top_workflows: list[TopWorkflow] = Field(
        description="The most triggered workflows of the window, most runs first"
    )
    queries: int = Field(description="Visibility count queries this report took")
    generated_at: datetime
    note: str = Field(
        description="Visibility lags completion by a moment; the window is bounded by retention"
    )
