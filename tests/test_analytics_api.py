"""GET /analytics on the dev server with a real worker: the numbers equal the runs the test made
(completed, stopped by a condition, failed), per workflow and overall, the trend buckets add up,
the exact average and p95 (from each run's own duration) lie within the stated bounds, and the
number of visibility queries has a bound that does not depend on the number of runs."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from app.temporal.analytics import DURATION_EDGES_MS
from tests import runs_fixtures
from tests.runs_fixtures import RunsStack
from tests.temporal_fixtures import assert_eventually

runs_stack = runs_fixtures.runs_stack

TAG = [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["seen"]}}]
STOP_UNLESS_LEAD = [
    {
        "id": "is-lead",
        "type": "condition",
        "field": "customer.lifecycle",
        "operator": "equals",
        "value": "lead",
        "on_false": "stop",
    },
    *TAG,
]
ROUTE_NOWHERE = [
    {"id": "route", "type": "action", "action": "route", "params": {"team": "nobody-here"}}
]


async def make_runs(stack: RunsStack) -> dict[str, Any]:
    """3 completed (Tagger), 2 stopped (Lead filter), 1 failed (Router), one workflow each."""
    tagger = await stack.create_workflow("Tagger", TAG, customer_segments=["gold"])
    lead = await stack.create_workflow(
        "Lead filter", STOP_UNLESS_LEAD, customer_segments=["silver"]
    )
    router = await stack.create_workflow_with_missing_team(
        "Router", ROUTE_NOWHERE, "nobody-here", customer_segments=["bronze"]
    )
    run_ids: list[str] = []
    for segment, times in (("gold", 3), ("silver", 2), ("bronze", 1)):
        for _ in range(times):
            run_ids += await stack.send(segment=segment)
    assert len(run_ids) == 6
    await asyncio.gather(*(stack.wait_closed(r) for r in run_ids))
    return {"tagger": tagger, "lead": lead, "router": router, "run_ids": run_ids}


async def exact_durations(stack: RunsStack, run_ids: list[str]) -> list[float]:
    """Each run's ExecutionDuration as Temporal recorded it; checks on the way that each run's
    ExecutionTime is its StartTime (the trend's buckets bound both)."""
    out = []
    for run_id in run_ids:
        described = await stack.temporal.get_workflow_handle(run_id).describe()
        assert described.execution_time == described.start_time, run_id
        info = described.raw_description
        duration = info.workflow_execution_info.execution_duration
        out.append(duration.seconds + duration.nanos / 1e9)
    return out


async def test_analytics_count_what_was_run_with_durations_within_bounds(
    runs_stack: RunsStack,
) -> None:
    stack = runs_stack
    made = await make_runs(stack)
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    window = {
        "from": (hour - timedelta(hours=2)).isoformat(),
        "to": (hour + timedelta(hours=2)).isoformat(),
        "bucket": "hour",
    }

    async def report_with_all_closed() -> dict[str, Any]:
        response = await stack.viewer.get("/analytics", params=window)
        assert response.status_code == 200, response.text
        body = dict(response.json())
        totals = body["totals"]
        assert totals == {
            "started": 6,
            "running": 0,
            "completed": 5,  # 3 completed + 2 stopped by a condition
            "failed": 1,
            "cancelled": 0,
            "terminated": 0,
        }, totals
        assert body["durations"]["runs_measured"] == 6
        return body

    report = await assert_eventually(report_with_all_closed, timeout=20)

    # The workflow cards count the same runs: all of them, and the failed one as failed today.
    cards = {c["id"]: c for c in (await stack.viewer.get("/workflows")).json()["data"]}
    assert [
        (cards[made[k]]["execution_count"], cards[made[k]]["failed_24h"])
        for k in ("tagger", "lead", "router")
    ] == [
        (3, 0),
        (2, 0),
        (1, 1),
    ]
    assert report["success_rate"] == round(5 / 6, 6)
    assert report["failure_rate"] == round(1 / 6, 6)

    # Trend: four hour buckets, the runs all in the current hour's bucket.
    trend = report["trend"]
    assert len(trend) == 4
    assert [b["started"] for b in trend].count(6) == 1
    assert sum(b["started"] for b in trend) == 6
    current = next(b for b in trend if b["started"] == 6)
    assert datetime.fromisoformat(current["start"]) <= now < datetime.fromisoformat(current["end"])
    assert (current["completed"], current["failed"]) == (5, 1)

    # Most triggered, with names from the store.
    assert [(t["name"], t["executions"]) for t in report["top_workflows"]] == [
        ("Tagger", 3),
        ("Lead filter", 2),
        ("Router", 1),
    ]
    assert report["top_workflows"][0]["workflow_id"] == made["tagger"]

    # Durations: the exact average and nearest-rank p95 lie in the reported bounds.
    durations = await exact_durations(stack, made["run_ids"])
    stats = report["durations"]
    low, high = stats["average_bounds_seconds"]
    assert low <= sum(durations) / len(durations) <= high, (durations, stats)
    p95 = sorted(durations)[math.ceil(0.95 * len(durations)) - 1]
    p95_low, p95_high = stats["p95_bounds_seconds"]
    assert p95_low <= p95 <= p95_high, (durations, stats)
    assert p95_low <= stats["p95_seconds"] <= p95_high
    assert "p95" in stats["accuracy"] and "lags" in report["note"]

    # The query budget: buckets + ranked definitions + stopped, then at most one per duration
    # band edge, whatever the run count.
    assert 4 + 3 + 1 < report["queries"] <= 4 + 3 + 1 + len(DURATION_EDGES_MS)
    assert report["stopped"] == 2

    # Per workflow.
    lead = (
        await stack.viewer.get("/analytics", params={**window, "workflow_id": made["lead"]})
    ).json()
    assert (lead["totals"]["started"], lead["totals"]["completed"], lead["totals"]["failed"]) == (
        2,
        2,
        0,
    )
    assert lead["top_workflows"] == [
        {"workflow_id": made["lead"], "name": "Lead filter", "executions": 2}
    ]
    assert lead["success_rate"] == 1.0

    # By day: the same totals in (at most two) day buckets.
    by_day = (await stack.viewer.get("/analytics", params={**window, "bucket": "day"})).json()
    assert by_day["totals"] == report["totals"]
    assert 1 <= len(by_day["trend"]) <= 2

    # A window before the runs: nothing.
    empty = (
        await stack.viewer.get(
            "/analytics",
            params={
                "from": (now - timedelta(days=3)).isoformat(),
                "to": (now - timedelta(days=2)).isoformat(),
            },
        )
    ).json()
    assert empty["totals"]["started"] == 0 and empty["durations"]["p95_seconds"] is None
    assert empty["success_rate"] is None and empty["top_workflows"] == []


async def test_analytics_input_errors_and_roles(runs_stack: RunsStack) -> None:
    stack = runs_stack
    now = datetime.now(UTC)
    too_long = await stack.viewer.get(
        "/analytics",
        params={"from": (now - timedelta(days=30)).isoformat(), "bucket": "hour"},
    )
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["error"]["details"][0]["loc"] == ["query", "bucket"]
    backwards = await stack.viewer.get(
        "/analytics", params={"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}
    )
    assert backwards.status_code == 422, backwards.text
    assert (await stack.viewer.get("/analytics", params={"bucket": "week"})).status_code == 422
    assert (await stack.integration.get("/analytics")).status_code == 403
    anonymous = await stack.api.client()
    assert (await anonymous.get("/analytics")).status_code == 401
