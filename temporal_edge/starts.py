"""Every start of a `WorkflowRun`, and the signal-with-start of a conversation's SLA tracker.

Ingestion, dispatched events, retries and SLA breaches all start runs through one private
`_start_run` (as Tracecat's single `_start_workflow`), so every run carries the same search
attributes, the same kind of static summary, `REJECT_DUPLICATE` (an id that ran once never runs
again), the RPC timeout and the classification of failures: `StartRefused` for what no retry
can fix (a payload that cannot be serialised, a request the server rejects as invalid, e.g. too
large), `TemporalUnavailable` for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from definitions.events import Event
from definitions.runs import (
    CONVERSATION_SLA,
    RETRY_MARK,
    SLA_EVENT_SIGNAL,
    WAIT_HINT_SIGNAL,
    WORKFLOW_RUN,
    RunInput,
    SlaSignal,
    SlaTrackerInput,
    StartRefused,
    retry_base,
    retry_run_id,
    run_workflow_id,
    sla_workflow_id,
)
from definitions.sla import MEMO_SLA_CLOCK, sla_static_summary
from temporal_edge.connection import RPC_TIMEOUT, Client, rpc_failure
from temporal_edge.search import SearchAttr, quote, run_search_attributes

#: Retries of one run (`...:retry:1` ... `...:retry:100`).
MAX_RETRIES = 100

BreachStart = Literal["started", "already_started", "id_taken"]

#: Statuses with which the server refuses the request itself (blob too large, bad search
#: attribute): asking again would get the same answer.
PERMANENT_STATUSES = frozenset({RPCStatusCode.INVALID_ARGUMENT})

#: What encoding a payload raises when it cannot be serialised (pydantic's
#: PydanticSerializationError is a ValueError; too deep a structure, a RecursionError).
_ENCODING_ERRORS = (ValueError, TypeError, RecursionError, OverflowError)


def _refused(exc: BaseException) -> StartRefused | None:
    """`StartRefused` for a failure no retry can fix, else None."""
    if isinstance(exc, RPCError):
        if exc.status in PERMANENT_STATUSES:
            return StartRefused(f"Temporal refused the start: {exc.message or exc}")
        return None
    if isinstance(exc, _ENCODING_ERRORS):
        return StartRefused(f"the input cannot be serialised: {type(exc).__name__}: {exc}")
    return None


@dataclass(frozen=True)
class StartedRun:
    workflow_id: str
    temporal_run_id: str


def run_summary(run_input: RunInput) -> str:
    """The static summary of a run in the Temporal UI."""
    name = run_input.definition.name
    if run_input.retry_of is not None:
        return f"{name} · retry of {run_input.retry_of}"
    if run_input.sla is not None:
        sla = run_input.sla
        return (
            f"SLA breach: {sla.type} over {sla.threshold} on conversation "
            f"{run_input.event.conversation.id} — {name}"
        )
    return f"{name} · {run_input.event.type}"


async def _start_run(
    client: Client,
    run_input: RunInput,
    *,
    workflow_id: str,
    task_queue: str,
    id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.FAIL,
    memo: dict[str, Any] | None = None,
    rpc_timeout: timedelta = RPC_TIMEOUT,
    summary: str | None = None,
) -> StartedRun | None:
    """Start one WorkflowRun; None when a run with this id exists (running, under
    `USE_EXISTING`, or closed: `REJECT_DUPLICATE`). Raises `StartRefused` or
    `TemporalUnavailable`."""
    try:
        handle = await client.start_workflow(
            WORKFLOW_RUN,
            run_input,
            id=workflow_id,
            task_queue=task_queue,
            search_attributes=run_search_attributes(run_input),
            id_conflict_policy=id_conflict_policy,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary or run_summary(run_input),
            memo=memo,
            rpc_timeout=rpc_timeout,
        )
    except WorkflowAlreadyStartedError:
        return None
    except (RPCError, *_ENCODING_ERRORS) as exc:
        refused = _refused(exc)
        if refused is not None:
            raise refused from exc
        assert isinstance(exc, RPCError)
        raise rpc_failure(client, exc) from exc
    return StartedRun(workflow_id, handle.result_run_id or "")


async def start_event_run(
    client: Client, run_input: RunInput, *, task_queue: str, rpc_timeout: timedelta = RPC_TIMEOUT
) -> None:
    """The run of one (definition, event), id `run:{definition}:{event}`; starting it again (a
    duplicate event, a retried dispatch, the outbox relay) is a no-op."""
    await _start_run(
        client,
        run_input,
        workflow_id=run_workflow_id(run_input.definition_id, run_input.event.id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        rpc_timeout=rpc_timeout,
    )


async def start_retry_run(
    client: Client, run_input: RunInput, *, retry_of: str, task_queue: str
) -> StartedRun | None:
    """A new run of `run_input` (the failed run's pinned input) recording `retry_of`, id
    `{first run}:retry:{n}` with the first free n; None after `MAX_RETRIES` retries."""
    retry_input = run_input.model_copy(update={"retry_of": retry_of})
    prefix = retry_base(retry_of) + RETRY_MARK
    try:
        counted = await client.count_workflows(
            f"WorkflowId STARTS_WITH {quote(prefix)}", rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as exc:
        raise rpc_failure(client, exc) from exc
    for number in range(counted.count + 1, MAX_RETRIES + 1):
        started = await _start_run(
            client,
            retry_input,
            workflow_id=retry_run_id(retry_of, number),
            task_queue=task_queue,
        )
        if started is not None:
            return started
        # visibility lagged behind an earlier retry: take the next number
    return None


async def start_breach_run(
    client: Client,
    run_input: RunInput,
    *,
    workflow_id: str,
    task_queue: str,
    clock_memo: str,
    summary: str | None = None,
) -> BreachStart:
    """The run of one SLA breach or idle period, memo naming the clock start (or period) it
    belongs to. When the id exists, "already_started" if that run is this clock start's (a
    retried activity, a replayed tracker), else "id_taken" (an earlier tracker of the
    conversation used it: take the next number). `summary` replaces the default static summary."""
    started = await _start_run(
        client,
        run_input,
        workflow_id=workflow_id,
        task_queue=task_queue,
        memo={MEMO_SLA_CLOCK: clock_memo},
        summary=summary,
    )
    if started is not None:
        return "started"
    try:
        existing = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        raise rpc_failure(client, exc) from exc
    same = (await existing.memo()).get(MEMO_SLA_CLOCK) == clock_memo
    return "already_started" if same else "id_taken"


async def signal_sla(
    client: Client,
    event: Event,
    *,
    task_queue: str,
    accepted_at: datetime | None = None,
    wake_at: datetime | None = None,
    rpc_timeout: timedelta = RPC_TIMEOUT,
) -> None:
    """Hand an event to its conversation's SLA tracker, starting the tracker if needed.
    `accepted_at` is when we accepted the event (default: now): it bounds the event's time (the
    outbox relay passes the acceptance time, not the delivery time). A tracker this starts runs
    its first workflow task at `wake_at` (Temporal's start delay; None or past: at once), or
    earlier at the next signal-with-start, which is how every later event reaches it; a running
    tracker just gets the signal. At least once: the tracker ignores an event id it has seen
    (`SlaClocks.apply`)."""
    conversation_id = event.conversation.id
    delay = wake_at - datetime.now(UTC) if wake_at is not None else None
    try:
        await client.start_workflow(
            CONVERSATION_SLA,
            SlaTrackerInput(conversation_id=conversation_id),
            id=sla_workflow_id(conversation_id),
            task_queue=task_queue,
            start_signal=SLA_EVENT_SIGNAL,
            start_signal_args=[
                SlaSignal(event=event, accepted_at=accepted_at or datetime.now(UTC))
            ],
            static_summary=sla_static_summary(conversation_id),
            start_delay=delay if delay is not None and delay > timedelta(0) else None,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SearchAttr.CONVERSATION_ID.key, conversation_id)]
            ),
            rpc_timeout=rpc_timeout,
        )
    except (RPCError, *_ENCODING_ERRORS) as exc:
        refused = _refused(exc)
        if refused is not None:
            raise refused from exc
        assert isinstance(exc, RPCError)
        raise rpc_failure(client, exc) from exc


async def signal_wait(client: Client, workflow_id: str) -> None:
    """Hint a run waiting in a `wait_for` to re-check the desk (by workflow id, so it reaches the
    current execution). A run that closed meanwhile is not an error: hints are only hints."""
    try:
        await client.get_workflow_handle(workflow_id).signal(
            WAIT_HINT_SIGNAL, rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return
        raise rpc_failure(client, exc) from exc


class TemporalRunStarter:
    """`desk.ingestion.RunStarter` over a connected client: what the worker's `dispatch_event`
    (and any other ingestion outside the API) hands to `EventIngestor`."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start_run(self, run_input: RunInput) -> None:
        await start_event_run(self.client, run_input, task_queue=self.task_queue)

    async def signal_sla(
        self, event: Event, accepted_at: datetime | None = None, wake_at: datetime | None = None
    ) -> None:
        await signal_sla(
            self.client,
            event,
            task_queue=self.task_queue,
            accepted_at=accepted_at,
            wake_at=wake_at,
        )

    async def signal_wait(self, workflow_id: str) -> None:
        await signal_wait(self.client, workflow_id)
