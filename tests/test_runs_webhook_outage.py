"""A webhook outage shows in the run while Temporal retries the delivery (issue 14): GET
/runs/{id} gives the attempt in progress and the last error, in `pending` and in the running
step's note; once the help desk answers again the run completes. Real stack: app, worker, the dev
server, and a real HTTP receiver on 127.0.0.1 that answers 500 until told to recover."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from store.settings import Settings
from tests import runs_fixtures
from tests.runs_fixtures import RunsStack
from tests.temporal_fixtures import assert_eventually

runs_stack = runs_fixtures.runs_stack


@dataclass
class FlakyDesk:
    url: str = ""
    down: bool = True
    keys: list[str] = field(default_factory=list)


@pytest.fixture
def desk() -> Iterator[FlakyDesk]:
    state = FlakyDesk()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            state.keys.append(self.headers.get("Idempotency-Key", ""))
            body = b"upstream maintenance" if state.down else b""
            self.send_response(500 if state.down else 204)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings: Settings, desk: FlakyDesk) -> Settings:
    return settings.model_copy(update={"webhook_url": desk.url, "webhook_secret": "s3cret"})


async def test_each_delivery_attempt_and_its_error_show_while_it_retries(
    runs_stack: RunsStack, desk: FlakyDesk
) -> None:
    stack = runs_stack
    greet = {"id": "greet", "type": "action", "action": "auto_reply", "params": {"message": "Hi"}}
    await stack.create_workflow("Greet through a flaky desk", [greet])
    [run_id] = await stack.send()

    async def retrying() -> dict[str, Any]:
        response = await stack.viewer.get(f"/runs/{run_id}")
        assert response.status_code == 200, response.text
        run = dict(response.json())
        assert run["status"] == "running", run
        assert len(run["pending"]) == 1 and run["pending"][0]["attempt"] >= 2, run["pending"]
        return run

    run = await assert_eventually(retrying, timeout=30)
    [pending] = run["pending"]
    assert pending["activity"] == "deliver_webhook" and pending["what"] == "webhook delivery"
    assert pending["step_id"] == "greet"
    assert "500" in pending["last_error"] and "upstream maintenance" in pending["last_error"]
    assert pending["last_error_type"] == "WebhookUnavailable"
    assert pending["maximum_attempts"] is None and pending["expires_at"] is not None
    [step] = run["trace"]
    assert step["status"] == "running"
    assert f"webhook delivery: attempt {pending['attempt']}" in step["note"]
    assert "upstream maintenance" in step["note"]
    assert len(desk.keys) >= 1 and len(set(desk.keys)) == 1  # one delivery, tried again

    desk.down = False
    await stack.wait_closed(run_id)
    done = await stack.run_detail(run_id, "completed")
    assert done["pending"] == []
    [step] = done["trace"]
    assert step["status"] == "completed" and "delivered to the webhook" in step["note"]
    assert len(desk.keys) >= 2 and len(set(desk.keys)) == 1
