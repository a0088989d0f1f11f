"""Events caused by runs (a `change_status` action) go through the same ingestion as POST /events.

The runs and the SLA signal are started by `temporal_edge.TemporalRunStarter` over the worker's
client, exactly as the API starts them (same ids, search attributes, summary and error mapping).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from definitions.events import Event
from definitions.runs import ACT_DISPATCH_EVENT, DispatchResult
from desk.ingestion import EventIngestor
from temporal_edge import Client, TemporalRunStarter


class DispatchActivities:
    """`engine`: the supportflow database; `client`: a Temporal client with the pydantic data
    converter; `task_queue`: where runs and SLA trackers are started."""

    def __init__(self, engine: Engine, client: Client, task_queue: str) -> None:
        self.ingestor = EventIngestor(engine, TemporalRunStarter(client, task_queue))

    @activity.defn(name=ACT_DISPATCH_EVENT)
    async def dispatch_event(self, event: Event) -> DispatchResult:
        """Ingest an event a run caused (mirror, loop guard, start matching runs, feed the SLA
        tracker). Idempotent by event id, so retries are safe."""
        result = await self.ingestor.ingest(event)
        return DispatchResult(run_ids=result.run_ids)
