"""Event retention: the Temporal names of the scheduled prune (`SUPPORTFLOW_EVENT_RETENTION`).

A Temporal Schedule (`prune_schedule_id`, visible under Schedules in the Temporal UI) starts the
`PruneEvents` workflow every `PRUNE_EVERY`; it runs the `prune_events` activity on the worker,
which deletes the events received before now − retention (store/events_repo.py `prune`). The
schedule is created, idempotently, when a worker starts (temporal_edge/maintenance.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

PRUNE_EVENTS = "PruneEvents"
ACT_PRUNE_EVENTS = "prune_events"
#: How often the schedule prunes: the table holds at most an hour more than the retention.
PRUNE_EVERY = timedelta(hours=1)


def prune_schedule_id(task_queue: str) -> str:
    """One schedule per deployment (its task queue): test deployments on one server stay apart."""
    return f"prune-events:{task_queue}"


class PruneResult(BaseModel):
    deleted: int = Field(description="Events deleted")
    before: datetime = Field(description="Events received before this instant were pruned")
