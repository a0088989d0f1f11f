"""What the outbound webhook receives for one applied action (SPEC §2.2)."""

from __future__ import annotations

from typing import Any

from definitions.runs import WebhookDelivery
from desk.effect import Effect


def webhook_delivery(effect: Effect, output: dict[str, Any]) -> WebhookDelivery:
    """The delivery of one applied step, keyed by (scope, step) so the receiver can deduplicate."""
    args = effect.args
    return WebhookDelivery(
        idempotency_key=effect.source,
        action=args.step.action,
        conversation_id=effect.conversation.id,
        payload={
            "run_id": args.run_id,
            "step_id": args.step.id,
            "event_id": args.event.id,
            "params": effect.rendered,
            "output": output,
        },
    )
