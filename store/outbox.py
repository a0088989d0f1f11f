"""The transactional outbox (`OutboxRow`, SPEC §3.1): rows are added in the event's own
transaction (`desk.ingestion`), claimed one at a time per conversation (its head: the lowest id)
and deleted once Temporal took them (`desk.outbox`).

PostgreSQL: `claim_head` locks the head with `SELECT ... FOR UPDATE SKIP LOCKED` and keeps that
transaction open while the caller talks to Temporal, so API replicas never work on one
conversation at the same time: a locked head means another replica is draining it, and the
conversation is skipped. SQLite has no row locks and one writer at a time: the head is read in a
short transaction and the caller serialises each conversation in its own process (one relay per
database).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

from sqlalchemy import delete, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from store.db import read_session, session_scope
from store.models import OutboxRow

KIND_START_RUN = "start_run"
KIND_SIGNAL_SLA = "signal_sla"
#: A signal_sla row's payload key: when a tracker it starts must first run (ISO time; absent: at
#: once).
WAKE_AT = "wake_at"
#: A hint to a run waiting in a `wait_for` (desk/waits.py); it re-checks the desk itself.
KIND_SIGNAL_WAIT = "signal_wait"

#: Longest `last_error` kept on a row.
ERROR_CHARS = 2000


def pending_conversations(engine: Engine, limit: int = 200) -> list[str]:
    """Conversations with outbox rows, the longest waiting first."""
    first = func.min(OutboxRow.id).label("first")
    query = (
        select(OutboxRow.conversation_id, first)
        .group_by(col(OutboxRow.conversation_id))
        .order_by(first)
        .limit(limit)
    )
    with read_session(engine) as session:
        return [conversation_id for conversation_id, _ in session.exec(query).all()]


def pending_for_event(engine: Engine, event_id: str) -> int:
    """How many outbox rows of this event are still waiting."""
    query = select(func.count()).select_from(OutboxRow).where(OutboxRow.event_id == event_id)
    with read_session(engine) as session:
        return int(session.exec(query).one())


def pending_count(engine: Engine) -> int:
    """All waiting rows (health, tests)."""
    with read_session(engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxRow)).one())


class Claim:
    """The head row of one conversation, held until `finish`: `done()` deletes it, `failed()`
    counts the attempt; both are written by `finish()`, which also releases the lock."""

    def __init__(self, session: Session, row: OutboxRow) -> None:
        self.session = session
        self.row = row

    @property
    def row_id(self) -> int:
        assert self.row.id is not None
        return self.row.id

    def done(self) -> None:
        # A statement, not session.delete: on SQLite another process may have deleted it meanwhile.
        self.session.exec(delete(OutboxRow).where(col(OutboxRow.id) == self.row_id))  # type: ignore[call-overload]

    def failed(self, error: str) -> None:
        self.session.exec(
            update(OutboxRow)  # type: ignore[call-overload]
            .where(col(OutboxRow.id) == self.row_id)
            .values(attempts=OutboxRow.attempts + 1, last_error=error[:ERROR_CHARS])
        )

    def finish(self) -> bool:
        """Commit `done()` / `failed()` and release the row. Returns whether the conversation
        still has rows, read in this same transaction: a drain that has just settled the last one
        needs no further (empty) claim to learn it — on SQLite every transaction takes the write
        lock, so that claim cost every event one more turn at it. A row committed after this read
        is drained by the event that wrote it (its own inline drain, or the relay)."""
        try:
            more = (
                self.session.exec(
                    select(OutboxRow.id)
                    .where(OutboxRow.conversation_id == self.row.conversation_id)
                    .limit(1)
                ).first()
                is not None
            )
            self.session.commit()
        finally:
            self.session.close()
        return more

    def release(self) -> None:
        """Give the row back untouched."""
        try:
            self.session.rollback()
        finally:
            self.session.close()


def claim_head(
    engine: Engine, conversation_id: str, delivered: Collection[int] = ()
) -> Claim | Literal["empty", "held"]:
    """The conversation's oldest row, but for rows `delivered` already (and not yet deleted);
    "empty" when it has none, "held" when (PostgreSQL) another replica holds it. Call
    `finish()` or `release()` on the claim."""
    locking = engine.dialect.name == "postgresql"
    first = select(func.min(OutboxRow.id)).where(OutboxRow.conversation_id == conversation_id)
    if delivered:
        first = first.where(col(OutboxRow.id).not_in(delivered))
    head = first.scalar_subquery()
    query = select(OutboxRow).where(col(OutboxRow.id) == head)
    if locking:
        query = query.with_for_update(skip_locked=True)
    if locking:
        session = Session(engine, expire_on_commit=False)
    else:  # SQLite: a read, never the write lock (let alone held while Temporal is called)
        session = read_session(engine, expire_on_commit=False)
    try:
        row = session.exec(query).first()
        held = row is None and locking and session.exec(select(head)).first() is not None
        if row is None or not locking:
            session.commit()
    except BaseException:
        session.close()
        raise
    if row is None:
        session.close()
        return "held" if held else "empty"
    if not locking:  # settled in a write transaction of its own
        session.close()
        session = Session(engine, expire_on_commit=False)
    return Claim(session, row)


def delete_delivered(engine: Engine, row_ids: Collection[int]) -> None:
    """Delete rows delivered earlier (`desk.outbox`: on SQLite, many in one transaction)."""
    with session_scope(engine) as session:
        session.exec(delete(OutboxRow).where(col(OutboxRow.id).in_(row_ids)))  # type: ignore[call-overload]


def outbox_row(
    kind: str, event_id: str, conversation_id: str, workflow_id: str, payload: dict[str, Any]
) -> OutboxRow:
    return OutboxRow(
        kind=kind,
        event_id=event_id,
        conversation_id=conversation_id,
        workflow_id=workflow_id,
        payload=payload,
    )
