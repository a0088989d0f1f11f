"""Waits on the time-skipping server (SPEC §2.3): days-long timers pass in seconds; a wait_for ends
on the desk change (woken by the hint ingestion sends), at its timeout, or when cancelled; a lost
hint is harmless (the deadline re-check finds the change); the wait row is gone afterwards."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from definitions.runs import TRACE_QUERY, RunResult
from desk.ingestion import EventIngestor
from store.models import RunWaitRow
from store.settings import Settings
from temporal_edge import TemporalRunStarter
from tests import test_workflow_run
from tests.record_histories import make_event, make_input, mirror
from tests.record_histories import start_run as start_any_run
from tests.test_workflow_run import result_of, running_worker

# The fixtures of the interpreter's tests: a seeded database and settings for the test server.
db = test_workflow_run.db
local_settings = test_workflow_run.local_settings

TAG = {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["after-wait"]}}
FOLLOW_UP = {
    "id": "follow-up",
    "type": "action",
    "action": "auto_reply",
    "params": {"message": "Still there? Reply and we pick it up."},
}


def wait_for_reply(**extra: Any) -> dict[str, Any]:
    return {
        "id": "reply",
        "type": "wait_for",
        "event": "customer_message",
        "timeout": "48h",
        "on_event": "stop",
        **extra,
    }


def customer_message(conversation: Event, message_id: str, sender: str = "customer") -> Event:
    return Event.model_validate(
        {
            "id": f"evt-{message_id}",
            "type": "message.created",
            "occurred_at": conversation.occurred_at.isoformat(),
            "conversation": {"id": conversation.conversation.id, "channel": "whatsapp"},
            "message": {"id": message_id, "sender_type": sender, "content": "thanks!"},
        }
    )


async def waiting(handle: WorkflowHandle[Any, Any]) -> RunResult:
    """The trace once the run waits (queries do not skip time)."""
    for _ in range(200):
        trace: RunResult = await handle.query(TRACE_QUERY, result_type=RunResult)
        if trace.steps and trace.steps[-1].status == "waiting":
            return trace
        await asyncio.sleep(0.05)
    raise AssertionError("the run never started waiting")


async def ingest_now(
    env: WorkflowEnvironment, engine: Engine, task_queue: str, event: Event
) -> None:
    """Ingest `event` as the app does, stamped with the test server's (skipped) clock."""
    now: datetime = await env.get_current_time()
    starter = TemporalRunStarter(env.client, task_queue)
    await EventIngestor(engine, starter, clock=lambda: now).ingest(event)


async def start_run(client: Any, run_input: Any, task_queue: str) -> WorkflowHandle[Any, Any]:
    return await start_any_run(client, run_input, task_queue, execution_timeout=None)


def wait_rows(engine: Engine) -> list[RunWaitRow]:
    with Session(engine) as session:
        return list(session.exec(select(RunWaitRow)).all())


async def test_a_48h_wait_passes_in_seconds(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
) -> None:
    event = make_event()
    mirror(db, event)
    started = time.monotonic()
    async with running_worker(time_env.client, db, local_settings):
        handle = await start_run(
            time_env.client,
            make_input([{"id": "pause", "type": "wait", "for": "2d"}, TAG], event),
            local_settings.task_queue,
        )
        result = await result_of(handle)
    assert time.monotonic() - started < 30
    assert result.outcome == "completed"
    pause, tag = result.steps
    assert pause.step_type == "wait" and pause.status == "completed"
    assert pause.wait is not None and pause.wait.woken_by == "timer"
    assert pause.wait.deadline - pause.wait.started_at == timedelta(days=2)
    assert tag.started_at is not None and tag.started_at >= pause.wait.deadline
    history = await handle.fetch_history()
    summaries = [
        e.user_metadata.summary.data for e in history.events if e.HasField("user_metadata")
    ]
    assert any(b'"wait 2d"' in s for s in summaries)


