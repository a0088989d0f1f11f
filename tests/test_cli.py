"""The `supportflow` command line and the embedded Temporal server of `supportflow dev`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli.main import app
from cli.temporal_server import DevServer, DevServerError
from store.settings import get_settings
from tests.cli_process import Completed, cli_environment, run_cli, start_worker, stop
from tests.served import free_port
from tests.temporal_fixtures import assert_eventually

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The CLI reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SUPPORTFLOW_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


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
        ["runs", "list"],
        ["runs", "show"],
        ["runs", "retry"],
        ["runs", "cancel"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


#: Every command that talks to Temporal (SPEC §6); `dev` runs its own server (--temporal-port),
#: `events send` talks to the API, `keys` and `db` to the database only.
TEMPORAL_COMMANDS = (
    ["replay"],
    ["runs", "list"],
    ["runs", "show"],
    ["runs", "retry"],
    ["runs", "cancel"],
    ["worker"],
    ["api"],
)


@pytest.mark.parametrize("command", TEMPORAL_COMMANDS, ids=" ".join)
def test_every_temporal_command_takes_address_and_namespace(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "--address" in result.output and "TEMPORAL_ADDRESS" in result.output
    assert "--namespace" in result.output and "TEMPORAL_NAMESPACE" in result.output


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
        app, ["events", "send", str(event), "--api", f"http://127.0.0.1:{free_port()}"]
    )
    assert result.exit_code == 1
    assert "Cannot reach" in result.output


async def test_dev_server_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    server = DevServer(tmp_path, port=free_port(), ui=False)
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


# ---------------------------------------------------------------- the real CLI, as a subprocess


def _dev_address(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


def _one_clear_line(result: Completed, *expected: str) -> str:
    """Exit 1, nothing on stdout, exactly one line on stderr holding `expected`, no traceback."""
    assert result.code == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    [line] = result.error_lines
    for text in expected:
        assert text in line, line
    return line


@pytest.mark.parametrize(
    "command",
    [
        ["replay", "run:wf_nope:evt-nope"],
        ["runs", "list"],
        ["runs", "show", "run:wf_nope:evt-nope"],
        ["runs", "retry", "run:wf_nope:evt-nope"],
        ["runs", "cancel", "run:wf_nope:evt-nope"],
        ["worker"],
    ],
    ids=" ".join,
)
async def test_an_unreachable_server_is_one_line_and_exit_1(
    command: list[str], tmp_path: Path
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    result = await run_cli(
        *command, "--address", closed, env={"SUPPORTFLOW_DATA_DIR": str(tmp_path)}
    )
    _one_clear_line(result, f"Cannot reach Temporal at {closed}", "Connection refused")


async def test_the_address_defaults_to_temporal_address(tmp_path: Path) -> None:
    closed = f"127.0.0.1:{free_port()}"
    env = {"TEMPORAL_ADDRESS": closed, "SUPPORTFLOW_DATA_DIR": str(tmp_path)}
    result = await run_cli("runs", "show", "run:wf_nope:evt-nope", env=env)
    _one_clear_line(result, f"Cannot reach Temporal at {closed}")


@pytest.mark.parametrize(
    "command",
    [
        ["replay", "run:wf_nope:evt-nope"],
        ["runs", "show", "run:wf_nope:evt-nope"],
        ["runs", "retry", "run:wf_nope:evt-nope"],
        ["runs", "cancel", "run:wf_nope:evt-nope"],
    ],
    ids=" ".join,
)
async def test_an_unknown_run_is_one_line_naming_the_server(
    command: list[str], dev_env: WorkflowEnvironment
) -> None:
    address = _dev_address(dev_env)
    # --address wins over TEMPORAL_ADDRESS (here a closed port).
    env = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    result = await run_cli(*command, "--address", address, "--namespace", "default", env=env)
    _one_clear_line(result, "'run:wf_nope:evt-nope' not found", address, "'default'")


async def test_an_unknown_namespace_is_one_line(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = _dev_address(dev_env)
    env = {"SUPPORTFLOW_DATA_DIR": str(tmp_path)}
    worker = await run_cli("worker", "--address", address, "--namespace", "no-such-ns", env=env)
    _one_clear_line(worker, "no namespace 'no-such-ns'", address)
    for command in (["replay", "run:wf_nope:evt-nope"], ["runs", "list"]):
        result = await run_cli(*command, "--address", address, "--namespace", "no-such-ns")
        _one_clear_line(result, "no namespace 'no-such-ns'", address)


async def test_replay_of_an_unreadable_history_file_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = await run_cli("replay", "--history", str(broken))
    assert result.code == 2, result
    assert "Traceback" not in result.stderr
    [line] = result.error_lines
    assert "Cannot read the history" in line and "broken.json" in line


async def test_a_running_worker_prints_its_stacks_on_sigusr1(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    """What an operator does with a worker that seems stuck: `kill -USR1 <pid>`."""
    stderr = tmp_path / "worker.stderr"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'supportflow.db'}",
        "SUPPORTFLOW_DATA_DIR": str(tmp_path / "data"),
    }

    def printed(text: str) -> Callable[[], Awaitable[None]]:
        async def check() -> None:
            assert text in stderr.read_text()

        return check

    process = start_worker(dev_env, task_queue, stderr, env)
    try:
        await assert_eventually(printed("worker polling task queue"), timeout=60)
        process.send_signal(signal.SIGUSR1)
        await assert_eventually(printed("(most recent call first)"), timeout=60)
        assert process.poll() is None  # still running
    finally:
        stop(process, stderr)
    assert "Current thread" in stderr.read_text() or "Thread 0x" in stderr.read_text()


async def test_dev_keeps_its_state_in_supportflow_data_dir(tmp_path: Path) -> None:
    """`SUPPORTFLOW_DATA_DIR` (README §Configuration) is where `make run` keeps its state."""
    data_dir = tmp_path / "data"
    output = tmp_path / "dev.out"
    port = free_port()
    with output.open("w") as output_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "dev",
                "--port",
                str(port),
                "--temporal-port",
                str(free_port()),
                "--ui-port",
                str(free_port()),
            ],
            cwd=tmp_path,
            env=cli_environment({"SUPPORTFLOW_DATA_DIR": str(data_dir)}),
            stdout=output_file,
            stderr=subprocess.STDOUT,
            text=True,
        )

    async def serving() -> None:
        assert "supportflow is running" in output.read_text()

    try:
        await assert_eventually(serving, timeout=90)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        process.wait(timeout=60)
    assert (data_dir / "supportflow.db").exists() and (data_dir / "temporal.db").exists()
    assert not (tmp_path / ".supportflow").exists()
    assert f"Data         {data_dir}" in output.read_text()
