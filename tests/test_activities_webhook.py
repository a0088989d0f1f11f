"""WebhookActivities against a real HTTP server on 127.0.0.1 that verifies the signature the way
the README tells a receiver to (its own code below, not ours): HMAC of "<t>.<body>", `t` at most
5 minutes old, so a captured delivery cannot be replayed."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
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
    ERR_WEBHOOK_UNSIGNED,
    WebhookActivities,
    sign,
    verify_signature,
)
from definitions.runs import ERR_WEBHOOK_REJECTED, WebhookDelivery
from store.settings import Settings

SECRET = "s3cret-key"


# The receiver snippet of README §Webhooks, verbatim but for the `now` parameter (the test moves the
# receiver's clock instead of waiting five minutes).
def verify(body: bytes, header: str, secret: str, now: float, tolerance: int = 300) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp, signature = int(parts["t"]), parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False  # too old (or from the future): a replay
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass
class Receiver:
    """What the help desk's endpoint saw, and the statuses it answers with (in turn). It answers
    401 to a delivery whose signature does not verify at its clock (real time + `clock_offset`)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    clock_offset: float = 0.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signature = self.headers.get("X-Supportflow-Signature", "")
            signature_ok = verify(body, signature, SECRET, now=time.time() + state.clock_offset)
            state.requests.append(
                {
                    "path": self.path,
                    "body": body,
                    "headers": dict(self.headers),
                    "signature_ok": signature_ok,
                }
            )
            status = state.statuses.pop(0) if state.statuses else 200
            if status == 200 and not signature_ok:
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


def _settings(
    tmp_path: Path, url: str | None, secret: str | None = SECRET, *, unsigned: bool = False
) -> Settings:
    return Settings(
        data_dir=tmp_path, webhook_url=url, webhook_secret=secret, webhook_allow_unsigned=unsigned
    )


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
    match = re.fullmatch(
        r"t=(\d+),v1=([0-9a-f]{64})", request["headers"]["X-Supportflow-Signature"]
    )
    assert match and abs(int(match.group(1)) - time.time()) < 60
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


async def test_network_errors_are_retried_with_a_short_error(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
    activities = WebhookActivities(_settings(tmp_path, f"http://127.0.0.1:{port}/"), http)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    assert caught.value.type == ERR_WEBHOOK_UNAVAILABLE and not caught.value.non_retryable
    assert caught.value.message.startswith("could not reach the webhook (ConnectError: ")
    assert caught.value.__cause__ is None  # a small failure: the run's pending activity keeps it


async def test_without_a_url_nothing_is_sent(http: httpx.AsyncClient, tmp_path: Path) -> None:
    activities = WebhookActivities(_settings(tmp_path, None), http)
    result = await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    assert result["delivered"] is False


def _replay(receiver: Receiver, request: dict[str, Any]) -> int:
    """Send a captured delivery again, byte for byte, as an attacker who recorded it would."""
    headers = {k: v for k, v in request["headers"].items() if k.lower() != "host"}
    return httpx.post(receiver.url, content=request["body"], headers=headers).status_code


async def test_a_captured_delivery_is_refused_after_five_minutes(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    activities = WebhookActivities(_settings(tmp_path, receiver.url), http)
    await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    [captured] = receiver.requests
    receiver.clock_offset = 240  # four minutes later: still inside the window
    assert _replay(receiver, captured) == 200
    receiver.clock_offset = 301  # five minutes and a second later
    assert _replay(receiver, captured) == 401
    assert [r["signature_ok"] for r in receiver.requests] == [True, True, False]


async def test_a_changed_body_or_timestamp_does_not_verify(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    activities = WebhookActivities(_settings(tmp_path, receiver.url), http)
    await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    [captured] = receiver.requests
    tampered = dict(captured, body=captured["body"].replace(b"Hi Ada", b"Hi Eve"))
    assert _replay(receiver, tampered) == 401
    # A moved `t` (what a replayer would need past the age check) breaks the HMAC instead.
    t, v1 = (
        part.split("=", 1)[1] for part in captured["headers"]["X-Supportflow-Signature"].split(",")
    )
    moved = {**captured["headers"], "X-Supportflow-Signature": f"t={int(t) + 1},v1={v1}"}
    assert _replay(receiver, dict(captured, headers=moved)) == 401
    assert [r["signature_ok"] for r in receiver.requests] == [True, False, False]


async def test_each_attempt_is_signed_afresh_with_the_same_body_and_key(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    receiver.statuses = [503, 200]
    activities = WebhookActivities(_settings(tmp_path, receiver.url), http)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    time.sleep(1.05)  # the next attempt falls in a later second
    await ActivityEnvironment().run(activities.deliver_webhook, DELIVERY)
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    signature = "X-Supportflow-Signature"
    assert first["headers"][signature] != second["headers"][signature]
    assert second["signature_ok"]


async def test_without_a_secret_nothing_goes_out_unless_unsigned_is_allowed(
    receiver: Receiver, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    refused = WebhookActivities(_settings(tmp_path, receiver.url, None), http)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(refused.deliver_webhook, DELIVERY)
    assert caught.value.type == ERR_WEBHOOK_UNSIGNED and caught.value.non_retryable
    assert receiver.requests == []

    receiver.statuses = [204]  # this receiver accepts unsigned deliveries
    allowed = WebhookActivities(_settings(tmp_path, receiver.url, None, unsigned=True), http)
    result = await ActivityEnvironment().run(allowed.deliver_webhook, DELIVERY)
    assert result["delivered"] is True
    [request] = receiver.requests
    assert "X-Supportflow-Signature" not in request["headers"]
    assert request["headers"]["Idempotency-Key"] == DELIVERY.idempotency_key


def test_our_verify_signature_agrees_with_the_receiver_snippet() -> None:
    body = b'{"a":1}'
    now = time.time()
    header = sign(body, SECRET, int(now) - 100)
    for at, ok in ((now, True), (now + 199, True), (now + 201, False)):
        assert verify(body, header, SECRET, now=at) is ok
        assert verify_signature(body, SECRET, header, now=at) is ok
    assert not verify_signature(body, "other", header, now=now)
    assert not verify_signature(body, SECRET, None)
    assert not verify_signature(body, SECRET, "sha256=" + "0" * 64)
