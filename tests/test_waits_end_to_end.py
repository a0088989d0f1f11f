"""Waits end to end on the dev server (SPEC §2.3), through the API, ingestion and a real worker,
with short durations: a 3 s `wait_for customer_message` — a reply 1 s later means no follow-up, no
reply means exactly one; waiting runs in `GET /runs?status=waiting`; cancelling a definition's
runs; and the dry run agreeing with a real run on a branching definition."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tests import runs_fixtures
from tests.runs_fixtures import RunsStack
from tests.temporal_fixtures import assert_eventually

runs_stack = runs_fixtures.runs_stack

FOLLOW_UP_TEXT = "Are you still there?"
FOLLOW_UP_STEPS: list[dict[str, Any]] = [
    {
        "id": "reply",
        "type": "wait_for",
        "event": "customer_message",
        "timeout": "3s",
        "on_event": "stop",
    },
    {
        "id": "follow-up",
        "type": "action",
        "action": "auto_reply",
        "params": {"message": FOLLOW_UP_TEXT},
    },
]


def created(conversation_id: str) -> dict[str, Any]:
    return {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "type": "conversation.created",
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": {"id": conversation_id, "channel": "whatsapp", "status": "pending"},
        "customer": {"id": "u-ada", "name": "Ada", "lifecycle": "customer", "segment": "vip"},
    }


def customer_reply(conversation_id: str) -> dict[str, Any]:
    return {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "type": "message.created",
        "occurred_at": "2026-11-27T10:00:01Z",
        "conversation": {"id": conversation_id, "channel": "whatsapp"},
        "message": {"id": f"m-{uuid.uuid4().hex[:8]}", "sender_type": "customer", "content": "ok"},
    }


async def post_event(stack: RunsStack, event: dict[str, Any]) -> list[str]:
    response = await stack.integration.post("/events", json=event)
    assert response.status_code == 202, response.text
    return list(response.json()["run_ids"])


async def closed(stack: RunsStack, run_id: str) -> None:
    """Until the run ends; a run still open after a minute fails the test with its detail."""
    try:
        await asyncio.wait_for(stack.wait_closed(run_id), 60)
    except TimeoutError:
        detail = await stack.viewer.get(f"/runs/{run_id}")
        raise AssertionError(f"run {run_id} did not end: {detail.text}") from None


async def follow_ups(stack: RunsStack, conversation_id: str) -> int:
    response = await stack.viewer.get(f"/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    messages = response.json()["messages"]
    return sum(1 for m in messages if m["content"] == FOLLOW_UP_TEXT)


async def test_a_reply_within_the_wait_means_no_follow_up(runs_stack: RunsStack) -> None:
    await runs_stack.create_workflow("Follow up after 3 s", FOLLOW_UP_STEPS)
    conversation = f"c-{uuid.uuid4().hex[:10]}"
    [run_id] = await post_event(runs_stack, created(conversation))

    waiting = await runs_stack.run_detail(run_id, "waiting")
    assert waiting["waiting_for"] == "customer_message"
    assert waiting["waiting_until"] is not None
    assert waiting["trace"][0]["wait"]["woken_by"] is None

    await asyncio.sleep(1)
    sent = time.monotonic()
    await post_event(runs_stack, customer_reply(conversation))
    await closed(runs_stack, run_id)
    woke_in = time.monotonic() - sent
    detail = await runs_stack.run_detail(run_id, "stopped")
    assert (detail["outcome"], detail["stopped_at"]) == ("stopped", "reply")
    wait = detail["trace"][0]["wait"]
    assert (wait["outcome"], wait["woken_by"]) == ("event", "event")
    assert woke_in < 1.5  # woken by the hint, well before the 3 s deadline
    assert await follow_ups(runs_stack, conversation) == 0


async def test_no_reply_means_exactly_one_follow_up(runs_stack: RunsStack) -> None:
    await runs_stack.create_workflow("Follow up after 3 s", FOLLOW_UP_STEPS)
    conversation = f"c-{uuid.uuid4().hex[:10]}"
    [run_id] = await post_event(runs_stack, created(conversation))

    async def listed() -> None:
        response = await runs_stack.viewer.get("/runs", params={"status": "waiting"})
        assert response.status_code == 200, response.text
        rows = {row["run_id"]: row for row in response.json()["data"]}
        assert run_id in rows, rows
        assert rows[run_id]["status"] == "waiting"
        assert rows[run_id]["waiting_for"] == "customer_message"

    await assert_eventually(listed, timeout=10)
    await closed(runs_stack, run_id)
    detail = await runs_stack.run_detail(run_id, "completed")
    assert detail["outcome"] == "completed"
    wait = detail["trace"][0]["wait"]
    assert (wait["outcome"], wait["woken_by"]) == ("timeout", "timer")
    assert await follow_ups(runs_stack, conversation) == 1


async def test_cancelling_a_definitions_runs(runs_stack: RunsStack) -> None:
    steps = [{"id": "pause", "type": "wait", "for": "2d"}, FOLLOW_UP_STEPS[1]]
    workflow_id = await runs_stack.create_workflow("Long wait", steps)
    run_ids = [
        (await post_event(runs_stack, created(f"c-{uuid.uuid4().hex[:10]}")))[0] for _ in range(3)
    ]
    for run_id in run_ids:
        await runs_stack.run_detail(run_id, "waiting")

    async def card_counts_them() -> None:  # the workflow card's count of waiting runs
        cards = (await runs_stack.viewer.get("/workflows")).json()["data"]
        assert [c["waiting"] for c in cards if c["id"] == workflow_id] == [3]

    await assert_eventually(card_counts_them, timeout=15)
    response = await runs_stack.admin.post(f"/workflows/{workflow_id}/runs/cancel")
    assert response.status_code == 202, response.text
    assert sorted(response.json()["cancel_requested"]) == sorted(run_ids)
    for run_id in run_ids:
        detail = await runs_stack.run_detail(run_id, "cancelled")
        [pause] = detail["trace"]
        assert pause["status"] == "cancelled" and pause["wait"]["woken_by"] == "cancelled"

    async def card_counts_none() -> None:  # cancelled runs still say RunPhase=waiting
        cards = (await runs_stack.viewer.get("/workflows")).json()["data"]
        assert [c["waiting"] for c in cards if c["id"] == workflow_id] == [0]

    await assert_eventually(card_counts_none, timeout=20)


BRANCHING: list[dict[str, Any]] = [
    {
        "id": "reply",
        "type": "wait_for",
        "event": "customer_message",
        "timeout": "2s",
    },
    {
        "id": "still-pending",
        "type": "branch",
        "if": {
            "all": [
                {"field": "steps.reply.outcome", "operator": "equals", "value": "timeout"},
                {"field": "conversation.status", "operator": "equals", "value": "pending"},
            ]
        },
        "then": [
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["nudged"]}},
            {
                "id": "vip",
                "type": "branch",
                "if": {"field": "customer.segment", "operator": "equals", "value": "vip"},
                "then": [{"id": "stop-vip", "type": "stop"}],
                "else": [FOLLOW_UP_STEPS[1]],
            },
        ],
        "else": [
            {"id": "note", "type": "action", "action": "add_tag", "params": {"tags": ["noted"]}}
        ],
    },
    {"id": "after", "type": "action", "action": "add_tag", "params": {"tags": ["after"]}},
]


async def test_dry_run_and_real_run_agree_on_a_branching_definition(
    runs_stack: RunsStack,
) -> None:
    workflow_id = await runs_stack.create_workflow("Branching", BRANCHING)
    conversation = f"c-{uuid.uuid4().hex[:10]}"
    event = created(conversation)
    response = await runs_stack.admin.post(
        f"/workflows/{workflow_id}/test", json={"event": event, "assume": {"reply": "timeout"}}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    [run_id] = await post_event(runs_stack, event)
    await closed(runs_stack, run_id)
    detail = await runs_stack.run_detail(run_id, "stopped")

    # The real trace lists what ran; the dry run also lists the path not taken and what a stop
    # leaves unrun.
    dry = [
        (s["step_id"], s["path"], s["status"])
        for s in report["steps"]
        if s["status"] != "not_taken" and not (s["reason"] or "").startswith("the run would stop")
    ]
    real = [(s["step_id"], s["path"], s["status"]) for s in detail["trace"]]
    as_run = {"would_run": "completed", "would_wait": "completed"}
    assert [(i, p, as_run.get(st, st)) for i, p, st in dry] == real
    assert [s["step_id"] for s in report["steps"]][-1] == "after"  # unrun, after the stop
    assert report["outcome"] == "would_stop" and detail["outcome"] == "stopped"
    assert report["stopped_at"] == detail["stopped_at"] == "stop-vip"
    not_taken = {s["step_id"] for s in report["steps"] if s["status"] == "not_taken"}
    assert not_taken == {"note", "follow-up"}
    branch = next(s for s in report["steps"] if s["step_id"] == "still-pending")
    assert branch["branch_taken"] == "then"