async def test_wait_for_times_out_and_the_run_goes_on(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
) -> None:
    event = make_event()
    mirror(db, event)
    async with running_worker(time_env.client, db, local_settings):
        result = await result_of(
            await start_run(
                time_env.client,
                make_input([wait_for_reply(), FOLLOW_UP], event),
                local_settings.task_queue,
            )
        )
    assert result.outcome == "completed"
    reply, follow_up = result.steps
    assert reply.wait is not None
    assert (reply.wait.outcome, reply.wait.woken_by) == ("timeout", "timer")
    assert reply.output == {"outcome": "timeout"}
    assert reply.wait.deadline - reply.wait.started_at == timedelta(hours=48)
    assert follow_up.status == "completed"
    assert wait_rows(db) == []


async def test_a_customer_reply_wakes_the_run(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
) -> None:
    event = make_event()
    mirror(db, event)
    async with running_worker(time_env.client, db, local_settings):
        handle = await start_run(
            time_env.client,
            make_input([wait_for_reply(), FOLLOW_UP], event),
            local_settings.task_queue,
        )
        await waiting(handle)
        for _ in range(100):  # the first check records the wait row
            if wait_rows(db):
                break
            await asyncio.sleep(0.05)
        [row] = wait_rows(db)
        assert (row.conversation_id, row.event) == (event.conversation.id, "customer_message")
        # An automation or agent message is not what it waits for.
        await ingest_now(
            time_env, db, local_settings.task_queue, customer_message(event, "m-a", "agent")
        )
        await ingest_now(time_env, db, local_settings.task_queue, customer_message(event, "m-1"))
        await ingest_now(time_env, db, local_settings.task_queue, customer_message(event, "m-1"))
        result = await result_of(handle)
    assert result.outcome == "stopped" and result.stopped_at == "reply"
    [reply] = result.steps
    assert reply.wait is not None
    assert (reply.wait.outcome, reply.wait.woken_by) == ("event", "event")
    assert reply.wait.matched is not None and "m-1" in reply.wait.matched
    assert wait_rows(db) == []


class DroppingStarter(TemporalRunStarter):
    """Ingestion whose hints are lost (Temporal unreachable for the signal, say)."""

    async def signal_wait(self, workflow_id: str) -> None:
        del workflow_id  # lost


async def test_a_lost_hint_is_found_at_the_deadline(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
) -> None:
    event = make_event()
    mirror(db, event)
    async with running_worker(time_env.client, db, local_settings):
        handle = await start_run(
            time_env.client,
            make_input([wait_for_reply(on_event="continue"), FOLLOW_UP], event),
            local_settings.task_queue,
        )
        await waiting(handle)
        now = await time_env.get_current_time()
        starter = DroppingStarter(time_env.client, local_settings.task_queue)
        await EventIngestor(db, starter, clock=lambda: now).ingest(customer_message(event, "m-2"))
        result = await result_of(handle)
    reply = result.steps[0]
    assert reply.wait is not None
    assert (reply.wait.outcome, reply.wait.woken_by) == ("event", "event")
    assert reply.wait.ended_at is not None
    assert reply.wait.ended_at >= reply.wait.deadline  # found by the re-check at the deadline
    assert reply.wait.hints == 0


async def test_status_change_to_given_statuses_only(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
) -> None:
    event = make_event()
    mirror(db, event)
    step = {
        "id": "solved",
        "type": "wait_for",
        "event": "status_change",
        "to_statuses": ["resolved"],
        "timeout": "7d",
    }
    async with running_worker(time_env.client, db, local_settings):
        handle = await start_run(
            time_env.client, make_input([step, TAG], event), local_settings.task_queue
        )
        await waiting(handle)
        for index, status in enumerate(["pending", "resolved"]):
            change = Event.model_validate(
                {
                    "id": f"evt-status-{index}",
                    "type": "conversation.status_changed",
                    "occurred_at": event.occurred_at.isoformat(),
                    "conversation": {"id": event.conversation.id, "channel": "whatsapp"},
                    "from_status": "open",
                    "to_status": status,
                }
            )
            await ingest_now(time_env, db, local_settings.task_queue, change)
        result = await result_of(handle)
    solved = result.steps[0]
    assert solved.wait is not None and solved.wait.outcome == "event"
    assert solved.wait.matched is not None and "resolved" in solved.wait.matched


