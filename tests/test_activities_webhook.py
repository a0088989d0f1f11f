"""WebhookActivities against a real HTTP server on 127.0.0.1 that verifies the signature."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.webhook import (
    ERR_WEBHOOK_UNAVAILABLE,
    WebhookActivities,
    verify_signature,
)
from definitions.runs import ERR_WEBHOOK_REJECTED, WebhookDelivery
from store.settings import Settings

SECRET = "s3cret-key"


@dataclass
class Receiver:
    """What the help desk's endpoint saw, and the statuses it answers with (in turn)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signature = self.headers.get("X-Supportflow-Signature")
            state.requests.append(
                {
                    "path": self.path,
                    "body": body,
                    "headers": dict(self.headers),
                    "signature_ok": verify_signature(body, SECRET, signature),
                }
            )
            status = state.statuses.pop(0) if state.statuses else 200
            if status == 200 and not verify_signature(body, SECRET, signature):
                status = 401
            answer = json.dumps({"status": status, "detail": "x" * 500}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/supportflow"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def _settings(tmp_path: Path, url: str | None, secret: str | None = SECRET) -> Settings:
    return Settings(data_dir=tmp_path, webhook_url=url, webhook_secret=secret)


DELIVERY = WebhookDelivery(
    idempotency_key="run:def-1:evt-1:greet",
    action="auto_reply",
    conversation_id="c-9",
    payload={"params": {"message": "Hi Ada ✓"}, "output": {"message_id": "auto-1"}},
)


async def test_delivery_is_signed_and_carries_the_idempotency_key(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    activities = WebhookActivities(_settings(tmp_path, receiver.url), http)
    result = await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    assert result["delivered"] is True and result["status"] == 200
    [request] = receiver.requests
    assert request["signature_ok"]
    assert request["path"] == "/hooks/supportflow"
    assert request["headers"]["Idempotency-Key"] == "run:def-1:evt-1:greet"
    assert request["headers"]["X-Supportflow-Action"] == "auto_reply"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == DELIVERY.model_dump(mode="json")


async def test_a_wrong_secret_is_rejected_for_good(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    activities = WebhookActivities(_settings(tmp_path, receiver.url, "wrong"), http)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    assert caught.value.type == ERR_WEBHOOK_REJECTED and caught.value.non_retryable
    assert not receiver.requests[0]["signature_ok"]


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_4xx_is_non_retryable_with_status_and_excerpt(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path, status: int
) -> None:
    receiver.statuses = [status]
    activities = WebhookActivities(_settings(tmp_path, receiver.url), http)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    error = caught.value
    assert error.type == ERR_WEBHOOK_REJECTED and error.non_retryable
    assert str(status) in error.message and '{"status"' in error.message
    assert len(error.message) < 300  # an excerpt, not the whole body


@pytest.mark.parametrize("status", [500, 503, 408, 429])
async def test_5xx_408_429_are_retryable_and_the_retry_succeeds(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path, status: int
) -> None:
    receiver.statuses = [status, 200]
    activities = WebhookActivities(_settings(tmp_path, receiver.url), http)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    assert caught.value.type == ERR_WEBHOOK_UNAVAILABLE and not caught.value.non_retryable
    result = await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    assert result["delivered"] is True
    first, second = receiver.requests
    assert first["body"] == second["body"]  # same bytes, same key: the receiver can dedupe
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]


async def test_network_errors_propagate_to_be_retried(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
    activities = WebhookActivities(_settings(tmp_path, f"http://127.0.0.1:{port}/"), http)
    with pytest.raises(httpx.TransportError):
        await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)


async def test_without_a_url_nothing_is_sent(http: httpx.AsyncClient, tmp_path: Path) -> None:
    activities = WebhookActivities(_settings(tmp_path, None), http)
    result = await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    assert result["delivered"] is False
