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
4. Candidates come from the trigger index (`store.trigger_index`: trigger type, channel in
   (channel, "*")) — active definitions only, never a scan of every definition — and
   `match_trigger` decides.
5. Each match starts `WorkflowRun` with the deterministic id `run_workflow_id(definition, event)`
   through the injected `RunStarter` (Temporal lives outside the domain); the SLA tracker of the
   conversation gets the event once any sla_breach or conversation_idle definition exists
   (`_feeds_sla_tracker`).
6. The EventRow is recorded last, with the run ids. A crash between 5 and 6 is safe: the retry
   starts the same ids, which the starter treats as already started.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from definitions.events import Event
from definitions.matching import TRIGGER_FOR_EVENT, match_trigger
from definitions.runs import MAX_CAUSAL_DEPTH, RunInput, run_workflow_id
from desk.mirror import mirror_event
from desk.sentiment import fill_sentiment
from store import definitions_repo
from store.db import session_scope
from store.models import ConversationRow, EventRow
from store.trigger_index import candidate_definitions

log = logging.getLogger(__name__)


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
    """A conversation gets an SLA tracker once any sla_breach or conversation_idle definition
    exists (draft or active, so one activated later still sees the clocks), and keeps getting
    its events from then on (so the tracker sees the conversation resolve even if the
    definitions go away). Without any such definition no tracker is started: it would cost a
    workflow per conversation for nothing."""
    conversation = session.get(ConversationRow, event.conversation.id)
    if conversation is None:
        return False
    if conversation.sla_tracked:
        return True
    if not definitions_repo.has_tracker_definition(session):
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
