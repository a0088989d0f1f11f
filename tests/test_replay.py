"""Recorded histories replay against the current workflow code (SPEC §5: replayed in CI).

Every file in tests/histories/ (see tests/record_histories.py for how they are recorded) must
replay without a non-determinism error; and a deliberately changed WorkflowRun must not, which
proves the check has teeth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from definitions.runs import (
    CONVERSATION_SLA,
    WORKFLOW_RUN,
    RunInput,
    RunResult,
    SlaTrackerInput,
    StepTrace,
)
from temporal_edge import data_converter
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
    "wait_timer",
    "wait_event",
    "wait_cancelled",
    # ConversationSla after patches sla-event-time / sla-definitions-version (issues 11, 17)
    "sla_reply_after_deadline_during_outage",
    "sla_definitions_versioned",
    # ConversationSla after patches sla-idle-trigger / sla-business-hours (issue 12)
    "sla_idle_fired",
    "sla_business_hours_breach",
}


def load(path: Path) -> WorkflowHistory:
    # The file holds the history only; the id is the file's name.
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_recorded_shape_is_present() -> None:
    assert EXPECTED_SHAPES <= {path.stem for path in HISTORY_FILES}


@pytest.mark.parametrize("path", HISTORY_FILES, ids=[p.stem for p in HISTORY_FILES])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter)
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None


@workflow.defn(name=WORKFLOW_RUN, sandboxed=False)
class ChangedWorkflowRun(WorkflowRun):
    """A careless change: every step now calls another activity than the recorded one."""

    @workflow.run
    async def run(self, input: RunInput) -> RunResult:
        return await super().run(input)

    async def _attempts(
        self, trace: StepTrace, activity: str, arg: Any, result_type: type[Any], summary: str
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
    replayer = Replayer(workflows=[ChangedWorkflowRun], data_converter=data_converter)
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES / "completed.json"))


@workflow.defn(name=CONVERSATION_SLA, sandboxed=False)
class TrackerWithoutIdle(ConversationSla):
    """A tracker that forgot its idle periods (as if the patch were removed too early)."""

    @workflow.run
    async def run(self, tracker: SlaTrackerInput) -> dict[str, Any]:
        return await super().run(tracker)

    def _idle_on(self) -> bool:
        return False


async def test_idle_history_needs_the_idle_path() -> None:
    replayer = Replayer(workflows=[TrackerWithoutIdle], data_converter=data_converter)
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES / "sla_idle_fired.json"))
