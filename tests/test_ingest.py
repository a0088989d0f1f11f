"""Event ingestion: idempotent by event id, loop guard, trigger index, runs started per match."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from definitions.events import Event
from definitions.runs import MAX_CAUSAL_DEPTH, RunInput, StartRefused, run_workflow_id
from desk.ingestion import EventIngestor
from desk.outbox import OutboxDelivery
from desk.state import conversation_view
from store import outbox
from store.db import session_scope
from store.models import EventRow, OutboxRow, TriggerIndexRow, WorkflowDefinitionRow
from store.trigger_index import index_definition, unindex_definition
from tests.desk_builders import make_event, store_definition
from tests.temporal_fixtures import assert_eventually

pytest_plugins = ["tests.db_fixtures"]

STEPS = [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}]


def _definition(trigger: dict[str, Any], status: str = "active") -> dict[str, Any]:
    return {"name": "d", "status": status, "trigger": trigger, "steps": STEPS}


class RecordingStarter:
    """A RunStarter that records what it was asked to do (Temporal is tested in the activities)."""

    def __init__(self, fail_on_start: bool = False) -> None:
        self.started: list[RunInput] = []
        self.signalled: list[Event] = []
        self.accepted_at: list[datetime | None] = []
        self.wake_at: list[datetime | None] = []
        self.woken: list[str] = []
        self.fail_on_start = fail_on_start

    async def start_run(self, run_input: RunInput) -> None:
        if self.fail_on_start:
            raise ConnectionError("temporal is down")
        self.started.append(run_input)

    async def signal_sla(
        self, event: Event, accepted_at: datetime | None = None, wake_at: datetime | None = None
    ) -> None:
        self.signalled.append(event)
        self.accepted_at.append(accepted_at)
        self.wake_at.append(wake_at)

    async def signal_wait(self, workflow_id: str) -> None:
        self.woken.append(workflow_id)


def _save(engine: Engine, definition_id: str, body: dict[str, Any], version: int = 1) -> None:
    with session_scope(engine) as session:
        index_definition(session, store_definition(session, definition_id, body, version=version))


def _index(engine: Engine) -> set[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(TriggerIndexRow)).all()
        return {(r.definition_id, r.trigger_type, r.channel) for r in rows}


@pytest.fixture
def defs(desk_engine: Engine) -> Engine:
    _save(desk_engine, "new-msg-any", _definition({"type": "new_message"}), version=3)
    _save(
        desk_engine,
        "refund-wa",
        _definition(
            {"type": "new_message", "channels": ["whatsapp", "sms"], "content_patterns": ["refund"]}
        ),
    )
    _save(desk_engine, "email-only", _definition({"type": "new_message", "channels": ["email"]}))
    _save(desk_engine, "draft", _definition({"type": "new_message"}, status="draft"))
    _save(
        desk_engine,
        "vip-new",
        _definition({"type": "new_conversation", "customer_segments": ["vip"]}),
    )
    _save(desk_engine, "closed", _definition({"type": "status_change", "to_statuses": ["closed"]}))
    _save(
        desk_engine,
        "sla",
        _definition({"type": "sla_breach", "sla_type": "reply", "threshold": "30m"}),
    )
    return desk_engine


def test_trigger_index_has_active_definitions_per_channel(defs: Engine) -> None:
    assert _index(defs) == {
        ("new-msg-any", "new_message", "*"),
        ("refund-wa", "new_message", "whatsapp"),
        ("refund-wa", "new_message", "sms"),
        ("email-only", "new_message", "email"),
        ("vip-new", "new_conversation", "*"),
        ("closed", "status_change", "*"),
        ("sla", "sla_breach", "*"),
    }


def test_deactivating_or_deleting_removes_the_index_rows(defs: Engine) -> None:
    with session_scope(defs) as session:
        row = session.get(WorkflowDefinitionRow, "refund-wa")
        assert row is not None
        row.status = "draft"
        index_definition(session, row)
        unindex_definition(session, "email-only")
    ids = {definition_id for definition_id, _, _ in _index(defs)}
    assert "refund-wa" not in ids and "email-only" not in ids and "new-msg-any" in ids


async def test_ingest_starts_one_run_per_matching_active_definition(defs: Engine) -> None:
    starter = RecordingStarter()
    result = await EventIngestor(defs, starter).ingest(make_event("evt-1"))
    assert not result.duplicate
    assert sorted(result.run_ids) == ["run:new-msg-any:evt-1", "run:refund-wa:evt-1"]
    by_id = {run.definition_id: run for run in starter.started}
    assert set(by_id) == {"new-msg-any", "refund-wa"}  # not the draft, not email-only
    run = by_id["new-msg-any"]
    assert run.definition_version == 3
    assert run.idempotency_scope == "run:new-msg-any:evt-1"
    assert run.definition.steps[0].id == "tag"
    assert run.event.message is not None and run.event.message.sentiment is not None  # filled
    assert [e.id for e in starter.signalled] == ["evt-1"]


async def test_channel_filter_uses_the_index(defs: Engine) -> None:
    starter = RecordingStarter()
    event = make_event("evt-mail", conversation={"id": "c-mail", "channel": "email"})
    result = await EventIngestor(defs, starter).ingest(event)
    assert sorted(result.run_ids) == ["run:email-only:evt-mail", "run:new-msg-any:evt-mail"]


async def test_same_event_id_again_starts_nothing_and_returns_the_same_ids(defs: Engine) -> None:
    starter = RecordingStarter()
    ingestor = EventIngestor(defs, starter)
    first = await ingestor.ingest(make_event("evt-1"))
    again = await ingestor.ingest(make_event("evt-1"))
    assert again.duplicate and again.run_ids == first.run_ids
    assert len(starter.started) == 2 and len(starter.signalled) == 1
    with Session(defs) as session:
        [row] = session.exec(select(EventRow)).all()
    assert row.run_ids == first.run_ids and row.conversation_id == "c-9"


async def test_temporal_down_accepts_the_event_and_the_relay_starts_its_runs_later(
    defs: Engine,
) -> None:
    down = RecordingStarter(fail_on_start=True)
    first = await EventIngestor(defs, down).ingest(make_event("evt-1"))
    assert first.queued and not first.duplicate and len(first.run_ids) == 2
    with Session(defs) as session:  # accepted for good: recorded, mirrored, in the outbox
        assert session.get(EventRow, "evt-1") is not None
        rows = session.exec(select(OutboxRow).order_by(col(OutboxRow.id))).all()
    assert [r.kind for r in rows] == ["start_run", "start_run", "signal_sla"]
    assert rows[0].attempts == 1 and "temporal is down" in (rows[0].last_error or "")
    up = RecordingStarter()
    assert await OutboxDelivery(defs, up).relay_round() == 1
    assert sorted(run_workflow_id(r.definition_id, r.event.id) for r in up.started) == sorted(
        first.run_ids
    )
    assert [e.id for e in up.signalled] == ["evt-1"]
    # The signal carries when the event was accepted, not when the relay delivered it.
    [accepted_at] = up.accepted_at
    assert accepted_at is not None and accepted_at.tzinfo is not None
    assert accepted_at < datetime.now(UTC)
    assert outbox.pending_count(defs) == 0
    with Session(defs) as session:  # mirrored once
        view = conversation_view(session, "c-9")
    assert view is not None and len(view["messages"]) == 1


async def test_the_relay_keeps_each_conversations_order(defs: Engine) -> None:
    down = EventIngestor(defs, RecordingStarter(fail_on_start=True))
    for number in range(4):
        await down.ingest(make_event(f"evt-{number}", message={"id": f"m-{number}"}))
    up = RecordingStarter()
    await OutboxDelivery(defs, up).relay_round()
    assert [e.id for e in up.signalled] == ["evt-0", "evt-1", "evt-2", "evt-3"]
    events = [r.event.id for r in up.started]
    assert events == sorted(events)


async def test_a_resent_event_delivers_what_is_still_waiting(defs: Engine) -> None:
    await EventIngestor(defs, RecordingStarter(fail_on_start=True)).ingest(make_event("evt-1"))
    up = RecordingStarter()
    again = await EventIngestor(defs, up).ingest(make_event("evt-1"))
    assert again.duplicate and not again.queued and len(up.started) == 2
    assert outbox.pending_count(defs) == 0


async def test_with_the_relay_running_sqlite_deletes_delivered_rows_in_its_next_round(
    defs: Engine,
) -> None:
    """One write transaction per event fewer: the rows an event's inline drain delivered are
    deleted by the relay's next round, and no claim in this process delivers them again before."""
    if defs.dialect.name != "sqlite":
        pytest.skip("PostgreSQL deletes each row in the transaction that claimed it")
    up = RecordingStarter()
    delivery = OutboxDelivery(defs, up)
    ingestor = EventIngestor(defs, up, delivery)
    relay = asyncio.create_task(delivery.run_relay())
    try:
        await asyncio.sleep(0.1)  # its first round: nothing to do yet
        for number in range(3):
            await ingestor.ingest(make_event(f"evt-{number}", message={"id": f"m-{number}"}))
        assert outbox.pending_count(defs) == 9  # 2 runs and 1 tracker signal each: not deleted
        await delivery.drain("c-9")  # another drain of the conversation: nothing again
        assert [e.id for e in up.signalled] == ["evt-0", "evt-1", "evt-2"]
        assert len(up.started) == 6
        delivery.wake()

        async def deleted() -> None:
            assert outbox.pending_count(defs) == 0

        await assert_eventually(deleted, timeout=5)
    finally:
        delivery.stop()
        await asyncio.wait_for(relay, 5)
    assert len(up.started) == 6 and len(up.signalled) == 3  # each delivered once


