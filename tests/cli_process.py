"""Run the real `supportflow` command line in a subprocess (`python -m cli.main`), with an
environment of our choosing: what a user at a terminal sees, stdout and stderr apart, exit code,
and no state shared with the test process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
#: Settings the test process may have in its environment that must not leak into the CLI's.
_SCRUBBED = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "SUPPORTFLOW_TASK_QUEUE",
    "DATABASE_URL",
    "SUPPORTFLOW_WORKFLOW_SANDBOX",  # tests/conftest.py: in-process workers only
)


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """stderr without blank lines (what a one-line error must be)."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def cli_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without its supportflow settings, plus `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    return environment


def run_cli_sync(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Completed:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=cli_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)


async def run_cli(*args: str, env: Mapping[str, str] | None = None) -> Completed:
    """`run_cli_sync` off the event loop (the dev server's client and workers keep running)."""
    return await asyncio.to_thread(run_cli_sync, *args, env=env)


def start_worker(
    temporal: WorkflowEnvironment,
    task_queue: str,
    stderr: Path,
    env: Mapping[str, str],
    stdout: int = subprocess.DEVNULL,
) -> subprocess.Popen[str]:
    """`supportflow worker` on `temporal`'s server and `task_queue`, stderr to the file `stderr`."""
    environment = cli_environment(
        {
            "TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": temporal.client.namespace,
            "SUPPORTFLOW_TASK_QUEUE": task_queue,
            **env,
        }
    )
    with stderr.open("w") as stderr_file:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker"],
            cwd=ROOT,
            env=environment,
            stdout=stdout,
            stderr=stderr_file,
            text=True,
        )


def stop(process: subprocess.Popen[str], stderr: Path) -> None:
    """SIGTERM; a process still running 30 s later fails the test with its threads' stacks
    (SIGUSR1, `supportflow`'s stack dump) from the file `stderr`."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        process.kill()
        pytest.fail(f"still running 30 s after SIGTERM:\n{stderr.read_text()[-8000:]}")
