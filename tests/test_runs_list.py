"""GET /runs from Temporal visibility: filters (workflow, status, conversation, time range),
cursor pagination without gaps or repeats, bad input answered 422, and who may read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import runs_fixtures
from tests.runs_fixtures import RunsStack
from tests.temporal_fixtures import assert_eventually

runs_stack = runs_fixtures.runs_stack

TAG = [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["seen"]}}]
ROUTE_NOWHERE = [
    {"id": "route", "type": "action", "action": "route", "params": {"team": "no-such-team"}}
]


async def ids(stack: RunsStack, **params: Any) -> list[str]:
    response = await stack.viewer.get("/runs", params=params)
    assert response.status_code == 200, response.text
    return [run["run_id"] for run in response.json()["data"]]


async def test_runs_are_filtered_and_paginated(runs_stack: RunsStack) -> None:
    stack = runs_stack
    before = datetime.now(UTC) - timedelta(seconds=1)
    tagger = await stack.create_workflow("Tagger", TAG, customer_segments=["gold"])
    router = await stack.create_workflow_with_missing_team(
        "Router", ROUTE_NOWHERE, "no-such-team", customer_segments=["bronze"]
    )
    tagged: list[str] = []
    for _ in range(4):
        tagged += await stack.send(segment="gold")
    quoted_conversation = "c-o'brien"
    [failed] = await stack.send(segment="bronze", conversation_id=quoted_conversation)
    await asyncio.gather(*(stack.wait_closed(r) for r in [*tagged, failed]))

    async def all_visible() -> None:
        response = await stack.viewer.get("/runs", params={"status": "completed"})
        assert response.json()["count"] == 4, response.text

    await assert_eventually(all_visible, timeout=15)

    assert sorted(await ids(stack, workflow_id=tagger)) == sorted(tagged)
    assert await ids(stack, workflow_id=router) == [failed]
    assert await ids(stack, status="failed") == [failed]
    assert await ids(stack, status="running") == []
    assert await ids(stack, conversation_id=quoted_conversation) == [failed]
    assert len(await ids(stack, **{"from": before.isoformat()})) == 5
    assert await ids(stack, to=before.isoformat()) == []

    # Pages of 2: every run exactly once, then no cursor.
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await stack.viewer.get("/runs", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["count"] == 5
        seen += [run["run_id"] for run in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 5
    assert sorted(seen) == sorted([*tagged, failed])

    summary = (await stack.viewer.get("/runs", params={"status": "failed"})).json()["data"][0]
    assert summary["workflow_id"] == router and summary["workflow_version"] == 1
    assert summary["conversation_id"] == quoted_conversation
    assert summary["trigger_type"] == "new_conversation" and summary["is_retry"] is False
    assert summary["closed_at"] is not None and summary["duration_seconds"] >= 0


async def test_bad_filters_are_422_and_only_readers_read(runs_stack: RunsStack) -> None:
    stack = runs_stack
    bad_cursor = await stack.viewer.get("/runs", params={"cursor": "%%%"})
    assert bad_cursor.status_code == 422, bad_cursor.text
    assert bad_cursor.json()["error"]["details"][0]["loc"] == ["query", "cursor"]
    bad_status = await stack.viewer.get("/runs", params={"status": "sleeping"})
    assert bad_status.status_code == 422, bad_status.text
    assert (await stack.viewer.get("/runs", params={"limit": 0})).status_code == 422
    now = datetime.now(UTC)
    backwards = await stack.viewer.get(
        "/runs", params={"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}
    )
    assert backwards.status_code == 422, backwards.text

    assert (await stack.admin.get("/runs")).status_code == 200
    assert (await stack.integration.get("/runs")).status_code == 403
    anonymous = await stack.api.client()
    assert (await anonymous.get("/runs")).status_code == 401
    assert (await stack.integration.get("/runs/run:x:y")).status_code == 403


STOP_UNLESS_CUSTOMER = [
    {
        "id": "is-customer",
        "type": "condition",
        "field": "customer.lifecycle",
        "operator": "equals",
        "value": "lead",
        "on_false": "stop",
    },
    *TAG,
]


async def test_runs_stopped_by_a_condition_are_their_own_status(runs_stack: RunsStack) -> None:
    """A stopped run completes in Temporal; its RunOutcome attribute sets it apart everywhere."""
    stack = runs_stack
    await stack.create_workflow("Leads only", STOP_UNLESS_CUSTOMER, customer_segments=["vip"])
    [stopped] = await stack.send()  # Ada is a customer, not a lead: the condition stops the run
    tagger = await stack.create_workflow("Tagger", TAG, customer_segments=["gold"])
    [completed] = await stack.send(segment="gold")
    await asyncio.gather(stack.wait_closed(stopped), stack.wait_closed(completed))

    async def visible() -> None:
        assert await ids(stack, status="stopped") == [stopped]

    await assert_eventually(visible, timeout=15)
    assert await ids(stack, status="completed") == [completed]
    assert sorted(await ids(stack)) == sorted([stopped, completed])
    detail = await stack.run_detail(stopped, "stopped")
    assert detail["outcome"] == "stopped" and detail["stopped_at"] == "is-customer"
    listed = (await stack.viewer.get("/runs", params={"workflow_id": tagger})).json()["data"]
    assert [run["status"] for run in listed] == ["completed"]

    report = (await stack.viewer.get("/analytics")).json()
    assert report["stopped"] == 1 and report["totals"]["completed"] == 2
