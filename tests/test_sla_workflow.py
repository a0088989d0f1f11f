"""ConversationSla on the time-skipping server, with the real SLA activities and a real database.

Breach runs are started for real (deterministic ids, search attributes, RunInput); `RecordingRun`
stands in for the interpreter and returns its input, so each test can read what the run got.
Set SUPPORTFLOW_RECORD_HISTORIES=1 to write the missing tests/histories/sla_*.json from these tests
(existing files are kept: they replay the paths older trackers took; delete one to re-record it).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.business_deadlines import BusinessDeadlineActivities
from activities.idle import IdleActivities
from activities.sla import SlaActivities
from definitions.events import Event
from definitions.runs import (
    RunInput,
    sla_workflow_id,
)
from definitions.sla import breach_run_id
from temporal_edge.connection import TemporalUnavailable
from temporal_edge.starts import signal_sla
from tests.sla_support import RecordingRun, event, sla_definition, store_definition
from tests.temporal_fixtures import assert_eventually
from worker.sla_workflow import BREACH_LOCAL_AT_START_PATCH, SLA_STATE_QUERY, ConversationSla

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("SUPPORTFLOW_RECORD_HISTORIES") == "1"


# ---------------------------------------------------------------- harness


class Sla:
    """One test's view of the tracker: send events, read state, skip time, find breach runs."""

    def __init__(self, env: WorkflowEnvironment, task_queue: str, engine: Engine) -> None:
        self.env = env
        self.client: Client = env.client
        self.task_queue = task_queue
        self.engine = engine
        self.prefix = uuid.uuid4().hex[:8]
        self.activities = SlaActivities(engine)
        self._events = 0

    def conversation(self, name: str) -> str:
        return f"{name}-{self.prefix}"

    def worker(self, *, cache: bool = True) -> Worker:
        """A worker with the tracker and the real SLA activities. `cache=False`: no sticky
        queue (the time-skipping server never moves a task off a stopped worker's sticky queue),
        so every task replays the history, as on a freshly started worker."""
        return Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[ConversationSla, RecordingRun],
            activities=[
                self.activities.lookup_sla_definitions,
                self.activities.start_sla_breach_run,
                IdleActivities(self.engine).start_idle_run,
                BusinessDeadlineActivities(self.engine).compute_business_deadlines,
            ],
            max_cached_workflows=1000 if cache else 0,
        )

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def send(self, conversation_id: str, kind: str, *, event_id: str | None = None,
                   **options: Any) -> Event:  # fmt: skip
        """What ingestion does for every event: signal-with-start the tracker, saying when the
        event was accepted (the server's clock: time is skipped here)."""
        self._events += 1
        now = await self.now()
        sent = event(
            event_id or f"{conversation_id}-e{self._events}",
            kind,
            conversation_id,
            now,
            **options,
        )
        attempt = 0
        while True:
            try:
                await signal_sla(self.client, sent, task_queue=self.task_queue, accepted_at=now)
                return sent
            except TemporalUnavailable as exc:
                # The test server closes a run that continues as new a moment before the next one
                # is current, and refuses a signal-with-start in between ("Completed workflow");
                # the real server does both in one step. The outbox would retry the same way.
                attempt += 1
                if attempt == 50 or "Completed workflow" not in str(exc.__cause__):
                    raise
                await asyncio.sleep(0.1)

    def tracker(self, conversation_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(sla_workflow_id(conversation_id))

    async def state(self, conversation_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.tracker(conversation_id).query(SLA_STATE_QUERY)
        return result

    async def settled(self, conversation_id: str, events: int, running: set[str]) -> dict[str, Any]:
        """Wait until the tracker applied `events` events, runs exactly `running`, and has looked
        its thresholds up (so its timers are armed before the test skips time)."""

        async def check() -> dict[str, Any]:
            state = await self.state(conversation_id)
            assert state.get("events_applied") == events, state
            assert set(state["running"]) == running, state
            if running:  # thresholds looked up, no lookup pending
                assert state["definitions_checked_at"] is not None, state
                assert not state["lookup_needed"], state
            return state

        return await assert_eventually(check)

    async def skip(self, **delta: float) -> None:
        await self.env.sleep(timedelta(**delta))

    async def breach(
        self, definition_id: str, conversation_id: str, clock: str, n: int, *, timeout: float = 10
    ) -> RunInput:
        """The input of a breach run, waiting for it to start (and, stand-in, to complete)."""
        run_id = breach_run_id(definition_id, conversation_id, clock, n)  # type: ignore[arg-type]

        async def started() -> RunInput:
            assert await self.exists(run_id), f"{run_id} not started"
            result = await self.client.get_workflow_handle(run_id).result()
            return RunInput.model_validate(result)

        return await assert_eventually(started, timeout=timeout)

    async def exists(self, workflow_id: str) -> bool:
        try:
            await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def record(self, shape: str, conversation_id: str) -> None:
        """Write the history of a shape not recorded yet. Existing files are kept: older ones
        hold the paths before a `workflow.patched` change, which must keep replaying."""
        path = HISTORIES / f"sla_{shape}.json"
        if RECORD and not path.exists():
            history = await self.tracker(conversation_id).fetch_history()
            HISTORIES.mkdir(exist_ok=True)
            path.write_text(history.to_json())


@pytest_asyncio.fixture
async def sla(time_env: WorkflowEnvironment, task_queue: str, engine: Engine) -> AsyncIterator[Sla]:
    yield Sla(time_env, task_queue, engine)


# ---------------------------------------------------------------- tests


async def test_first_response_met_vs_breached(sla: Sla) -> None:
    store_definition(sla.engine, "wf-fr", sla_definition("First reply", "first_response", "30m"))
    met, late = sla.conversation("met"), sla.conversation("late")
    async with sla.worker():
        await sla.send(met, "created")
        created = await sla.send(late, "created")
        await sla.settled(late, 1, {"first_response", "resolution"})
        await sla.skip(minutes=2)
        await sla.send(met, "message", sender="agent")
        await sla.settled(met, 2, {"resolution"})
        await sla.skip(minutes=29)

        run = await sla.breach("wf-fr", late, "first_response", 1)
        assert run.sla is not None and run.sla.type == "first_response"
        assert run.sla.threshold == "30m" and 30 <= run.sla.elapsed_minutes < 30.5
        assert run.sla.clock_started_at == created.occurred_at
        assert run.event == created and run.definition_id == "wf-fr"
        assert run.idempotency_scope == breach_run_id("wf-fr", late, "first_response", 1)
        description = await sla.client.get_workflow_handle(run.idempotency_scope).describe()
        attributes = description.typed_search_attributes
        assert attributes.get(SearchAttributeKey.for_keyword("TriggerType")) == "sla_breach"
        assert attributes.get(SearchAttributeKey.for_keyword("ConversationId")) == late
        assert attributes.get(SearchAttributeKey.for_keyword("WorkflowDefinitionId")) == "wf-fr"
        assert attributes.get(SearchAttributeKey.for_int("WorkflowDefinitionVersion")) == 1

        assert not await sla.exists(breach_run_id("wf-fr", met, "first_response", 1))
        state = await sla.state(late)
        assert state["running"]["first_response"]["fired"] == {"wf-fr": run.idempotency_scope}

        tracker = await sla.tracker(late).describe()
        sa = tracker.typed_search_attributes.get(SearchAttributeKey.for_keyword("ConversationId"))
        assert sa == late
        await sla.record("first_response_breached", late)
        await sla.record("first_response_met", met)

        # Issue 13: the breach run was started from a local activity, after its patch.
        history = [e async for e in sla.tracker(late).fetch_history_events()]
        scheduled = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        assert not [e for e in history if e.event_type == scheduled]
        patches = [
            json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)
            for e in history
            if e.marker_recorded_event_attributes.marker_name == "core_patch"
        ]
        assert BREACH_LOCAL_AT_START_PATCH in [patch["id"] for patch in patches]
        await sla.record("breach_local_at_start", late)


async def test_reply_clock_restarts_after_an_answer_but_not_while_running(sla: Sla) -> None:
    store_definition(sla.engine, "wf-reply", sla_definition("Reply", "reply", "10m"))
    conv = sla.conversation("reply")
    async with sla.worker():
        first = await sla.send(conv, "message", sender="customer")
        await sla.settled(conv, 1, {"reply"})
        await sla.skip(minutes=5)
        await sla.send(conv, "message", sender="customer")  # still waiting since `first`
        await sla.settled(conv, 2, {"reply"})
        await sla.skip(minutes=5, seconds=30)
        run = await sla.breach("wf-reply", conv, "reply", 1)
        assert run.sla is not None and run.sla.clock_started_at == first.occurred_at
        assert 10 <= run.sla.elapsed_minutes < 10.6

        await sla.send(conv, "message", sender="agent")
        second = await sla.send(conv, "message", sender="customer")
        await sla.settled(conv, 4, {"reply"})
        await sla.skip(minutes=11)
        run = await sla.breach("wf-reply", conv, "reply", 2)
        assert run.sla is not None and run.sla.clock_started_at == second.occurred_at
        assert not await sla.exists(breach_run_id("wf-reply", conv, "reply", 3))
        await sla.record("reply_restarted", conv)


async def test_resolution_breaches_and_resolving_ends_the_tracker(sla: Sla) -> None:
    store_definition(sla.engine, "wf-res", sla_definition("Resolve in 4h", "resolution", "4h"))
    quick, slow = sla.conversation("quick"), sla.conversation("slow")
    async with sla.worker():
        await sla.send(quick, "created")
        await sla.send(slow, "created")
        await sla.settled(slow, 1, {"first_response", "resolution"})
        await sla.skip(hours=1)
        await sla.send(quick, "status", from_status="open", to_status="resolved")
        result = await sla.tracker(quick).result()
        assert result["status"] == "resolved" and result["breaches_started"] == 0
        await sla.skip(hours=3, minutes=1)
        run = await sla.breach("wf-res", slow, "resolution", 1)
        assert run.sla is not None and run.sla.threshold == "4h"
        assert not await sla.exists(breach_run_id("wf-res", quick, "resolution", 1))

        await sla.send(slow, "status", from_status="open", to_status="closed")
        result = await sla.tracker(slow).result()
        assert result == {
            "conversation_id": slow,
            "status": "closed",
            "events_applied": 2,
            "breaches_started": 1,
        }
        await sla.record("resolution_breached_then_closed", slow)


async def test_two_definitions_on_the_same_clock_fire_at_their_own_thresholds(sla: Sla) -> None:
    store_definition(sla.engine, "wf-10", sla_definition("Ten", "first_response", "10m"))
    store_definition(sla.engine, "wf-30", sla_definition("Thirty", "first_response", "30m"))
    conv = sla.conversation("two")
    async with sla.worker():
        await sla.send(conv, "created")
        await sla.settled(conv, 1, {"first_response", "resolution"})
        await sla.skip(minutes=11)
        run = await sla.breach("wf-10", conv, "first_response", 1)
        assert run.sla is not None and run.sla.threshold == "10m"
        assert not await sla.exists(breach_run_id("wf-30", conv, "first_response", 1))
        await sla.skip(minutes=20)
        run = await sla.breach("wf-30", conv, "first_response", 1)
        assert run.sla is not None and 30 <= run.sla.elapsed_minutes < 31
        # an answer now satisfies the clock: no further breach, timers gone
        await sla.send(conv, "message", sender="agent")
        await sla.settled(conv, 2, {"resolution"})
        await sla.record("two_definitions", conv)


async def test_saved_definitions_reach_running_clocks_at_their_next_wake_up(sla: Sla) -> None:
    """No signal: each save bumps the definitions version; a tracker looks the definitions up
    again at its next event or deadline, and measures deadlines from the clock's start."""
    store_definition(
        sla.engine, "wf-late", sla_definition("Late", "first_response", "10m", status="draft")
    )
    store_definition(sla.engine, "wf-early", sla_definition("Early", "first_response", "20m"))
    store_definition(sla.engine, "wf-silent", sla_definition("Silent", "resolution", "30m"))
    woken, asleep = sla.conversation("woken"), sla.conversation("asleep")
    async with sla.worker():
        await sla.send(woken, "created")
        await sla.send(asleep, "created")
        state = await sla.settled(asleep, 1, {"first_response", "resolution"})
        assert sorted(d["id"] for d in state["definitions"]) == ["wf-early", "wf-silent"]
        await sla.settled(woken, 1, {"first_response", "resolution"})
        await sla.skip(minutes=2)
        store_definition(
            sla.engine, "wf-late", sla_definition("Late", "first_response", "10m"), version=2
        )
        store_definition(
            sla.engine,
            "wf-early",
            sla_definition("Early", "first_response", "20m", status="draft"),
            version=2,
        )
        await sla.skip(minutes=1)
        # `woken` gets a customer message: its next wake-up, the tracker sees the new version.
        await sla.send(woken, "message", sender="customer")

        async def looked_up_again() -> None:
            state = await sla.state(woken)
            assert sorted(d["id"] for d in state["definitions"]) == ["wf-late", "wf-silent"]

        await assert_eventually(looked_up_again)
        assert sorted(d["id"] for d in (await sla.state(asleep))["definitions"]) == [
            "wf-early",
            "wf-silent",
        ]  # nobody told the sleeping tracker anything
        # deactivated while both trackers sleep: the breach activity re-checks the store
        store_definition(
            sla.engine,
            "wf-silent",
            sla_definition("Silent", "resolution", "30m", status="draft"),
            version=2,
        )
        await sla.skip(minutes=7, seconds=30)
        run = await sla.breach("wf-late", woken, "first_response", 1)
        assert run.definition_version == 2 and run.sla is not None
        assert 10 <= run.sla.elapsed_minutes < 10.5  # on time, from creation, not activation
        assert not await sla.exists(breach_run_id("wf-late", asleep, "first_response", 1))

        # `asleep` wakes at wf-early's deadline (20m): inactive, and the version moved, so it
        # looks up, and wf-late's deadline (10m) has passed: it fires at once.
        await sla.skip(minutes=10)
        run = await sla.breach("wf-late", asleep, "first_response", 1)
        assert run.sla is not None and 20 <= run.sla.elapsed_minutes < 20.5
        await sla.skip(minutes=20)
        for conv in (woken, asleep):
            state = await sla.state(conv)
            assert [d["id"] for d in state["definitions"]] == ["wf-late"]
            assert state["breaches_started"] == 1
            assert not await sla.exists(breach_run_id("wf-early", conv, "first_response", 1))
            assert not await sla.exists(breach_run_id("wf-silent", conv, "resolution", 1))
        await sla.record("definitions_versioned", asleep)


async def test_a_reply_after_the_deadline_during_an_outage_does_not_cancel_the_breach(
    sla: Sla,
) -> None:
    """Issue 11: the worker is down while a deadline passes and the replies come in. The reply
    after the deadline comes too late (one breach); the one before it is in time (none)."""
    store_definition(sla.engine, "wf-out", sla_definition("Outage", "first_response", "15m"))
    late, early = sla.conversation("late"), sla.conversation("early")
    async with sla.worker(cache=False):
        created = await sla.send(late, "created")
        await sla.send(early, "created")
        await sla.settled(late, 1, {"first_response", "resolution"})
        await sla.settled(early, 1, {"first_response", "resolution"})
    # No worker from here (see the test above for the time-skipping server's limits): skip to
    # 5 s before the deadline, then let real time pass it.
    deadline = created.occurred_at + timedelta(minutes=15)
    await sla.skip(seconds=(deadline - await sla.now()).total_seconds() - 5)
    assert (await sla.send(early, "message", sender="agent")).occurred_at < deadline
    await asyncio.sleep(6)
    assert (await sla.send(late, "message", sender="agent")).occurred_at > deadline
    async with sla.worker(cache=False):
        run = await sla.breach("wf-out", late, "first_response", 1, timeout=30)
        assert run.sla is not None and run.sla.elapsed_minutes >= 15
        assert run.event.type == "conversation.created"  # the latest event before the deadline

        async def caught_up() -> None:
            for conv in (late, early):
                state = await sla.state(conv)
                assert state["events_applied"] == 2 and set(state["running"]) == {"resolution"}

        await assert_eventually(caught_up, timeout=30)
        assert (await sla.state(late))["breaches_started"] == 1
        assert (await sla.state(early))["breaches_started"] == 0
        assert not await sla.exists(breach_run_id("wf-out", early, "first_response", 1))
        assert not await sla.exists(breach_run_id("wf-out", late, "first_response", 2))
        await sla.record("reply_after_deadline_during_outage", late)


async def test_duplicate_events_change_nothing(sla: Sla) -> None:
    store_definition(sla.engine, "wf-dup", sla_definition("Reply", "reply", "10m"))
    conv = sla.conversation("dup")
    async with sla.worker():
        created = await sla.send(conv, "created", event_id=f"{conv}-created")
        await sla.send(conv, "created", event_id=f"{conv}-created")
        await sla.send(conv, "message", sender="customer", event_id=f"{conv}-ask")
        await sla.send(conv, "message", sender="agent", event_id=f"{conv}-answer")
        await sla.send(conv, "message", sender="customer", event_id=f"{conv}-ask")  # redelivered
        state = await sla.settled(conv, 3, {"resolution"})
        assert state["starts"] == {"first_response": 1, "resolution": 1, "reply": 1}
        await sla.skip(minutes=30)
        assert created.id in (await sla.state(conv))["seen_event_ids"]
        assert not await sla.exists(breach_run_id("wf-dup", conv, "reply", 1))


async def test_a_timer_pending_while_the_worker_is_down_fires_once(sla: Sla) -> None:
    store_definition(sla.engine, "wf-down", sla_definition("Down", "first_response", "15m"))
    conv = sla.conversation("down")
    async with sla.worker(cache=False):
        await sla.send(conv, "created")
        await sla.settled(conv, 1, {"first_response", "resolution"})
    # No worker: skip to just before the deadline (the test server cannot skip past a timer
    # whose workflow task nobody takes), then let the deadline pass in real time.
    await sla.skip(minutes=14, seconds=58)
    await asyncio.sleep(3)
    assert not await sla.exists(breach_run_id("wf-down", conv, "first_response", 1))
    async with sla.worker(cache=False):
        run = await sla.breach("wf-down", conv, "first_response", 1, timeout=30)
        assert run.sla is not None and run.sla.elapsed_minutes >= 15
        await sla.skip(minutes=30)
        state = await sla.state(conv)
        assert state["breaches_started"] == 1
        assert not await sla.exists(breach_run_id("wf-down", conv, "first_response", 2))
    async with sla.worker(cache=False):  # a third worker replays from scratch: nothing new
        await sla.skip(minutes=5)
        assert (await sla.state(conv))["breaches_started"] == 1
        await sla.record("worker_restarted", conv)


async def test_thousands_of_messages_continue_as_new_and_keep_the_clocks(sla: Sla) -> None:
    store_definition(sla.engine, "wf-long", sla_definition("Reply", "reply", "10m"))
    conv = sla.conversation("long")
    messages = int(os.environ.get("SLA_TEST_MESSAGES", "3000"))
    async with sla.worker():
        await sla.send(conv, "created")
        # In bursts of 250, as a busy conversation would send them (a tracker flooded without
        # pause continues-as-new once the burst ends; the time-skipping server then times the
        # continue-as-new task out instead of failing it at once, which only slows the test).
        for index in range(messages):
            await sla.send(conv, "message", sender="customer" if index % 2 == 0 else "agent")
            if index % 250 == 249:
                await sla.settled(conv, index + 2, {"resolution"})
        await sla.send(conv, "message", sender="customer")

        async def caught_up() -> dict[str, Any]:
            state = await sla.state(conv)
            assert state["events_applied"] == messages + 2
            return state

        state = await assert_eventually(caught_up, timeout=120)
        assert state["starts"]["reply"] == messages // 2 + 1
        description = await sla.tracker(conv).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        history = await sla.tracker(conv).fetch_history()
        assert len(history.events) < ConversationSla.continue_as_new_after_events + 200
        first = await sla.client.get_workflow_handle(sla_workflow_id(conv)).describe()
        first_run_id = first.raw_description.workflow_execution_info.first_run_id
        assert first.run_id != first_run_id
        if RECORD and not (HISTORIES / "sla_continued_as_new.json").exists():  # the first run
            handle = sla.client.get_workflow_handle(sla_workflow_id(conv), run_id=first_run_id)
            history = await handle.fetch_history()
            (HISTORIES / "sla_continued_as_new.json").write_text(history.to_json())
        await sla.skip(minutes=11)
        run = await sla.breach("wf-long", conv, "reply", messages // 2 + 1)
        assert run.event.message is not None and run.event.message.sender_type == "customer"


# ---------------------------------------------------------------- helpers


async def timer_summaries(sla: Sla, conversation_id: str) -> list[str]:
    """The summaries of every timer the tracker started (what the Temporal UI shows)."""
    history = await sla.tracker(conversation_id).fetch_history()
    converter = sla.client.data_converter.payload_converter
    return [
        str(converter.from_payload(item.user_metadata.summary, str))
        for item in history.events
        if item.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        and item.user_metadata.HasField("summary")
    ]
