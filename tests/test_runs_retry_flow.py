"""The issue's "Done when", tried as a new user would, on the dev server with a real worker and
database: a workflow greets then routes to a team that does not exist; the run fails naming the
team; /runs?status=failed lists it and its detail explains it; after PUT /teams/... a retry routes
the conversation and the customer still has exactly one greeting; /analytics shows the failure
and the later success; `supportflow replay` replays both runs cleanly. Plus cancel."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from store.settings import Settings, get_settings
from tests import runs_fixtures
from tests.runs_fixtures import RunsStack, start_stack
from tests.temporal_fixtures import assert_eventually

runs_stack = runs_fixtures.runs_stack

GREET_THEN_ROUTE: list[dict[str, Any]] = [
    {
        "id": "greet",
        "type": "action",
        "action": "auto_reply",
        "params": {"message": 'Hi {{customer.name | default: "there"}}, we are on it.'},
    },
    {"id": "route", "type": "action", "action": "route", "params": {"team": "billing-squad"}},
]


def automated(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in conversation["messages"] if m.get("sender_type") == "automation"]


async def test_failed_route_is_explained_and_a_retry_routes_without_a_second_greeting(
    runs_stack: RunsStack,
) -> None:
    stack = runs_stack
    workflow_id = await stack.create_workflow_with_missing_team(
        "Greet then route", GREET_THEN_ROUTE, "billing-squad"
    )
    conversation_id = "c-done-when"
    [run_id] = await stack.send(conversation_id=conversation_id)
    await stack.wait_closed(run_id)

    # The failure names the team, in the detail and in the failed step.
    detail = await stack.run_detail(run_id, "failed")
    assert "billing-squad" in detail["error"], detail["error"]
    assert detail["error_type"] == "StepFailed"
    assert detail["trace_source"] == "failure" and detail["outcome"] == "failed"
    greet, route = detail["trace"]
    assert (greet["step_id"], greet["status"]) == ("greet", "completed")
    assert route["step_id"] == "route" and route["status"] == "error"
    assert "billing-squad" in route["error"]
    assert detail["workflow_id"] == workflow_id and detail["workflow_version"] == 1
    assert detail["workflow_name"] == "Greet then route"
    assert detail["event"]["conversation"]["id"] == conversation_id
    assert (
        detail["conversation_id"] == conversation_id
        and detail["trigger_type"] == "new_conversation"
    )
    assert detail["closed_at"] is not None and detail["duration_seconds"] >= 0
    assert detail["retry_of"] is None
    ns = stack.settings.temporal_namespace
    assert detail["temporal_ui_url"] == (
        f"{stack.settings.temporal_ui_url}/namespaces/{ns}/workflows/"
        f"run%3A{workflow_id}%3A{detail['event']['id']}/{detail['temporal_run_id']}/history"
    )

    # Listed among the failed runs (visibility lags a moment).
    async def listed_failed() -> None:
        response = await stack.viewer.get("/runs", params={"status": "failed"})
        assert response.status_code == 200, response.text
        assert [r["run_id"] for r in response.json()["data"]] == [run_id]

    await assert_eventually(listed_failed, timeout=15)

    # Only admins retry; a viewer is refused and nothing starts.
    refused = await stack.viewer.post(f"/runs/{run_id}/retry")
    assert refused.status_code == 403, refused.text

    # Fix the cause, retry: the conversation is routed, the greeting is not sent again.
    team = await stack.admin.put("/teams/billing-squad", json={"name": "Billing squad"})
    assert team.status_code in (200, 201), team.text
    retried = await stack.admin.post(f"/runs/{run_id}/retry")
    assert retried.status_code == 202, retried.text
    retry_id = retried.json()["run_id"]
    assert retry_id == f"{run_id}:retry:1" and retried.json()["retry_of"] == run_id
    await stack.wait_closed(retry_id)

    retry = await stack.run_detail(retry_id, "completed")
    assert retry["retry_of"] == run_id and retry["is_retry"] is True
    assert retry["idempotency_scope"] == detail["idempotency_scope"]
    assert (retry["workflow_id"], retry["workflow_version"]) == (workflow_id, 1)
    assert retry["event"] == detail["event"]
    assert retry["conversation_id"] == conversation_id
    assert [s["status"] for s in retry["trace"]] == ["completed", "completed"]
    assert retry["trace_source"] == "result" and retry["error"] is None

    conversation = (await stack.viewer.get(f"/conversations/{conversation_id}")).json()
    assert conversation["assignment"]["team"] == "billing-squad"
    assert len(automated(conversation)) == 1, conversation["messages"]

    # A run that did not fail cannot be retried.
    again = await stack.admin.post(f"/runs/{retry_id}/retry")
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"

    # Analytics of this workflow: one failure, one later success.
    async def analytics_shows_both() -> dict[str, Any]:
        response = await stack.viewer.get(
            "/analytics", params={"workflow_id": workflow_id, "bucket": "hour"}
        )
        assert response.status_code == 200, response.text
        report = dict(response.json())
        totals = report["totals"]
        assert (totals["started"], totals["completed"], totals["failed"]) == (2, 1, 1), totals
        return report

    report = await assert_eventually(analytics_shows_both, timeout=15)
    assert report["success_rate"] == 0.5 and report["failure_rate"] == 0.5
    assert report["top_workflows"] == [
        {"workflow_id": workflow_id, "name": "Greet then route", "executions": 2}
    ]

    # Both runs replay cleanly with the current worker code, through the CLI.
    from cli.main import app as cli_app

    env = {
        "TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "TEMPORAL_NAMESPACE": stack.settings.temporal_namespace,
    }
    for replayed in (run_id, retry_id):
        get_settings.cache_clear()  # the CLI reads the environment once per process
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, ["replay", replayed], env=env)
        get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert result.output.startswith("OK"), result.output


async def test_cancel_stops_a_running_run_and_only_running_runs(
    settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    # The webhook is down (nothing listens there): the run stays in flight, retrying delivery.
    down = settings.model_copy(
        update={"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "s3cret"}
    )
    async with start_stack(down, dev_env.client) as stack:
        await stack.create_workflow(
            "Tag only",
            [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
        )
        [run_id] = await stack.send()

        # While running, the trace comes from the `trace` query.
        async def tagged() -> dict[str, Any]:
            detail = await stack.run_detail(run_id, "running")
            assert detail["trace_source"] == "query", detail
            assert detail["trace"] and detail["trace"][0]["step_id"] == "tag", detail
            return detail

        running = await assert_eventually(tagged, timeout=15)
        assert running["closed_at"] is None and "provisional" in running["note"]

        assert (await stack.viewer.post(f"/runs/{run_id}/cancel")).status_code == 403
        cancelled = await stack.admin.post(f"/runs/{run_id}/cancel")
        assert cancelled.status_code == 202, cancelled.text
        assert cancelled.json()["status"] == "cancel_requested"
        await stack.wait_closed(run_id)
        detail = await stack.run_detail(run_id, "cancelled")
        assert detail["error"] == "cancelled on request"
        assert detail["outcome"] is None  # stopped from outside: the trace shows how far it got
        assert detail["trace"] and detail["trace"][0]["step_id"] == "tag", detail

        # Cancelling or retrying it again is a conflict; unknown runs are 404.
        again = await stack.admin.post(f"/runs/{run_id}/cancel")
        assert again.status_code == 409, again.text
        assert "cancelled" in again.json()["error"]["message"]
        assert (await stack.admin.post(f"/runs/{run_id}/retry")).status_code == 409
        assert (await stack.viewer.get("/runs/run:nope:nothing")).status_code == 404
        assert (await stack.admin.post("/runs/run:nope:nothing/cancel")).status_code == 404