async def test_rows_another_process_deleted_first_are_not_confused_with_new_ones(
    defs: Engine,
) -> None:
    """The worker's own ingestion (no relay) drains a conversation and deletes rows the API had
    delivered and not deleted yet. The next event's rows must not take their ids (SQLite reused
    the id of a deleted last row): the API, still holding those ids as delivered, skipped the new
    rows and would then have deleted them undelivered (found by the dry-run parity suite)."""
    api_starter, worker_starter = RecordingStarter(), RecordingStarter()
    api = OutboxDelivery(defs, api_starter)
    ingestor = EventIngestor(defs, api_starter, api)
    relay = asyncio.create_task(api.run_relay())
    try:
        await asyncio.sleep(0.1)  # past the relay's first round
        await ingestor.ingest(make_event("evt-1", message={"id": "m-1"}))
        await EventIngestor(defs, worker_starter).delivery.drain("c-9")  # the worker's drain
        assert outbox.pending_count(defs) == 0  # it deleted what the API delivered
        second = await ingestor.ingest(make_event("evt-2", message={"id": "m-2"}))
        assert not second.queued
        started = {run_workflow_id(r.definition_id, r.event.id) for r in api_starter.started}
        assert set(second.run_ids) <= started
        assert [e.id for e in api_starter.signalled] == ["evt-1", "evt-2"]
    finally:
        api.stop()
        await asyncio.wait_for(relay, 5)
    assert outbox.pending_count(defs) == 0


