"""Recorded histories replay against the current workflow code (SPEC §5: replayed in CI).

Every file in tests/histories/ (see tests/record_histories.py for how they are recorded) must
replay without a non-determinism error; and a deliberately changed WorkflowRun must not, which
proves the check has teeth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio import workflow
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from definitions.runs import (
    CONVERSATION_SLA,
    WORKFLOW_RUN,
    RunInput,
    RunResult,
    SlaTrackerInput,
    StepTrace,
)
from store.settings import Settings
from temporal_edge import quote
from tests.temporal_fixtures import assert_eventually, history_replayer
from worker.run_workflow import STEP_ATTEMPT_TIMEOUT, WorkflowRun
from worker.sla_workflow import ConversationSla
from worker.workflows import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"
HISTORY_FILES = sorted(HISTORIES.glob("*.json"))
EXPECTED_SHAPES = {
    "completed",
    "stopped",
    "stopped_run_outcome",  # after patch run-outcome-attribute
    "skip_next",
    "failed_step",
    "failed_on_failure",  # after patch on-failure-notify (issue 14)
    "status_dispatched",  # after patch time-bounded-retries (issue 17)
    "guarded_completed",  # after patch guarded-actions (issue 13)
    "guarded_stopped",
    "guarded_skip_next",
    "guarded_after_unguarded_condition",  # recorded at 3ea5769
    "guarded_chain_completed",  # more than one guarded action per call (issue 13)
    "guarded_chain_follow_up",
    "wait_timer",
    "wait_event",
    "wait_cancelled",
    "wait_worker_restarted",  # the worker stopped mid-wait; another one carried the run on
    # ConversationSla after patches sla-event-time / sla-definitions-version (issues 11, 17)
    "sla_reply_after_deadline_during_outage",
    "sla_definitions_versioned",
    # ConversationSla after patches sla-idle-trigger / sla-business-hours (issue 12)
    "sla_idle_fired",
    "sla_business_hours_breach",
    # ConversationSla after patch sla-breach-local-activity (issue 13), decided at the first
    # armed deadline
    "sla_breach_local_activity",
    # ... and after sla-breach-local-at-start, decided when the run starts
    "sla_breach_local_at_start",
}


def load(path: Path) -> WorkflowHistory:
    # The file holds the history only; the id is the file's name.
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_recorded_shape_is_present() -> None:
    assert EXPECTED_SHAPES <= {path.stem for path in HISTORY_FILES}


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.stem for p in HISTORY_FILES])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = history_replayer(WORKFLOWS)
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None


def test_the_restart_history_is_what_it_says() -> None:
    """The wait began on one worker and ended on another (tests/record_histories.py)."""
    from tests.record_histories import FIRST_WORKER, SECOND_WORKER

    events = load(HISTORIES / "wait_worker_restarted.json").events
    started = [
        e.workflow_task_started_event_attributes.identity
        for e in events
        if e.HasField("workflow_task_started_event_attributes")
    ]
    assert started[0] == FIRST_WORKER and started[-1] == SECOND_WORKER
    timer = next(e for e in events if e.HasField("timer_started_event_attributes"))
    fired = next(e for e in events if e.HasField("timer_fired_event_attributes"))
    second = next(
        e
        for e in events
        if e.HasField("workflow_task_started_event_attributes")
        and e.workflow_task_started_event_attributes.identity == SECOND_WORKER
    )
    assert timer.event_id < fired.event_id < second.event_id  # waiting when the first stopped


@workflow.defn(name=WORKFLOW_RUN, sandboxed=False)
class ChangedWorkflowRun(WorkflowRun):
    """A careless change: every step now calls another activity than the recorded one."""

    @workflow.run
    async def run(self, input: RunInput) -> RunResult:
        return await super().run(input)

    async def _attempts(
        self,
        trace: StepTrace,
        activity: str,
        arg: Any,
        result_type: type[Any],
        summary: str,
        made: int = 0,  # noqa: ARG002 - the signature it overrides
    ) -> Any:
        trace.attempts = 1
        return await workflow.execute_activity(
            f"{activity}_v2",
            arg,
            result_type=result_type,
            start_to_close_timeout=STEP_ATTEMPT_TIMEOUT,
            summary=summary,
        )


async def test_changed_workflow_fails_replay_with_non_determinism() -> None:
    replayer = history_replayer([ChangedWorkflowRun])
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES / "completed.json"))


async def test_on_failure_history_needs_the_notification(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded failure notified its on_failure team: code that no longer does (the patch
    removed too early) must not replay it."""
    from worker import run_workflow

    async def forgets(*_: Any) -> None:
        return None

    monkeypatch.setattr(run_workflow, "_notify_failure", forgets)
    replayer = history_replayer([ChangedNothingWorkflowRun])
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES / "failed_on_failure.json"))


@workflow.defn(name=WORKFLOW_RUN, sandboxed=False)
class ChangedNothingWorkflowRun(WorkflowRun):
    """WorkflowRun outside the sandbox, so a test can swap a module function under it."""

    @workflow.run
    async def run(self, input: RunInput) -> RunResult:
        return await super().run(input)


@workflow.defn(name=CONVERSATION_SLA, sandboxed=False)
class TrackerWithoutIdle(ConversationSla):
    """A tracker that forgot its idle periods (as if the patch were removed too early)."""

    @workflow.run
    async def run(self, tracker: SlaTrackerInput) -> dict[str, Any]:
        return await super().run(tracker)

    def _idle_on(self) -> bool:
        return False


async def test_idle_history_needs_the_idle_path() -> None:
    replayer = history_replayer([TrackerWithoutIdle])
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES / "sla_idle_fired.json"))


# ---------------------------------------------------------------- recent histories from a server


async def test_recent_histories_fetched_from_the_server_replay(
    dev_env: WorkflowEnvironment, engine: Engine, db_url: str, task_queue: str, tmp_path: Path
) -> None:
    """The CI step of TEMPORAL.md "Versioning": real runs of every scenario on the dev server,
    their histories fetched with `list_workflows(...).map_histories()` and replayed against the
    current code (as `supportflow replay` does against a production server)."""
    from tests.record_histories import SCENARIOS, make_event, mirror, seed_directory
    from tests.record_histories import start_run as start_recorded_run
    from worker.main import build_worker

    seed_directory(engine)
    settings = Settings(data_dir=tmp_path, database_url=db_url, task_queue=task_queue)
    client = dev_env.client
    async with build_worker(client, engine, settings, task_queue):
        for name, scenario in SCENARIOS.items():
            event = make_event(conversation_id=f"c-{name}-{task_queue}", customer=scenario.customer)
            mirror(engine, event)
            handle = await start_recorded_run(client, scenario.input(event), task_queue)
            try:
                await handle.result()
            except WorkflowFailureError:
                assert scenario.fails, name
    # Runs started by dispatched events (status_dispatched) are on the queue too.
    query = f"TaskQueue = {quote(task_queue)} AND ExecutionStatus != 'Running'"

    async def all_listed() -> list[WorkflowHistory]:
        histories = [h async for h in client.list_workflows(query).map_histories()]
        assert len(histories) >= len(SCENARIOS)  # visibility lags a moment
        return histories

    histories = await assert_eventually(all_listed)

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    replayer = history_replayer(WORKFLOWS)
    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    assert dict(results.replay_failures) == {}
