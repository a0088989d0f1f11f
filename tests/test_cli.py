"""The `supportflow` command line and the embedded Temporal server of `supportflow dev`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from typer.testing import CliRunner

from cli.main import app
from cli.temporal_server import DevServer, DevServerError
from store.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The CLI reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SUPPORTFLOW_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["dev"],
        ["api"],
        ["worker"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["events", "send"],
        ["replay"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


@pytest.mark.usefixtures("cli_env")
def test_keys_create_prints_the_key_as_its_last_line() -> None:
    result = runner.invoke(app, ["keys", "create", "--role", "integration", "--name", "desk"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("sf_")

    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0, listed.output
    assert "integration" in listed.output and "desk" in listed.output
    assert key not in listed.output


@pytest.mark.usefixtures("cli_env")
def test_keys_revoke() -> None:
    runner.invoke(app, ["keys", "create", "--role", "viewer"])
    key_id = runner.invoke(app, ["keys", "list"]).output.splitlines()[1].split()[0]

    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    unknown = runner.invoke(app, ["keys", "revoke", "key_does_not_exist"])
    assert unknown.exit_code == 1
    assert "No API key" in unknown.output


@pytest.mark.usefixtures("cli_env")
def test_keys_create_rejects_an_unknown_role() -> None:
    result = runner.invoke(app, ["keys", "create", "--role", "root"])
    assert result.exit_code == 2


def test_replay_needs_a_run_id_or_a_history_file() -> None:
    assert runner.invoke(app, ["replay"]).exit_code == 2


def test_events_send_reports_an_unreachable_api(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"id": "evt-1"}')
    result = runner.invoke(
        app, ["events", "send", str(event), "--api", f"http://127.0.0.1:{_free_port()}"]
    )
    assert result.exit_code == 1
    assert "Cannot reach" in result.output


async def test_dev_server_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    server = DevServer(tmp_path, port=_free_port(), ui=False)
    async with server:
        client = await Client.connect(server.address)
        await client.start_workflow("NoWorkerForThis", id="survives-restart", task_queue="none")

    async with server:  # same data dir: the search attributes are registered again, harmlessly
        client = await Client.connect(server.address)
        description = await client.get_workflow_handle("survives-restart").describe()
        assert description.workflow_type == "NoWorkerForThis"
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        assert {
            "WorkflowDefinitionId",
            "WorkflowDefinitionVersion",
            "TriggerType",
            "ConversationId",
        } <= set(listed.custom_attributes)
        namespace = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace="default")
        )
        retention = namespace.config.workflow_execution_retention_ttl.ToTimedelta()
        assert retention.days == 30
    assert not server.running
    assert (tmp_path / "temporal.db").exists()


async def test_dev_server_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = DevServer(tmp_path, port=busy.getsockname()[1], ui=False)
        with pytest.raises(DevServerError, match="already in use"):
            await server.start()
