"""Every side effect of supportflow, as Temporal activities on classes with injected dependencies
(the money-transfer template's BankingActivities): tests give them a real database on a temporary
path, a local HTTP server and a Temporal test server.

The worker registers `build_activities(engine, settings, client)`. All of them are `async def`
(blocking database work runs in `asyncio.to_thread`), so the worker needs no activity executor.

Local vs regular activities, for the WorkflowRun interpreter:
- LOCAL_ACTIVITIES (`evaluate_condition`, `perform_action`, `perform_guarded_action` — a condition
  and the action it guards in one call): short database transactions on the
  worker's own database; running them as local activities keeps a run fast and its history small.
  Their idempotency (the ledger) makes the local-activity retry semantics safe.
- REGULAR_ACTIVITIES (`deliver_webhook`, `dispatch_event`): network calls to the outside world or
  to Temporal itself, possibly long retries with backoff: regular activities, with their own
  timeouts and retry policies visible in the history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from activities.business_deadlines import BusinessDeadlineActivities
from activities.desk import DeskActivities
from activities.dispatch import DispatchActivities
from activities.failure_notice import FailureNoticeActivities
from activities.idle import IdleActivities
from activities.retention import RetentionActivities
from activities.sla import SlaActivities  # added by the SLA engineer (issue 4)
from activities.waits import WaitActivities
from activities.webhook import WebhookActivities
from definitions.business_deadlines import ACT_COMPUTE_BUSINESS_DEADLINES
from definitions.idle import ACT_START_IDLE_RUN
from definitions.retention import ACT_PRUNE_EVENTS
from definitions.runs import (
    ACT_CHECK_WAIT,
    ACT_DELIVER_WEBHOOK,
    ACT_DISPATCH_EVENT,
    ACT_EVALUATE_CONDITION,
    ACT_NOTIFY_FAILURE,
    ACT_PERFORM_ACTION,
    ACT_PERFORM_GUARDED_ACTION,
    ACT_WAIT_DEADLINE,
)
from definitions.sla import ACT_LOOKUP_SLA_DEFINITIONS, ACT_START_SLA_BREACH_RUN
from store.settings import Settings
from temporal_edge import Client

# ConversationSla (SLA engineer): the threshold lookup is local, the breach-run start regular.
# Idle triggers and business-time deadlines (issue 12): the deadline computation is local, the
# idle-run start regular.
LOCAL_ACTIVITIES: frozenset[str] = frozenset(
    {
        ACT_EVALUATE_CONDITION,
        ACT_PERFORM_ACTION,
        ACT_PERFORM_GUARDED_ACTION,
        ACT_CHECK_WAIT,
        ACT_WAIT_DEADLINE,
        ACT_LOOKUP_SLA_DEFINITIONS,
        ACT_COMPUTE_BUSINESS_DEADLINES,
        ACT_NOTIFY_FAILURE,
    }
)
REGULAR_ACTIVITIES: frozenset[str] = frozenset(
    {
        ACT_DELIVER_WEBHOOK,
        ACT_DISPATCH_EVENT,
        ACT_START_SLA_BREACH_RUN,
        ACT_START_IDLE_RUN,
        ACT_PRUNE_EVENTS,
    }
)

WEBHOOK_TIMEOUT = httpx.Timeout(10.0)


def build_activities(
    engine: Engine,
    settings: Settings,
    client: Client,
    *,
    http_client: httpx.AsyncClient | None = None,
) -> list[Callable[..., Any]]:
    """Every activity callable for `Worker(activities=...)`. Pass `http_client` to own its
    lifecycle (close it on shutdown); otherwise one is created for the process."""
    desk = DeskActivities(engine, deliver_webhooks=settings.webhook_url is not None)
    webhook = WebhookActivities(settings, http_client or httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT))
    dispatch = DispatchActivities(engine, client, settings.task_queue)
    sla = SlaActivities(engine, client)  # ConversationSla: threshold lookup and breach runs
    waits = WaitActivities(engine)
    idle = IdleActivities(engine, client)  # ConversationSla: idle-period runs
    business = BusinessDeadlineActivities(engine)  # ConversationSla: business-time deadlines
    failure = FailureNoticeActivities(engine, webhook)  # on_failure (issue 14)
    retention = RetentionActivities(engine, settings)  # the scheduled prune of old events
    return [
        desk.evaluate_condition,
        desk.perform_action,
        desk.perform_guarded_action,
        waits.check_wait,
        waits.wait_deadline,
        webhook.deliver_webhook,
        dispatch.dispatch_event,
        sla.lookup_sla_definitions,
        sla.start_sla_breach_run,
        idle.start_idle_run,
        business.compute_business_deadlines,
        failure.notify_failure,
        retention.prune_events,
    ]


__all__ = [
    "LOCAL_ACTIVITIES",
    "REGULAR_ACTIVITIES",
    "BusinessDeadlineActivities",
    "DeskActivities",
    "DispatchActivities",
    "IdleActivities",
    "RetentionActivities",
    "SlaActivities",
    "WaitActivities",
    "WebhookActivities",
    "build_activities",
]
