"""The backtest agrees with real runs (issue 15, "done when"): a few hundred events of several kinds
go through POST /events to an active definition with a condition, a wait_for and a branch, real
runs execute on the dev server (the wait_for decided by customer replies that do or do not come),
then POST /workflows/{id}/backtest replays the same recorded events. Every count of the backtest
— matched, outcomes, stops by step, actions by type — equals what the runs did."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

from sqlmodel import Session, select

from definitions.runs import RunResult
from store.models import RunWaitRow
from tests import runs_fixtures
from tests.runs_fixtures import RunsStack
from tests.temporal_fixtures import assert_eventually

runs_stack = runs_fixtures.runs_stack

DEFINITION_STEPS: list[dict[str, Any]] = [
    {"id": "segment", "type": "condition", "field": "customer.segment", "operator": "in",
     "value": ["vip", "gold"], "on_false": "stop"},
    {"id": "reply", "type": "wait_for", "event": "customer_message", "timeout": "20s",
     "on_event": "stop", "on_timeout": "continue"},
    {"id": "urgent", "type": "branch",
     "if": {"field": "conversation.priority", "operator": "equals", "value": "high"},
     "then": [{"id": "tag-urgent", "type": "action", "action": "add_tag",
               "params": {"tags": ["urgent"]}}],
     "else": [{"id": "nudge", "type": "action", "action": "auto_reply",
               "params": {"message": "Hi {{customer.name}}, are you still there?"}}]},
    {"id": "done", "type": "action", "action": "add_tag", "params": {"tags": ["followed-up"]}},
]  # fmt: skip

SEGMENTS = ("vip", "gold", "regular", "vip", "gold")
CONVERSATIONS = 60  # on WhatsApp: the trigger's channel
OTHERS = 40  # on email: never matched


def event(kind: str, conversation: str, channel: str, n: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "type": kind,
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": {"id": conversation, "channel": channel},
        **extra,
    }
    if kind == "conversation.created":
        body["conversation"]["priority"] = "high" if n % 3 == 0 else "normal"
        body["customer"] = {"id": f"u-{conversation}", "name": f"Customer {n}",
                            "segment": SEGMENTS[n % len(SEGMENTS)]}  # fmt: skip
    return body


def message(conversation: str, channel: str, sender: str) -> dict[str, Any]:
    text = {"id": f"m-{uuid.uuid4().hex[:8]}", "sender_type": sender, "content": "hello"}
    return event("message.created", conversation, channel, 0, message=text)


class Sender:
    def __init__(self, stack: RunsStack) -> None:
        self.stack = stack
        self.limit = asyncio.Semaphore(6)
        self.sent = 0
        self.run_ids: list[str] = []

    async def post(self, body: dict[str, Any]) -> list[str]:
        async with self.limit:
            response = await self.stack.integration.post("/events", json=body)
        assert response.status_code == 202, response.text
        self.sent += 1
        run_ids = list(response.json()["run_ids"])
        self.run_ids += run_ids
        return run_ids

    async def waiting(self, run_id: str) -> None:
        """Until the run's wait_for has begun (its wait row is written when it does)."""

        async def check() -> None:
            with Session(self.stack.api.engine) as session:
                row = session.exec(select(RunWaitRow).where(RunWaitRow.workflow_id == run_id))
                assert row.first() is not None

        await assert_eventually(check, timeout=15, interval=0.1)

    async def whatsapp(self, n: int) -> None:
        conversation = f"c-wa-{n}-{uuid.uuid4().hex[:6]}"
        run_ids = await self.post(event("conversation.created", conversation, "whatsapp", n))
        await self.post(message(conversation, "whatsapp", "agent"))  # never ends the wait
        if SEGMENTS[n % len(SEGMENTS)] != "regular" and n % 2 == 0:
            [run_id] = run_ids
            await self.waiting(run_id)
            await self.post(message(conversation, "whatsapp", "customer"))

    async def email(self, n: int) -> None:
        conversation = f"c-em-{n}-{uuid.uuid4().hex[:6]}"
        await self.post(event("conversation.created", conversation, "email", n))
        await self.post(message(conversation, "email", "customer"))
        await self.post(message(conversation, "email", "agent"))
        status = {"from_status": "open", "to_status": "pending"}
        await self.post(event("conversation.status_changed", conversation, "email", n, **status))
        update = {"changes": {"tags": {"from": [], "to": ["billing"]}}}
        body = event("conversation.updated", conversation, "email", n, **update)
        body["conversation"]["tags"] = ["billing"]
        await self.post(body)


async def test_backtest_counts_equal_what_real_runs_did(runs_stack: RunsStack) -> None:
    workflow_id = await runs_stack.create_workflow(
        "Nudge silent VIPs", DEFINITION_STEPS, channels=["whatsapp"]
    )
    sender = Sender(runs_stack)
    await asyncio.gather(
        *(sender.whatsapp(n) for n in range(CONVERSATIONS)),
        *(sender.email(n) for n in range(OTHERS)),
    )
    assert sender.sent >= 300

    outcomes: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    for run_id in sender.run_ids:
        handle = runs_stack.temporal.get_workflow_handle(run_id, result_type=RunResult)
        result = await asyncio.wait_for(handle.result(), 90)
        outcomes[result.outcome] += 1
        if result.stopped_at:
            stopped[result.stopped_at] += 1
        actions.update(
            step.action
            for step in result.steps
            if step.step_type == "action" and step.status == "completed" and step.action
        )
    # Every path was taken: both stops, both sides of the branch.
    assert outcomes["completed"] and stopped["segment"] and stopped["reply"]
    assert actions["auto_reply"] and actions["add_tag"] > actions["auto_reply"]

    response = await runs_stack.viewer.post(f"/workflows/{workflow_id}/backtest")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["events_scanned"] == sender.sent
    assert report["matched"] == len(sender.run_ids) == CONVERSATIONS
    assert report["outcomes"] == {
        "would_complete": outcomes["completed"],
        "would_stop": outcomes["stopped"],
        "would_wait": 0,
    }
    assert report["stopped_by_step"] == dict(stopped)
    assert report["actions"] == dict(actions)
