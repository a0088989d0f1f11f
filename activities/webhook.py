"""Outbound webhook delivery (SPEC §3): every action is POSTed, signed, to SUPPORTFLOW_WEBHOOK_URL.

Request: `POST <url>` with the JSON body `WebhookDelivery.model_dump(mode="json")` (compact, sorted
keys) and the headers
- `X-Supportflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<exact body bytes>", key
  SUPPORTFLOW_WEBHOOK_SECRET>` — Stripe's scheme: the receiver recomputes it and rejects a `t` older
  than 5 minutes, so a captured delivery cannot be replayed later. Each attempt is signed afresh
  (new `t`, same body). Sent unsigned only when SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED=1 (the start
  commands refuse a URL without a secret otherwise, `Settings.webhook_signing`).
- `Idempotency-Key: <scope>:<step id>` (the same on every retry: the receiver deduplicates),
- `X-Supportflow-Action: <action name>`.

Outcome: 2xx delivered; 408, 429, 5xx and network errors raise a retryable `WebhookUnavailable`
(Temporal retries with backoff); any other status is a permanent `WebhookRejected`
(non-retryable) naming the status and the start of the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from definitions.runs import ACT_DELIVER_WEBHOOK, ERR_WEBHOOK_REJECTED, WebhookDelivery
from store.settings import Settings

SIGNATURE_HEADER = "X-Supportflow-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
ACTION_HEADER = "X-Supportflow-Action"
ERR_WEBHOOK_UNAVAILABLE = "WebhookUnavailable"  # retryable
ERR_WEBHOOK_UNSIGNED = "WebhookUnsigned"  # a URL without a secret, unsigned not allowed
RETRYABLE_STATUSES = frozenset({408, 429})
EXCERPT_CHARS = 200
SIGNATURE_TOLERANCE_SECONDS = 300  # what receivers are told to accept (SPEC §3)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes that are sent (and signed)."""
    return json.dumps(
        delivery.model_dump(mode="json"), separators=(",", ":"), sort_keys=True
    ).encode()


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The X-Supportflow-Signature value of `body` sent at `timestamp` (unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    body: bytes,
    secret: str,
    header: str | None,
    *,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does (README §Webhooks): parse `t` and `v1`, refuse a `t` outside the
    tolerance, compare the HMAC in constant time."""
    if not header:
        return False
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp, received = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not received:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    expected = sign(body, secret, int(timestamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, received)


class WebhookActivities:
    """`settings` gives the URL and secret; `http_client` is shared (and closed) by the worker."""

    def __init__(self, settings: Settings, http_client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http_client

    @activity.defn(name=ACT_DELIVER_WEBHOOK)
    async def deliver_webhook(self, delivery: WebhookDelivery) -> dict[str, Any]:
        """POST one action to the webhook; returns {"delivered", "status", ...}."""
        url = self.settings.webhook_url
        if not url:
            return {"delivered": False, "reason": "SUPPORTFLOW_WEBHOOK_URL is not set"}
        body = webhook_body(delivery)
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: delivery.idempotency_key,
            ACTION_HEADER: delivery.action,
        }
        if self.settings.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(body, self.settings.webhook_secret, int(time.time()))
        elif not self.settings.webhook_allow_unsigned:
            # The start commands refuse this configuration; never send unsigned by accident.
            raise ApplicationError(
                "refusing to deliver an unsigned webhook: set SUPPORTFLOW_WEBHOOK_SECRET "
                "(or SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED=1)",
                type=ERR_WEBHOOK_UNSIGNED,
                non_retryable=True,
            )
        try:
            response = await self.http.post(url, content=body, headers=headers)
        except httpx.TransportError as error:
            # Retryable. Raised without its cause: httpx's chained tracebacks make a failure
            # Temporal truncates ("Failure exceeds size limit") in the run's pending activity,
            # which is where GET /runs/{id} reads the last error while the delivery retries.
            raise ApplicationError(
                f"could not reach the webhook ({type(error).__name__}: {error})",
                type=ERR_WEBHOOK_UNAVAILABLE,
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return {
                "delivered": True,
                "status": status,
                "idempotency_key": delivery.idempotency_key,
            }
        excerpt = response.text[:EXCERPT_CHARS]
        if status >= 500 or status in RETRYABLE_STATUSES:
            raise ApplicationError(
                f"webhook answered {status}: {excerpt}",
                {"status": status},
                type=ERR_WEBHOOK_UNAVAILABLE,
            )
        raise ApplicationError(
            f"webhook rejected the {delivery.action} delivery with {status}: {excerpt}",
            {"status": status, "body": excerpt},
            type=ERR_WEBHOOK_REJECTED,
            non_retryable=True,
        )
