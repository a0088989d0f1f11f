"""Runs waiting in a `wait_for`, and the desk changes that end them (SPEC §2.3).

The desk state is the truth, signals are only hints (docs/DESIGN.md "Waking a waiting run"):

- ingestion, in the mirror's transaction, journals what a wait can wait for (`journal_change`:
  customer and agent/AI messages, status changes) and reads the waits it may end
  (`waits_to_wake`); after the commit the app sends each of those runs a hint;
- the run, in one transaction (`check_wait`), upserts its wait row and looks for a journaled
  change newer than the wait's watermark; it does so when the wait begins, on every hint and at
  the deadline.

Both transactions lock the conversation row first (SQLite: BEGIN IMMEDIATE serialises writers), so
one of them always sees the other: either ingestion finds the wait row and hints, or the run finds
the change. Hints may be lost, late or repeated: the re-check decides, and a change counts once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from definitions.events import Event
from definitions.matching import wait_change
from definitions.runs import WaitCheck, WaitFound
from definitions.utc import as_utc
from store.models import ConversationChangeRow, ConversationRow, RunWaitRow, utcnow

#: How many of a conversation's latest changes of one kind a check reads (only the newest can be
#: newer than a watermark).
RECENT_CHANGES = 200


def _lock_conversation(session: Session, conversation_id: str) -> None:
    """Serialise with the other side (see the module docstring). SQLite: the transaction holds
    the database's write lock already (`store.db`), and it has no row locks."""
    if session.get_bind().dialect.name == "sqlite":
        return
    session.exec(
        select(ConversationRow.id).where(ConversationRow.id == conversation_id).with_for_update()
    ).first()


def journal_change(session: Session, event: Event, now: datetime | None = None) -> bool:
    """Record the change `event` brings, if a wait could wait for it (once per event id).
    Returns whether the event is such a change."""
    kind = wait_change(event)
    if kind is None:
        return False
    seen = session.exec(
        select(ConversationChangeRow.id).where(ConversationChangeRow.event_id == event.id)
    ).first()
    if seen is None:
        session.add(
            ConversationChangeRow(
                conversation_id=event.conversation.id,
                kind=kind,
                event_id=event.id,
                message_id=event.message.id if event.message else None,
                to_status=event.to_status if kind == "status_change" else None,
                recorded_at=now or utcnow(),
            )
        )
    return True


def waits_to_wake(session: Session, event: Event) -> list[str]:
    """The workflow ids of the runs whose wait `event` may end (call after `journal_change`, in
    the same transaction)."""
    kind = wait_change(event)
    if kind is None:
        return []
    _lock_conversation(session, event.conversation.id)
    rows = session.exec(
        select(RunWaitRow).where(
            RunWaitRow.conversation_id == event.conversation.id, RunWaitRow.event == kind
        )
    ).all()
    return [
        row.workflow_id
        for row in rows
        if not row.to_statuses or (event.to_status in row.to_statuses)
    ]


def _find(session: Session, check: WaitCheck) -> WaitFound:
    rows = session.exec(
        select(ConversationChangeRow)
        .where(
            ConversationChangeRow.conversation_id == check.conversation_id,
            ConversationChangeRow.kind == check.event,
        )
        .order_by(col(ConversationChangeRow.id).desc())
        .limit(RECENT_CHANGES)
    ).all()
    watermark = as_utc(check.watermark)
    newer = [
        row
        for row in rows
        if as_utc(row.recorded_at) > watermark
        and (not check.to_statuses or row.to_status in check.to_statuses)
    ]
    if not newer:
        return WaitFound()
    first = min(newer, key=lambda row: row.id or 0)
    if first.kind == "status_change":
        description = f"status changed to {first.to_status} (event {first.event_id})"
    else:
        description = f"{first.kind.replace('_', ' ')} {first.message_id} (event {first.event_id})"
    return WaitFound(found=True, description=description, recorded_at=as_utc(first.recorded_at))


def check_wait(session: Session, check: WaitCheck) -> WaitFound:
    """One transaction of a waiting run (see the module docstring): the first matching change
    newer than the watermark, if any. The wait row stays while the run goes on waiting and is
    deleted on a match, at the deadline (`final`) and on `cancel`."""
    _lock_conversation(session, check.conversation_id)
    found = WaitFound() if check.mode == "cancel" else _find(session, check)
    row = session.get(RunWaitRow, (check.workflow_id, check.step_id))
    if found.found or check.mode != "check":
        if row is not None:
            session.delete(row)
        return found
    if row is None:
        session.add(
            RunWaitRow(
                workflow_id=check.workflow_id,
                step_id=check.step_id,
                conversation_id=check.conversation_id,
                event=check.event,
                to_statuses=list(check.to_statuses),
                watermark=check.watermark,
                deadline=check.deadline,
            )
        )
    return found
