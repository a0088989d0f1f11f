"""POST /events: the help desk tells supportflow what happened (SPEC §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from app.api.deps import CanIngest, IngestorDep
from app.errors import responses
from app.schemas import EVENT_EXAMPLE, UPDATED_EVENT_EXAMPLE, EventAccepted
from definitions.events import Event

router = APIRouter(prefix="/events", tags=["events"])


@router.post(
    "",
    response_model=EventAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[CanIngest],
    responses=responses(401, 403, 422, 503),
)
async def receive_event(
    *,
    ingestor: IngestorDep,
    event: Annotated[Event, Body(examples=[EVENT_EXAMPLE, UPDATED_EVENT_EXAMPLE])],
) -> EventAccepted:
    """Accept one event durably and start the runs it triggers; the same event id again starts
    nothing. `202` means accepted for good: runs Temporal could not take now are `queued` and start
    as soon as it is back. `503` only when the database is unreachable (then nothing was
    written)."""
    result = await ingestor.ingest(event)
    return EventAccepted(
        event_id=event.id,
        run_ids=result.run_ids,
        duplicate=result.duplicate,
        queued=result.queued,
    )
