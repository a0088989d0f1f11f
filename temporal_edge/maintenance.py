"""The Temporal Schedule that prunes old events (definitions/retention.py), created idempotently
when a worker starts: a deployment gets one schedule, visible (and pausable) under Schedules in
the Temporal UI; a second worker, or a restart, finds it there and leaves it as it is."""

from __future__ import annotations

import logging

from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError

from definitions.retention import PRUNE_EVENTS, PRUNE_EVERY, prune_schedule_id
from temporal_edge.connection import RPC_TIMEOUT, Client, rpc_failure

log = logging.getLogger(__name__)


async def ensure_prune_schedule(client: Client, task_queue: str) -> bool:
    """Create the prune schedule of `task_queue` unless it exists; True when created. Its first
    prune runs at once. `TemporalUnavailable` when Temporal cannot be reached."""
    schedule_id = prune_schedule_id(task_queue)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PRUNE_EVENTS,
            id=f"{schedule_id}:run",  # the server appends the scheduled time
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=PRUNE_EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(
            note="supportflow: delete events older than SUPPORTFLOW_EVENT_RETENTION"
        ),
    )
    try:
        await client.create_schedule(
            schedule_id, schedule, trigger_immediately=True, rpc_timeout=RPC_TIMEOUT
        )
    except ScheduleAlreadyRunningError:
        return False
    except RPCError as exc:
        raise rpc_failure(client, exc) from exc
    log.info("created the Temporal schedule %s (prune events every %s)", schedule_id, PRUNE_EVERY)
    return True