class RefusingStarter(RecordingStarter):
    """Refuses, for good, the runs of one definition (as Temporal refuses a too large input)."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def start_run(self, run_input: RunInput) -> None:
        if run_input.definition_id == self.refused and run_input.start_refused is None:
            raise StartRefused("Blob data size exceeds limit.")
        await super().start_run(run_input)


async def test_a_refused_start_never_blocks_the_other_runs(defs: Engine) -> None:
    starter = RefusingStarter("new-msg-any")
    result = await EventIngestor(defs, starter).ingest(make_event("evt-1"))
    assert not result.queued and len(result.run_ids) == 2
    by_id = {run.definition_id: run for run in starter.started}
    assert by_id["refund-wa"].start_refused is None
    record = by_id["new-msg-any"]  # the refusal, recorded as a run that fails with the reason
    assert record.start_refused == "Blob data size exceeds limit."
    assert record.definition.name == "d" and record.definition_version == 3
    assert outbox.pending_count(defs) == 0


async def test_loop_guard_stops_runs_past_the_maximum_depth(defs: Engine) -> None:
    starter = RecordingStarter()
    ingestor = EventIngestor(defs, starter)
    at_limit = make_event("evt-5", causal_chain=[f"run:x:{i}" for i in range(MAX_CAUSAL_DEPTH)])
    too_deep = make_event("evt-6", causal_chain=[f"run:x:{i}" for i in range(MAX_CAUSAL_DEPTH + 1)])
    assert len((await ingestor.ingest(at_limit)).run_ids) == 2
    assert (await ingestor.ingest(too_deep)).run_ids == []
    assert [e.id for e in starter.signalled] == ["evt-5", "evt-6"]  # SLA trackers still see it
    with Session(defs) as session:  # and the mirror too
        view = conversation_view(session, "c-9")
    assert view is not None and len(view["messages"]) == 2


async def test_automation_messages_never_start_new_message_runs(defs: Engine) -> None:
    event = make_event("evt-a", message={"sender_type": "automation", "content": "refund"})
    assert (await EventIngestor(defs, RecordingStarter()).ingest(event)).run_ids == []


async def test_new_conversation_and_status_change_triggers(defs: Engine) -> None:
    starter = RecordingStarter()
    ingestor = EventIngestor(defs, starter)
    created = await ingestor.ingest(make_event("evt-c", "conversation.created"))
    assert created.run_ids == ["run:vip-new:evt-c"]
    not_vip = make_event(
        "evt-c2", "conversation.created", conversation={"id": "c-2"}, customer={"segment": "smb"}
    )
    assert (await ingestor.ingest(not_vip)).run_ids == []
    closed = make_event(
        "evt-s", "conversation.status_changed", from_status="open", to_status="closed"
    )
    assert (await ingestor.ingest(closed)).run_ids == ["run:closed:evt-s"]
    with Session(defs) as session:
        view = conversation_view(session, "c-9")
    assert view is not None and view["status"] == "closed"


async def test_a_definition_deactivated_without_reindexing_starts_nothing(defs: Engine) -> None:
    """The index narrows the candidates; the definition's own status still decides."""
    with session_scope(defs) as session:
        row = session.get(WorkflowDefinitionRow, "new-msg-any")
        assert row is not None
        row.status = "draft"
    result = await EventIngestor(defs, RecordingStarter()).ingest(make_event("evt-1"))
    assert result.run_ids == ["run:refund-wa:evt-1"]


