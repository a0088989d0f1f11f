"""Event retention on the real Temporal dev server: the prune schedule is created once (a second
start finds it), its first action runs the `PruneEvents` workflow on a real worker, and the
`prune_events` activity deletes the events older than the retention — but not the recent ones,
nor an old one whose runs still wait in the outbox. Its history replays under the worker's code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import ScheduleActionExecutionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from definitions.retention import PRUNE_EVENTS, PruneResult, prune_schedule_id
from desk.ingestion import EventIngestor
from store import outbox
from store.db import session_scope
from store.models import EventRow, utcnow
from store.settings import Settings
from temporal_edge import TemporalRunStarter, ensure_prune_schedule
from tests.desk_builders import make_event
from tests.temporal_fixtures import assert_eventually, history_replayer
from worker.main import build_worker
from worker.workflows import WORKFLOWS


def test_a_retention_under_a_day_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 1 day"):
        Settings(event_retention="12h")
    assert Settings(event_retention="45d").event_retention == timedelta(days=45)
    assert Settings().event_retention == timedelta(days=30)


async def test_the_schedule_prunes_old_events_and_keeps_what_the_outbox_needs(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, task_queue: str
) -> None:
    client = dev_env.client
    now = utcnow()
    clock = {"now": now}
    ingestor = EventIngestor(
        engine, TemporalRunStarter(client, task_queue), clock=lambda: clock["now"]
    )
    ages = {"old": 40, "old-owed": 35, "recent": 29, "today": 0}
    for name, days in ages.items():
        clock["now"] = now - timedelta(days=days)
        await ingestor.ingest(make_event(name, conversation={"id": f"c-{name}"}))
    with session_scope(engine) as session:  # its run start still waits for Temporal
        session.add(
            outbox.outbox_row(outbox.KIND_SIGNAL_SLA, "old-owed", "c-old-owed", "sla:x", {})
        )

    schedule_id = prune_schedule_id(task_queue)
    assert await ensure_prune_schedule(client, task_queue) is True
    assert await ensure_prune_schedule(client, task_queue) is False  # a second start: as it is
    handle = client.get_schedule_handle(schedule_id)
    try:
        description = await handle.describe()
        assert description.schedule.action.workflow == PRUNE_EVENTS  # type: ignore[attr-defined]
        async with build_worker(client, engine, settings, task_queue):

            async def pruned() -> list[str]:
                with Session(engine) as session:
                    left = sorted(session.exec(select(EventRow.id)).all())
                assert left == ["old-owed", "recent", "today"]
                return left

            await assert_eventually(pruned, timeout=30)

            async def completed() -> None:
                recent = (await handle.describe()).info.recent_actions
                assert recent, "the schedule has not acted yet"
                action = recent[0].action
                assert isinstance(action, ScheduleActionExecutionStartWorkflow)
                workflow = client.get_workflow_handle(action.workflow_id, result_type=PruneResult)
                assert (await workflow.result()).deleted == 1
                # The new workflow replays deterministically under the worker's code.
                replayer = history_replayer(WORKFLOWS)
                await replayer.replay_workflow(await workflow.fetch_history())

            await assert_eventually(completed, timeout=30)
    finally:
        await handle.delete()
