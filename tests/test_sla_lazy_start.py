"""Lazily started SLA trackers (definitions/sla.py), over HTTP with the real dev server and a real
worker: the tracker's first workflow task waits for the conversation's next event or for a minute
before the earliest deadline, and then does what a tracker started at once would have done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from definitions.runs import sla_workflow_id
from definitions.sla import TRACKER_WAKE_MARGIN
from tests import api_fixtures
from tests.api_fixtures import Api
from tests.temporal_fixtures import assert_eventually
from worker.sla_workflow import SLA_STATE_QUERY

api = api_fixtures.api
admin = api_fixtures.admin


def first_response_rule(threshold: str) -> dict[str, Any]:
    return {
        "name": f"First response within {threshold}",
        "status": "active",
        "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": threshold},
        "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
    }


def conversation_event(
    event_id: str, conversation_id: str, at: datetime, **changes: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id,
        "type": "conversation.created",
        "occurred_at": at.isoformat(),
        "conversation": {"id": conversation_id, "channel": "live_chat", "status": "open"},
        "customer": {"id": "u-1", "name": "Ada"},
    }
    event.update(changes)
    return event


async def history(tracker: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return [event async for event in tracker.fetch_history_events()]


def of_type(events: list[HistoryEvent], kind: EventType.ValueType) -> list[HistoryEvent]:
    return [event for event in events if event.event_type == kind]


async def test_an_answered_conversations_tracker_runs_once_with_both_events_and_arms_no_timer(
    api: Api, admin: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    from worker.main import build_worker

    assert (await admin.post("/workflows", json=first_response_rule("1h"))).status_code == 201
    conversation_id = f"c-lazy-{api.settings.task_queue}"
    tracker = dev_env.client.get_workflow_handle(sla_workflow_id(conversation_id))
    now = datetime.now(UTC)
    async with build_worker(dev_env.client, api.engine, api.settings):
        created = conversation_event(f"evt-1-{conversation_id}", conversation_id, now)
        assert (await admin.post("/events", json=created)).status_code == 202
        events = await history(tracker)
        started = events[0].workflow_execution_started_event_attributes
        backoff = started.first_workflow_task_backoff.ToTimedelta()
        # Woken a minute before the hour is up (less the moments since the event).
        assert timedelta(minutes=58) < backoff <= timedelta(hours=1) - TRACKER_WAKE_MARGIN
        assert not of_type(events, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)

        reply = conversation_event(
            f"evt-2-{conversation_id}",
            conversation_id,
            now + timedelta(seconds=30),
            type="message.created",
            message={"id": "m-1", "sender_type": "agent", "content": "Hello Ada"},
        )
        assert (await admin.post("/events", json=reply)).status_code == 202

        async def applied_both() -> dict[str, Any]:
            state: dict[str, Any] = await tracker.query(SLA_STATE_QUERY)
            assert state["events_applied"] == 2
            return state

        state = await assert_eventually(applied_both, timeout=20)
        assert state["first_response_done"] is True
        assert "first_response" not in state["running"]
        events = await history(tracker)
        assert len(of_type(events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) == 1
        assert not of_type(events, EventType.EVENT_TYPE_TIMER_STARTED)  # nothing left to time


async def test_a_silent_conversations_tracker_wakes_before_the_deadline_and_arms_its_timer(
    api: Api, admin: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    """A 2-minute rule and a conversation created 57 s ago: the tracker wakes in about 3 s, one
    minute before the deadline, and arms a timer for the minute left."""
    from worker.main import build_worker

    assert (await admin.post("/workflows", json=first_response_rule("2m"))).status_code == 201
    conversation_id = f"c-wake-{api.settings.task_queue}"
    tracker = dev_env.client.get_workflow_handle(sla_workflow_id(conversation_id))
    occurred_at = datetime.now(UTC) - timedelta(seconds=57)
    deadline = occurred_at + timedelta(minutes=2)
    async with build_worker(dev_env.client, api.engine, api.settings):
        created = conversation_event(f"evt-1-{conversation_id}", conversation_id, occurred_at)
        assert (await admin.post("/events", json=created)).status_code == 202

        async def timer_armed() -> list[HistoryEvent]:
            events = await history(tracker)
            assert of_type(events, EventType.EVENT_TYPE_TIMER_STARTED)
            return events

        events = await assert_eventually(timer_armed, timeout=30)
        (task,) = of_type(events, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        woke_at = task.event_time.ToDatetime(tzinfo=UTC)
        assert woke_at >= deadline - TRACKER_WAKE_MARGIN - timedelta(seconds=1)  # not before
        (timer,) = of_type(events, EventType.EVENT_TYPE_TIMER_STARTED)
        timeout = timer.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        fires_at = woke_at + timeout
        assert abs(fires_at - deadline) < timedelta(seconds=1)  # the deadline, to the second