async def test_a_conversations_first_signal_starts_its_tracker_lazily(defs: Engine) -> None:
    """The tracker's first workflow task waits until a minute before the earliest deadline the
    event can lead to: the smallest active threshold (the reply 30m here, not the 2h idle
    definition nor the 5m draft) after the event's clock start."""
    idle = {"type": "conversation_idle", "waiting_on": "customer", "idle_for": "2h"}
    _save(defs, "idle", _definition(idle))
    draft = {"type": "sla_breach", "sla_type": "reply", "threshold": "5m"}
    _save(defs, "sla-draft", _definition(draft, status="draft"))
    starter = RecordingStarter()
    before = datetime.now(UTC)
    await EventIngestor(defs, starter).ingest(make_event("evt-1", occurred_at=before))
    # Accepted after `before`, so the event's own time starts the clocks.
    assert starter.wake_at == [before + timedelta(minutes=29)]

    stale = make_event("evt-old", conversation={"id": "c-old"})  # occurred days ago
    await EventIngestor(defs, starter).ingest(stale)
    after = datetime.now(UTC)
    wake_at = starter.wake_at[-1]
    assert wake_at is not None  # counted from the acceptance, not from days ago
    assert before + timedelta(minutes=29) <= wake_at <= after + timedelta(minutes=29)

    # A tracker already fed gets its events at once (a running tracker ignores the delay).
    await EventIngestor(defs, starter).ingest(make_event("evt-2", occurred_at=after))
    assert [e.id for e in starter.signalled] == ["evt-1", "evt-old", "evt-2"]
    assert starter.wake_at[-1] is None


async def test_a_conversation_idle_definition_alone_feeds_the_tracker(desk_engine: Engine) -> None:
    """Trackers exist once an sla_breach or a conversation_idle definition does (issue 12)."""
    starter = RecordingStarter()
    await EventIngestor(desk_engine, starter).ingest(make_event("evt-before"))
    assert starter.signalled == []
    idle = {"type": "conversation_idle", "waiting_on": "customer", "idle_for": "24h"}
    _save(desk_engine, "idle", _definition(idle, status="draft"))
    result = await EventIngestor(desk_engine, starter).ingest(make_event("evt-after"))
    assert result.run_ids == []  # idle triggers fire from the tracker, never from events
    assert [e.id for e in starter.signalled] == ["evt-after"]
    assert starter.wake_at == [None]  # no active definition: the tracker looks at once
