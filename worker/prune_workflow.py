"""PruneEvents: what the retention schedule starts (definitions/retention.py). One activity, so
the prune shows in the Temporal UI with its result (how many events, before when)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from definitions.retention import ACT_PRUNE_EVENTS, PRUNE_EVENTS, PruneResult


@workflow.defn(name=PRUNE_EVENTS)
class PruneEvents:
    @workflow.run
    async def run(self) -> PruneResult:
        # Retried for up to half the schedule's interval: a database outage skips a round at most.
        return await workflow.execute_activity(
            ACT_PRUNE_EVENTS,
            result_type=PruneResult,
            start_to_close_timeout=timedelta(minutes=5),
            schedule_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
            summary="prune events older than the retention",
        )
