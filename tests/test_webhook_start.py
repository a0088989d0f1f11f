"""SPEC §3: a webhook URL without a secret is refused at start (`dev`, `api`, `worker`) unless
SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED=1, and the start says which mode is in force."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli.main import app
from store.settings import Settings, UnsignedWebhook, get_settings
from tests.cli_process import start_worker, stop

runner = CliRunner()
URL = "https://desk.example/hooks/supportflow?token=private"
WEBHOOK_VARIABLES = (
    "SUPPORTFLOW_WEBHOOK_URL",
    "SUPPORTFLOW_WEBHOOK_SECRET",
    "SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED",
)


@pytest.fixture
def unsigned_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A webhook URL and no secret in the environment; the data dir that must stay untouched."""
    for name in WEBHOOK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPPORTFLOW_WEBHOOK_URL", URL)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SUPPORTFLOW_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{data_dir / 'supportflow.db'}")
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [["api"], ["worker"], ["dev"]])
def test_a_url_without_a_secret_is_refused_at_start(unsigned_env: Path, command: list[str]) -> None:
    args = [*command, "--port", str(_free_port())] if command != ["worker"] else command
    if command == ["dev"]:
        args += ["--data-dir", str(unsigned_env)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith("Refusing to start: SUPPORTFLOW_WEBHOOK_URL is set but ")
    assert "SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED=1" in line
    assert not (unsigned_env / "supportflow.db").exists()  # refused before anything started


def test_the_modes_as_the_banner_shows_them(tmp_path: Path) -> None:
    def mode(**values: object) -> str:
        return Settings(data_dir=tmp_path, **values).webhook_signing()  # type: ignore[arg-type]

    assert mode(webhook_url=None).startswith("off")
    signed = mode(webhook_url=URL, webhook_secret="s3cret")
    assert signed.startswith("signed, to desk.example")
    unsigned = mode(webhook_url=URL, webhook_allow_unsigned=True)
    assert unsigned.startswith("UNSIGNED, to desk.example")
    assert all("token=private" not in text for text in (signed, unsigned))  # the path may hold one
    with pytest.raises(UnsignedWebhook):
        mode(webhook_url=URL)


def test_allow_unsigned_reads_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED", "1")
    assert Settings().webhook_allow_unsigned is True
    monkeypatch.setenv("SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED", "0")
    assert Settings().webhook_allow_unsigned is False


@pytest.mark.usefixtures("unsigned_env")
def test_the_worker_starts_unsigned_when_allowed_and_says_so(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
) -> None:
    stderr = tmp_path / "worker.stderr"
    env = {"SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED": "1", "DATABASE_URL": os.environ["DATABASE_URL"]}
    process = start_worker(dev_env, task_queue, stderr, env, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
    finally:
        stop(process, stderr)
    assert first_line.startswith("Webhooks: UNSIGNED, to desk.example")
