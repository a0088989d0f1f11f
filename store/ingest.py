"""Event ingestion, shared by POST /events (the app) and the `dispatch_event` activity (events
caused by runs, e.g. a status change).

    ingestor = EventIngestor(engine, starter)
    result = await ingestor.ingest(event)   # IngestResult(run_ids=[...], duplicate=False)

1. The event id is the idempotency key: an id already recorded returns the stored run ids and
   starts nothing.
2. The event is mirrored into the desk store (one transaction), with the sentiment of a customer
   message computed when the desk did not send it (the runs get the filled-in event).
3. Loop guard: no run starts for an event whose causal chain is deeper than MAX_CAUSAL_DEPTH;
   messages written by automations never match new_message (definitions.matching).
4. Candidates come from the trigger index (trigger type, channel in (channel, "*")) — active
   definitions only, never a scan of every definition — and `match_trigger` decides.
5. Each match starts `WorkflowRun` with the deterministic id `run_workflow_id(definition, event)`
   through the injected `RunStarter` (Temporal lives outside the store); the SLA tracker of the
   conversation gets the event once any sla_breach definition exists (`_feeds_sla_tracker`).
6. The EventRow is recorded last, with the run ids. A crash between 5 and 6 is safe: the retry
   starts the same ids, which the starter treats as already started.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from definitions.events import Event
from definitions.matching import TRIGGER_FOR_EVENT, match_trigger
from definitions.models import WorkflowDefinitionIn
from definitions.runs import MAX_CAUSAL_DEPTH, RunInput, run_workflow_id
from store.db import session_scope
from store.desk import fill_sentiment, mirror_event
from store.models import ConversationRow, EventRow, TriggerIndexRow, WorkflowDefinitionRow

log = logging.getLogger(__name__)

ANY_CHANNEL = "*"


class RunStarter(Protocol):
    """Starts runs and feeds SLA trackers (implemented with a Temporal client by the app's gateway
    and by activities.dispatch)."""

    async def start_run(self, run_input: RunInput) -> None:
        """Start WorkflowRun `run_workflow_id(run_input.definition_id, run_input.event.id)`.
        Must be idempotent: an id that was already started is not an error."""
        ...

    async def signal_sla(self, event: Event) -> None:
        """Signal-with-start the ConversationSla tracker of `event.conversation.id`."""
        ...


@dataclass
class IngestResult:
    run_ids: list[str] = field(default_factory=list)
    duplicate: bool = False


# ---------------------------------------------------------------- the trigger index


def index_channels(definition: WorkflowDefinitionIn) -> list[str]:
    """The channels a definition's trigger listens on; ["*"] when any."""
    channels = list(getattr(definition.trigger, "channels", []) or [])
    return list(dict.fromkeys(channels)) or [ANY_CHANNEL]


def unindex_definition(session: Session, definition_id: str) -> None:
    """Remove a definition from the trigger index (it no longer starts runs). No commit."""
    session.exec(delete(TriggerIndexRow).where(col(TriggerIndexRow.definition_id) == definition_id))


def index_definition(session: Session, row: WorkflowDefinitionRow) -> None:
    """Make the trigger index agree with a stored definition: an active one gets one row per
    trigger channel (or "*"); a draft or deleted one gets none. Call it in the same transaction
    that saves the definition. No commit."""
    unindex_definition(session, row.id)
    if row.status != "active":
        return
    definition = WorkflowDefinitionIn.model_validate(row.body)
    for channel in index_channels(definition):
        session.add(
            TriggerIndexRow(
                definition_id=row.id, channel=channel, trigger_type=definition.trigger.type
            )
        )
    session.flush()


