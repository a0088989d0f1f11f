"""The outbox rows: heads per conversation, and (PostgreSQL) replicas skipping a held head."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from store import outbox
from store.db import session_scope

pytest_plugins = ["tests.db_fixtures"]


def _add(engine: Engine, *rows: tuple[str, str]) -> None:
    with session_scope(engine) as session:
        for event_id, conversation_id in rows:
            session.add(
                outbox.outbox_row(outbox.KIND_SIGNAL_SLA, event_id, conversation_id, "sla:x", {})
            )


def test_heads_come_in_id_order_per_conversation(desk_engine: Engine) -> None:
    _add(desk_engine, ("e1", "c1"), ("e2", "c2"), ("e3", "c1"))
    assert outbox.pending_conversations(desk_engine) == ["c1", "c2"]
    seen, more = [], []
    while True:
        claim = outbox.claim_head(desk_engine, "c1")
        if claim == "empty":
            break
        assert isinstance(claim, outbox.Claim)
        seen.append(claim.row.event_id)
        claim.done()
        more.append(claim.finish())  # whether c1 still has rows (c2's does not count)
    assert seen == ["e1", "e3"]
    assert more == [True, False]
    assert (
        outbox.pending_for_event(desk_engine, "e2") == 1 and outbox.pending_count(desk_engine) == 1
    )


def test_a_failed_attempt_is_counted_and_the_row_stays(desk_engine: Engine) -> None:
    _add(desk_engine, ("e1", "c1"))
    claim = outbox.claim_head(desk_engine, "c1")
    assert isinstance(claim, outbox.Claim)
    claim.failed("Temporal is unreachable")
    assert claim.finish() is True  # the failed row itself is still there
    again = outbox.claim_head(desk_engine, "c1")
    assert isinstance(again, outbox.Claim)
    assert again.row.attempts == 1 and again.row.last_error == "Temporal is unreachable"
    again.release()


def test_a_head_held_by_another_replica_is_skipped_on_postgresql(desk_engine: Engine) -> None:
    _add(desk_engine, ("e1", "c1"), ("e2", "c1"))
    first = outbox.claim_head(desk_engine, "c1")
    assert isinstance(first, outbox.Claim)
    try:
        second = outbox.claim_head(desk_engine, "c1")
        if desk_engine.dialect.name == "postgresql":
            assert second == "held"  # never e2 before e1
        else:  # SQLite: no row locks; one relay per database, serialised in-process
            assert isinstance(second, outbox.Claim) and second.row.event_id == "e1"
            second.release()
    finally:
        first.release()
