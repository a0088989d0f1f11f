"""schemathesis against the OpenAPI document of a real running API (issue 11).

The API runs as its own process (uvicorn) on the test's database and the session's Temporal dev
server. schemathesis drives every operation with an admin, an integration and a viewer key at
once, bounded by `--max-time`, and fails on any 5xx, any status code the document does not list
and any response that breaks its schema. The API's log must hold no unhandled traceback.

Deselect with `-m "not fuzz"`; `SUPPORTFLOW_FUZZ_SECONDS` changes the budget of each run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from store.keys import create_key
from store.settings import Settings
from tests.served import free_port

pytestmark = pytest.mark.fuzz

ROLES = ("admin", "integration", "viewer")
SECONDS = int(os.environ.get("SUPPORTFLOW_FUZZ_SECONDS", "40"))
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "SUPPORTFLOW_TASK_QUEUE": settings.task_queue,
        "SUPPORTFLOW_DATA_DIR": str(settings.data_dir),
    }


@pytest.fixture
def api_url(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The API served by uvicorn in its own process: (base URL, its log file)."""
    port = free_port()
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"]
            + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=_environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        health = "no answer"
        while True:
            try:
                answer = httpx.get(f"{base}/health", timeout=2)
                if answer.status_code == 200:
                    break
                health = answer.text
            except httpx.TransportError as exc:
                health = repr(exc)
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not start ({health}):\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=15)


def _seed(base: str, admin_key: str) -> None:
    """A few real objects, so that examples with their ids reach past the 404s."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        client.put("/teams/vip-support", json={"name": "VIP", "members": ["ana"]})
        client.put("/agents/ana", json={"name": "Ana", "email": "ana@example.com"})
        client.post("/templates/refund-request-ticket/use", json={})


def test_no_input_breaks_the_api(api_url: tuple[str, Path], engine: Engine, tmp_path: Path) -> None:
    base, log_path = api_url
    keys = {role: create_key(engine, role, name=f"fuzz {role}") for role in ROLES}
    _seed(base, keys["admin"])
    workdir = tmp_path / "schemathesis"
    workdir.mkdir()
    runs = {
        role: subprocess.Popen(
            [str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--checks", CHECKS]
            + ["--header", f"Authorization: Bearer {key}", "--max-time", str(SECONDS)]
            + ["--workers", "1", "--seed", "11", "--request-timeout", "20"]
            + ["--suppress-health-check", "all", "--no-color"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=workdir,  # its cache and reports stay out of the repository
        )
        for role, key in keys.items()
    }
    failed = {}
    for role, run in runs.items():
        output, _ = run.communicate(timeout=SECONDS + 60)
        if run.returncode != 0:
            failed[role] = output[-12_000:]
    log = log_path.read_text()
    assert not failed, "\n\n".join(f"==== {role}\n{out}" for role, out in failed.items())
    assert "Traceback" not in log, log[-12_000:]