class _ParsedDefinitions:
    """Process-wide cache of validated definitions by (id, version). A version is immutable (every
    change bumps it), so entries never go stale; re-validating 1,000 stored bodies per event was
    what made matching cost grow with the number of definitions."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, int], WorkflowDefinitionIn] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> WorkflowDefinitionIn | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, int], definition: WorkflowDefinitionIn) -> None:
        with self._lock:
            self._entries[key] = definition
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


_parsed = _ParsedDefinitions()


@dataclass(frozen=True)
class Candidate:
    id: str
    version: int
    definition: WorkflowDefinitionIn


def candidate_definitions(
    session: Session, trigger_type: str, channel: str | None
) -> list[Candidate]:
    """Active definitions whose trigger type is `trigger_type` and that listen on `channel` (or on
    any channel; `channel=None` means every channel), through the index, ordered by id. Bodies are
    loaded and validated only for (id, version) pairs not seen before."""
    channels = [ANY_CHANNEL] if channel is None else [channel, ANY_CHANNEL]
    query = (
        select(WorkflowDefinitionRow.id, WorkflowDefinitionRow.version)
        .join(TriggerIndexRow, col(TriggerIndexRow.definition_id) == col(WorkflowDefinitionRow.id))
        .where(
            col(TriggerIndexRow.trigger_type) == trigger_type,
            col(WorkflowDefinitionRow.status) == "active",
        )
    )
    if channel is not None:
        query = query.where(col(TriggerIndexRow.channel).in_(channels))
    keys = sorted(set(session.exec(query).all()))
    missing = [
        definition_id
        for definition_id, version in keys
        if _parsed.get((definition_id, version)) is None
    ]
    if missing:
        rows = session.exec(
            select(WorkflowDefinitionRow).where(col(WorkflowDefinitionRow.id).in_(missing))
        ).all()
        for row in rows:
            try:
                _parsed.put((row.id, row.version), WorkflowDefinitionIn.model_validate(row.body))
            except ValidationError:
                log.exception("stored definition %s no longer validates; skipped", row.id)
    found = []
    for definition_id, version in keys:
        definition = _parsed.get((definition_id, version))
        if definition is not None:
            found.append(Candidate(definition_id, version, definition))
    return found


def runs_for_event(session: Session, event: Event) -> list[RunInput]:
    """The runs `event` starts: none past the loop guard, else every indexed active definition
    whose trigger matches."""
    if len(event.causal_chain) > MAX_CAUSAL_DEPTH:
        log.info("event %s: causal chain deeper than %s, no runs", event.id, MAX_CAUSAL_DEPTH)
        return []
    trigger_type = TRIGGER_FOR_EVENT.get(event.type)
    if trigger_type is None:
        return []
    runs = []
    for candidate in candidate_definitions(session, trigger_type, event.conversation.channel):
        if not match_trigger(candidate.definition.trigger, event).matched:
            continue
        run_id = run_workflow_id(candidate.id, event.id)
        runs.append(
            RunInput(
                definition_id=candidate.id,
                definition_version=candidate.version,
                definition=candidate.definition,
                event=event,
                idempotency_scope=run_id,
            )
        )
    return runs


def _feeds_sla_tracker(session: Session, event: Event) -> bool:
    """A conversation gets an SLA tracker once any sla_breach definition exists (draft or active,
    so one activated later still sees the clocks), and keeps getting its events from then on (so
    the tracker sees the conversation resolve even if the definitions go away). Without any SLA
    definition no tracker is started: it would cost a workflow per conversation for nothing."""
    conversation = session.get(ConversationRow, event.conversation.id)
    if conversation is None:
        return False
    if conversation.sla_tracked:
        return True
    has_sla_definition = session.exec(
        select(WorkflowDefinitionRow.id)
        .where(col(WorkflowDefinitionRow.trigger_type) == "sla_breach")
        .limit(1)
    ).first()
    if has_sla_definition is None:
        return False
    conversation.sla_tracked = True
    session.add(conversation)
    return True


# ---------------------------------------------------------------- ingestion


MIRROR_ATTEMPTS = 3


class EventIngestor:
    """The ingestion core; `engine` is the supportflow database, `starter` talks to Temporal."""

    def __init__(self, engine: Engine, starter: RunStarter) -> None:
        self.engine = engine
        self.starter = starter

    def recorded_run_ids(self, event_id: str) -> list[str] | None:
        """The run ids of an already-ingested event, or None if it is new."""
        with Session(self.engine) as session:
            row = session.get(EventRow, event_id)
            return None if row is None else list(row.run_ids)

    def _mirror_and_match(self, event: Event) -> tuple[list[RunInput], bool]:
        """Mirror the event; return the runs it starts and whether its SLA tracker needs it.

        Two events about the same new customer or conversation can race to insert it (on
        PostgreSQL; SQLite serialises writers): the loser's transaction is rolled back and run
        again, and then finds the row and updates it."""
        for attempt in range(MIRROR_ATTEMPTS):
            try:
                with session_scope(self.engine) as session:
                    mirror_event(session, event)
                    return runs_for_event(session, event), _feeds_sla_tracker(session, event)
            except IntegrityError:
                if attempt == MIRROR_ATTEMPTS - 1:
                    raise
                log.info("event %s: concurrent insert while mirroring, trying again", event.id)
        raise AssertionError("unreachable")

    def _record(self, event: Event, run_ids: list[str]) -> IngestResult:
        try:
            with session_scope(self.engine) as session:
                session.add(
                    EventRow(
                        id=event.id,
                        type=event.type,
                        conversation_id=event.conversation.id,
                        payload=event.model_dump(mode="json"),
                        run_ids=run_ids,
                    )
                )
        except IntegrityError:
            stored = self.recorded_run_ids(event.id)
            if stored is None:
                raise
            return IngestResult(run_ids=stored, duplicate=True)
        return IngestResult(run_ids=run_ids, duplicate=False)

    async def ingest(self, event: Event) -> IngestResult:
        """Ingest one event (see the module docstring). Errors from the database or the starter
        propagate; calling again with the same event is always safe."""
        stored = await asyncio.to_thread(self.recorded_run_ids, event.id)
        if stored is not None:
            return IngestResult(run_ids=stored, duplicate=True)
        event = fill_sentiment(event)
        runs, track_sla = await asyncio.to_thread(self._mirror_and_match, event)
        for run_input in runs:
            await self.starter.start_run(run_input)
        if track_sla:
            await self.starter.signal_sla(event)
        run_ids = [run_workflow_id(run.definition_id, event.id) for run in runs]
        return await asyncio.to_thread(self._record, event, run_ids)
