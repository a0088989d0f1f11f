"""The `time.*` fields end to end on the dev server (SPEC §2.3): a definition with a schedule
branches on `time.business_hours`; the dry run (POST /workflows/{id}/test) and a real run through
ingestion and the worker read the same values from the schedule — with a schedule open now and
one closed now, built around the current UTC time so the test does not depend on when it runs.
Also: the dry run answers 422 naming `assume.<id>` for an id that is not a wait_for step."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from definitions.schedules import WEEKDAYS
from tests import runs_fixtures
from tests.api_fixtures import error_of
from tests.runs_fixtures import RunsStack
from tests.test_waits_end_to_end import closed, created, post_event

runs_stack = runs_fixtures.runs_stack

NOW = datetime.now(UTC)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def open_now() -> dict[str, Any]:
    """Open around the clock, every day."""
    return {
        "name": "Always",
        "timezone": "UTC",
        "hours": {d: [["00:00", "24:00"]] for d in WEEKDAYS},
    }


def closed_now() -> dict[str, Any]:
    """Open only on the weekday three days from now, 09:00-17:00 UTC: closed today, tomorrow and
    the day after, whatever the time of day."""
    opens = NOW + timedelta(days=3)
    return {
        "name": "Rarely",
        "timezone": "UTC",
        "hours": {WEEKDAYS[opens.weekday()]: [["09:00", "17:00"]]},
    }


def steps() -> list[dict[str, Any]]:
    # Today's and tomorrow's weekday, so the condition holds even if the test runs at midnight.
    days = [WEEKDAYS[NOW.weekday()], WEEKDAYS[(NOW + timedelta(days=1)).weekday()]]
    return [
        {
            "id": "today",
            "type": "condition",
            "field": "time.weekday",
            "operator": "in",
            "value": days,
            "on_false": "continue",
        },
        {
            "id": "open",
            "type": "branch",
            "if": {"field": "time.business_hours", "operator": "equals", "value": "true"},
            "then": [
                {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["open"]}}
            ],
            "else": [
                {
                    "id": "after-hours",
                    "type": "action",
                    "action": "auto_reply",
                    "params": {"message": "We are closed; we open {{time.next_open}}."},
                }
            ],
        },
    ]


async def dry_and_real(
    stack: RunsStack, schedule: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    schedule_id = f"s-{uuid.uuid4().hex[:8]}"
    put = await stack.admin.put(f"/schedules/{schedule_id}", json=schedule)
    assert put.status_code == 201, put.text
    body = {
        "name": f"Hours {schedule_id}",
        "status": "active",
        "schedule": schedule_id,
        "trigger": {"type": "new_conversation"},
        "steps": steps(),
    }
    made = await stack.admin.post("/workflows", json=body)
    assert made.status_code == 201, made.text
    workflow_id = made.json()["id"]
    event = created(f"c-{uuid.uuid4().hex[:10]}")
    dry = await stack.admin.post(f"/workflows/{workflow_id}/test", json={"event": event})
    assert dry.status_code == 200, dry.text
    run_ids = [r for r in await post_event(stack, event) if f":{workflow_id}:" in r]
    assert len(run_ids) == 1, run_ids
    await closed(stack, run_ids[0])
    real = await stack.run_detail(run_ids[0], "completed")
    off = await stack.admin.patch(f"/workflows/{workflow_id}", json={"status": "draft"})
    assert off.status_code == 200, off.text
    return dry.json(), real


def agree(dry: dict[str, Any], real: dict[str, Any]) -> None:
    by_id = {s["step_id"]: s for s in real["trace"]}
    for step in dry["steps"]:
        if step["status"] == "not_taken":
            assert step["step_id"] not in by_id
            continue
        ran = by_id[step["step_id"]]
        if step["rules"]:
            assert [r["resolved"] for r in step["rules"]] == [
                r["actual"] for r in ran["condition"]["rules"]
            ]
            assert step["result"] == ran["condition"]["result"]
        if step["rendered"]:
            assert step["rendered"] == {k: ran["rendered"][k] for k in step["rendered"]}
    assert dry["steps"][1]["branch_taken"] == by_id["open"]["branch_taken"]


async def test_business_hours_branch_when_the_schedule_is_open(runs_stack: RunsStack) -> None:
    dry, real = await dry_and_real(runs_stack, open_now())
    agree(dry, real)
    assert dry["steps"][0]["result"] is True
    assert dry["steps"][1]["rules"][0]["resolved"] == "true"
    assert dry["steps"][1]["branch_taken"] == "then"


async def test_business_hours_branch_when_the_schedule_is_closed(runs_stack: RunsStack) -> None:
    dry, real = await dry_and_real(runs_stack, closed_now())
    agree(dry, real)
    assert dry["steps"][1]["rules"][0]["resolved"] == "false"
    assert dry["steps"][1]["branch_taken"] == "else"
    opens = NOW + timedelta(days=3)
    reply = next(s for s in real["trace"] if s["step_id"] == "after-hours")
    expected = f"We are closed; we open {DAY_NAMES[opens.weekday()]} 09:00 UTC."
    assert reply["rendered"]["message"] == expected


async def test_assume_must_name_a_wait_for_step(runs_stack: RunsStack) -> None:
    waits = [
        {"id": "cool", "type": "wait", "for": "1h"},
        {"id": "reply", "type": "wait_for", "event": "customer_message", "timeout": "1h"},
    ]
    made = await runs_stack.admin.post(
        "/workflows",
        json={"name": "Assume", "trigger": {"type": "new_conversation"}, "steps": waits},
    )
    assert made.status_code == 201, made.text
    url = f"/workflows/{made.json()['id']}/test"
    event = created("c-assume")
    for wrong, says in (("nope", "there is no step 'nope'"), ("cool", "is a wait step")):
        answer = await runs_stack.admin.post(url, json={"event": event, "assume": {wrong: "event"}})
        assert answer.status_code == 422, answer.text
        (detail,) = error_of(answer)["details"]
        assert detail["loc"] == ["body", "assume", wrong]
        assert says in detail["msg"] and "'reply'" in detail["msg"]
    fine = await runs_stack.admin.post(url, json={"event": event, "assume": {"reply": "event"}})
    assert fine.status_code == 200, fine.text
    assert (await runs_stack.viewer.get("/conversations/c-assume")).status_code == 404
