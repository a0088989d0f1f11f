"""`supportflow runs list|show|retry|cancel` behave as the API does (same gateway), against the
dev server with a real worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli.main import app as cli_app
from store.settings import get_settings
from tests import runs_fixtures
from tests.cli_process import run_cli
from tests.runs_fixtures import RunsStack
from tests.temporal_fixtures import assert_eventually

runs_stack = runs_fixtures.runs_stack

GREET_THEN_ROUTE = [
    {"id": "greet", "type": "action", "action": "auto_reply", "params": {"message": "Hello!"}},
    {"id": "route", "type": "action", "action": "route", "params": {"team": "cli-team"}},
]


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """The CLI reads its settings from the environment once per process: forget them around."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def cli(stack: RunsStack, *args: str) -> Result:
    env = {
        "TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "TEMPORAL_NAMESPACE": stack.settings.temporal_namespace,
        "SUPPORTFLOW_TASK_QUEUE": stack.settings.task_queue,
    }

    def invoke() -> Result:
        get_settings.cache_clear()
        return CliRunner().invoke(cli_app, list(args), env=env)

    return await asyncio.to_thread(invoke)


async def test_cli_lists_shows_retries_and_refuses_like_the_api(runs_stack: RunsStack) -> None:
    stack = runs_stack
    await stack.create_workflow_with_missing_team(
        "CLI greet then route", GREET_THEN_ROUTE, "cli-team"
    )
    conversation_id = "c-cli"
    [run_id] = await stack.send(conversation_id=conversation_id)
    await stack.wait_closed(run_id)

    async def listed() -> Result:
        result = await cli(stack, "runs", "list", "--status", "failed", "--json")
        assert result.exit_code == 0, result.output
        assert [r["run_id"] for r in json.loads(result.output)["data"]] == [run_id]
        return result

    await assert_eventually(listed, timeout=15)
    table = await cli(stack, "runs", "list")
    assert table.exit_code == 0 and run_id in table.output and "failed" in table.output

    shown = await cli(stack, "runs", "show", run_id)
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["status"] == "failed" and "cli-team" in detail["error"]

    # Retrying before the cause is fixed fails again; fixing it makes the next retry route.
    put = await stack.admin.put("/teams/cli-team", json={"name": "CLI team"})
    assert put.status_code in (200, 201), put.text
    retried = await cli(stack, "runs", "retry", run_id)
    assert retried.exit_code == 0, retried.output
    retry_id = retried.output.strip().splitlines()[-1]
    assert retry_id == f"{run_id}:retry:1"
    await stack.wait_closed(retry_id)
    await stack.run_detail(retry_id, "completed")
    conversation = (await stack.viewer.get(f"/conversations/{conversation_id}")).json()
    assert conversation["assignment"]["team"] == "cli-team"
    assert sum(m.get("sender_type") == "automation" for m in conversation["messages"]) == 1

    # Not failed / not running / unknown: exit 1 with the API's message.
    not_failed = await cli(stack, "runs", "retry", retry_id)
    assert not_failed.exit_code == 1 and "only failed runs" in not_failed.output
    not_running = await cli(stack, "runs", "cancel", retry_id)
    assert not_running.exit_code == 1 and "only running or waiting runs" in not_running.output
    unknown = await cli(stack, "runs", "show", "run:nope:nothing")
    assert unknown.exit_code == 1 and "not found" in unknown.output
    bad = await cli(stack, "runs", "list", "--status", "sleeping")
    assert bad.exit_code == 2


async def test_the_real_cli_replays_and_shows_a_run_of_the_server_it_is_pointed_at(
    runs_stack: RunsStack,
) -> None:
    """The installed program in a subprocess, TEMPORAL_ADDRESS unset: `--address` and
    `--namespace` say which server, and an unknown id on it is one line and exit 1."""
    stack = runs_stack
    await stack.create_workflow("CLI replay", GREET_THEN_ROUTE[:1])
    [run_id] = await stack.send()
    await stack.wait_closed(run_id)
    server = ["--address", stack.settings.temporal_address]
    server += ["--namespace", stack.settings.temporal_namespace]

    replayed = await run_cli("replay", run_id, *server)
    assert replayed.code == 0, replayed
    assert f"OK      {run_id} ({stack.settings.temporal_address})" in replayed.stdout

    env = {"SUPPORTFLOW_TASK_QUEUE": stack.settings.task_queue}
    shown = await run_cli("runs", "show", run_id, *server, env=env)
    assert shown.code == 0, shown
    assert json.loads(shown.stdout)["status"] == "completed"

    unknown = await run_cli("replay", f"{run_id}-nope", *server)
    assert unknown.code == 1 and "Traceback" not in unknown.stderr
    assert unknown.error_lines == [
        f"run '{run_id}-nope' not found (namespace "
        f"'{stack.settings.temporal_namespace}' at {stack.settings.temporal_address})"
    ]
