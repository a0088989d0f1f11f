"""`on_failure` (SPEC §2): a run that failed for good notifies its team or agent on the desk and
sends the webhook a `workflow_failed` event naming the workflow, the conversation and the reason.

One local activity, so the interpreter's failure path stays one call. The desk notification goes
through the action ledger under the run's scope (step id `on-failure`), so a repeated attempt
notifies nobody twice; the webhook delivery carries the same idempotency key, so a receiver
drops a repeat. A webhook that is down does not fail the activity: the delivery error is
returned (and the desk notification stands).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.webhook import WebhookActivities
from definitions.errors import NotFound
from definitions.models import NotifyStep
from definitions.runs import ACT_NOTIFY_FAILURE, ActionInput, FailureNotice, WebhookDelivery
from desk.actions import apply_action

#: The ledger's step id of the failure notice (a run's own steps cannot clash: ids are theirs).
FAILURE_STEP_ID = "on-failure"
WORKFLOW_FAILED = "workflow_failed"


def failure_message(notice: FailureNotice) -> str:
    """The notification text; the reason is literal text, never a template."""
    reason = notice.reason.replace("{{", "{ {")
    return (
        f"Workflow “{notice.workflow_name}” failed on conversation "
        f"{notice.event.conversation.id}: {reason}"
    )


class FailureNoticeActivities:
    def __init__(self, engine: Engine, webhook: WebhookActivities) -> None:
        self.engine = engine
        self.webhook = webhook

    def _notify_desk(self, notice: FailureNotice) -> dict[str, Any]:
        target = notice.on_failure.notify.model_dump(exclude_none=True)
        step = NotifyStep.model_validate(
            {
                "id": FAILURE_STEP_ID,
                "type": "action",
                "action": "notify",
                "params": {**target, "message": failure_message(notice)},
            }
        )
        args = ActionInput(
            run_id=notice.run_id,
            idempotency_scope=notice.idempotency_scope,
            step=step,
            event=notice.event,
            causal_chain=[notice.run_id],
        )
        try:
            return apply_action(self.engine, args).output
        except NotFound as exc:  # the team or agent is gone: say so, still tell the webhook
            return {"error": exc.message}

    @activity.defn(name=ACT_NOTIFY_FAILURE)
    async def notify_failure(self, notice: FailureNotice) -> dict[str, Any]:
        """Desk notification, then the webhook event; returns what each did."""
        desk = await asyncio.to_thread(self._notify_desk, notice)
        delivery = WebhookDelivery(
            idempotency_key=f"{notice.idempotency_scope}:{FAILURE_STEP_ID}",
            action=WORKFLOW_FAILED,
            conversation_id=notice.event.conversation.id,
            payload={
                "workflow_id": notice.definition_id,
                "workflow_name": notice.workflow_name,
                "run_id": notice.run_id,
                "conversation_id": notice.event.conversation.id,
                "reason": notice.reason,
                "notified": notice.on_failure.notify.model_dump(exclude_none=True),
            },
        )
        try:
            webhook = await self.webhook.deliver_webhook(delivery)
        except Exception as exc:  # reported in the result: the run has failed already
            webhook = {"delivered": False, "error": str(exc)}
        return {"desk": desk, "webhook": webhook}