async def test_a_cancelled_wait_records_it_and_drops_its_row(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
) -> None:
    event = make_event()
    mirror(db, event)
    async with running_worker(time_env.client, db, local_settings):
        handle = await start_run(
            time_env.client,
            make_input([wait_for_reply(), FOLLOW_UP], event),
            local_settings.task_queue,
        )
        await waiting(handle)
        for _ in range(100):
            if wait_rows(db):
                break
            await asyncio.sleep(0.05)
        assert len(wait_rows(db)) == 1
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await result_of(handle)
        trace: RunResult = await handle.query(TRACE_QUERY, result_type=RunResult)
    [reply] = trace.steps
    assert reply.status == "cancelled"
    assert reply.wait is not None and reply.wait.woken_by == "cancelled"
    assert wait_rows(db) == []


async def test_branch_after_a_wait_reads_fresh_state(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
) -> None:
    """`steps.<id>.outcome` drives a branch; nested steps carry their path."""
    event = make_event()
    mirror(db, event)
    steps = [
        wait_for_reply(timeout="1h", on_event="continue"),
        {
            "id": "no-answer",
            "type": "branch",
            "if": {"field": "steps.reply.outcome", "operator": "equals", "value": "timeout"},
            "then": [FOLLOW_UP, {"id": "end", "type": "stop"}],
            "else": [TAG],
        },
        {**TAG, "id": "never"},
    ]
    async with running_worker(time_env.client, db, local_settings):
        result = await result_of(
            await start_run(time_env.client, make_input(steps, event), local_settings.task_queue)
        )
    assert [(s.step_id, s.status, s.path) for s in result.steps] == [
        ("reply", "completed", None),
        ("no-answer", "passed", None),
        ("follow-up", "completed", "no-answer.then"),
        ("end", "completed", "no-answer.then"),
    ]
    assert result.steps[1].branch_taken == "then"
    assert (result.outcome, result.stopped_at) == ("stopped", "end")


async def test_business_time_deadlines_come_from_the_schedule(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    """1 business hour on a 09:00-17:00 UTC weekday schedule: the deadline is fixed when the wait
    begins, from the schedule, and the timer fires then; `until: open` waits for the opening."""
    from definitions.business_time import BusinessClock
    from definitions.schedules import Schedule
    from store import schedules_repo

    day = [["09:00", "17:00"]]
    schedule = Schedule.model_validate(
        {
            "name": "UTC office",
            "timezone": "UTC",
            "hours": {
                **dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), day),
                "sat": [],
                "sun": [],
            },
        }
    )
    with Session(db) as session:
        schedules_repo.put(session, "office", schedule)
        session.commit()
    event = make_event()
    mirror(db, event)
    run_input = make_input([TAG], event)
    run_input.definition = WorkflowDefinitionIn.model_validate(
        {
            **run_input.definition.model_dump(),
            "schedule": "office",
            "steps": [
                {"id": "hour", "type": "wait", "for": "1h", "business_hours": True},
                {"id": "open", "type": "wait", "until": "open"},
                wait_for_reply(timeout="2h", business_hours=True),
            ],
        }
    )
    async with running_worker(time_env.client, db, local_settings):
        result = await result_of(
            await start_run(time_env.client, run_input, local_settings.task_queue)
        )
    clock = BusinessClock(schedule)
    hour, open_, reply = (step.wait for step in result.steps)
    assert hour is not None and open_ is not None and reply is not None
    assert hour.deadline == clock.add(hour.started_at, timedelta(hours=1))
    assert clock.is_open(open_.deadline)
    assert open_.deadline - clock.next_opening(open_.started_at) < timedelta(minutes=1)
    assert reply.deadline == clock.add(reply.started_at, timedelta(hours=2))
    assert result.steps[0].note is not None and "UTC" in result.steps[0].note
    assert reply.outcome == "timeout"
