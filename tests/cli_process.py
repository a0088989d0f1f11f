"""Run the real `supportflow` command line in a subprocess (`python -m cli.main`), with an
environment of our choosing: what a user at a terminal sees, stdout and stderr apart, exit code,
and no state shared with the test process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Settings the test process may have in its environment that must not leak into the CLI's.
_SCRUBBED = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "SUPPORTFLOW_TASK_QUEUE", "DATABASE_URL")


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """stderr without blank lines (what a one-line error must be)."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli_sync(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Completed:
    environment = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)


async def run_cli(*args: str, env: Mapping[str, str] | None = None) -> Completed:
    """`run_cli_sync` off the event loop (the dev server's client and workers keep running)."""
    return await asyncio.to_thread(run_cli_sync, *args, env=env)
