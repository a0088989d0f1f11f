"""The recorded events (`events`): read a window of them for a backtest, prune the old ones.

Every accepted event is kept with its full payload (as the runs got it: sentiment filled in) and
the instant it arrived (`received_at`, indexed). Retention (`SUPPORTFLOW_EVENT_RETENTION`, 30 days
by default) is enforced by `prune`, which the worker runs on a Temporal schedule
(worker/prune_workflow.py). An event id is the idempotency key of `POST /events` for as long as
its row is kept, so the retention is also the idempotency window; an event whose outbox rows are
still waiting (its runs not started yet) is never pruned, whatever its age: the relay reads it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from definitions.backtest import RecordedEvent
from definitions.events import Event
from definitions.utc import as_utc
from definitions.wire import WIRE
from store.db import session_scope
from store.models import EventRow, OutboxRow

log = logging.getLogger(__name__)

#: Rows deleted per transaction, so a large prune never holds a long write lock.
PRUNE_BATCH = 1000


def recorded_window(
    session: Session, start: datetime, end: datetime, limit: int
) -> tuple[list[RecordedEvent], bool]:
    """The events that arrived in [start, end), in arrival order, at most `limit`; and whether
    the window held more. Payloads are read leniently (an event stored by an older release still
    reads); one that cannot be read at all is skipped and logged."""
    query = (
        select(EventRow.id, EventRow.payload, EventRow.received_at)
        .where(EventRow.received_at >= start, EventRow.received_at < end)
        .order_by(col(EventRow.received_at), col(EventRow.id))
        .limit(limit + 1)
    )
    rows = session.exec(query).all()
    truncated = len(rows) > limit
    recorded: list[RecordedEvent] = []
    for event_id, payload, received_at in rows[:limit]:
        try:
            event = Event.model_validate(payload, context=WIRE)
        except ValidationError as exc:
            log.warning("recorded event %s cannot be read, left out: %s", event_id, exc)
            continue
        recorded.append(RecordedEvent(event, as_utc(received_at)))
    return recorded, truncated


def prune(engine: Engine, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Delete the events that arrived before `before`, except those the outbox still needs.
    Returns how many were deleted."""
    owed = select(OutboxRow.event_id)
    deleted = 0
    while True:
        with session_scope(engine) as session:
            ids = session.exec(
                select(EventRow.id)
                .where(EventRow.received_at < before, col(EventRow.id).not_in(owed))
                .limit(batch)
            ).all()
            if not ids:
                return deleted
            session.exec(delete(EventRow).where(col(EventRow.id).in_(ids)))  # type: ignore[call-overload]
            deleted += len(ids)
