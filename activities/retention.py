"""The `prune_events` activity: delete the events older than the retention."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from temporalio import activity

from definitions.retention import ACT_PRUNE_EVENTS, PruneResult
from store import events_repo
from store.models import utcnow
from store.settings import Settings


class RetentionActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def _prune(self) -> PruneResult:
        before = utcnow() - self.settings.event_retention
        deleted = events_repo.prune(self.engine, before)
        activity.logger.info("pruned %d event(s) received before %s", deleted, before.isoformat())
        return PruneResult(deleted=deleted, before=before)

    @activity.defn(name=ACT_PRUNE_EVENTS)
    async def prune_events(self) -> PruneResult:
        """Delete the events received before now − `SUPPORTFLOW_EVENT_RETENTION`, except those the
        outbox still needs; in batches, each its own short transaction."""
        return await asyncio.to_thread(self._prune)
