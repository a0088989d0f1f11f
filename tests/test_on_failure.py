"""`on_failure` (SPEC §2): a run that fails for good notifies the named team on the desk and sends
the webhook a `workflow_failed` event naming the workflow, the conversation and the reason.
Real stack: app, worker, the dev server, and a real HTTP receiver for the webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from store.settings import Settings
from tests.runs_fixtures import start_stack
from tests.temporal_fixtures import assert_eventually

# Escalating with no `to` on a conversation without a team: nobody to escalate to, for good.
ESCALATE_NOWHERE = [
    {"id": "esc", "type": "action", "action": "escalate", "params": {"reason": "angry"}}
]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            received.append({"action": self.headers.get("X-Supportflow-Action"), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


async def test_a_failed_run_notifies_the_team_and_the_webhook(
    settings: Settings,
    dev_env: WorkflowEnvironment,
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = receiver
    hooked = settings.model_copy(update={"webhook_url": url, "webhook_secret": "s3cret"})
    async with start_stack(hooked, dev_env.client) as stack:
        await stack.admin.put("/agents/ana", json={"name": "Ana"})
        await stack.admin.put("/teams/ops", json={"name": "Ops", "members": ["ana"]})
        body = {
            "name": "Escalate everything",
            "status": "active",
            "trigger": {"type": "new_conversation"},
            "steps": ESCALATE_NOWHERE,
            "on_failure": {"notify": {"team": "ops"}},
        }
        created = await stack.admin.post("/workflows", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["on_failure"]["notify"]["team"] == "ops"
        [run_id] = await stack.send(conversation_id="c-failing")
        await stack.wait_closed(run_id)
        detail = await stack.run_detail(run_id, "failed")

        conversation = (await stack.viewer.get("/conversations/c-failing")).json()
        [note] = conversation["notifications"]
        assert note["recipient_agent"] == "ana"
        assert "Escalate everything" in note["message"] and "c-failing" in note["message"]
        assert "esc" in note["message"]

        async def delivered() -> dict[str, Any]:
            events = [r for r in received if r["action"] == "workflow_failed"]
            assert len(events) == 1, received
            return events[0]["body"]

        event = await assert_eventually(delivered, timeout=10)
        text = json.dumps(event, ensure_ascii=False)
        assert created.json()["id"] in text and "c-failing" in text
        assert detail["error"] in text  # the reason, as the run reports it


async def test_on_failure_names_exactly_one_target(
    settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    async with start_stack(settings, dev_env.client) as stack:
        body = {
            "name": "Bad",
            "trigger": {"type": "new_conversation"},
            "steps": ESCALATE_NOWHERE,
            "on_failure": {"notify": {"team": "ops", "agent": "ana"}},
        }
        response = await stack.admin.post("/workflows", json=body)
        assert response.status_code == 422
        draft = await stack.admin.post(
            "/workflows", json={**body, "on_failure": {"notify": {"team": "ops"}}}
        )
        assert [w["loc"] for w in draft.json()["warnings"]] == [["on_failure", "notify", "team"]]
