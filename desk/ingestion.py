"""Event ingestion, shared by POST /events (the app) and the `dispatch_event` activity (events
caused by runs, e.g. a status change).

    ingestor = EventIngestor(engine, starter)
    result = await ingestor.ingest(event)   # IngestResult(run_ids, duplicate, queued)

One database transaction accepts the event (SPEC §3.1, the transactional outbox):
1. The event id is the idempotency key: an id already recorded returns the stored run ids.
2. The event is mirrored into the desk store, with the sentiment of a customer message computed
   when the desk did not send it (the runs get the filled-in event).
3. Loop guard: no run starts for an event whose causal chain is deeper than MAX_CAUSAL_DEPTH;
   messages written by automations never match new_message (definitions.matching).
4. Candidates come from the trigger index (`store.trigger_index`: trigger type, channel in
   (channel, "*")) — active definitions only, never a scan of every definition, held in memory
   until a save changes the index — and `match_trigger` decides (after the pre-filter of
   `definitions.trigger_matcher`); each match is run `run_workflow_id(definition, event)`.
5. The EventRow (with the run ids) and the outbox rows (one per run start, one for the SLA
   tracker once any sla_breach or conversation_idle definition exists: `_tracker_payload`,
   one wake-up hint per run waiting in a `wait_for` the event may end: desk/waits.py) are added.
After the commit the event is accepted for good. Its rows are then handed to Temporal at once
(`desk.outbox.OutboxDelivery.drain`, short RPC timeout); what Temporal could not take stays in the
outbox for the relay, and the answer says `queued`. A repeated event id delivers whatever of it
is still waiting (a sender resending after a crash).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from definitions.events import Event
from definitions.matching import TRIGGER_FOR_EVENT
from definitions.runs import (
    MAX_CAUSAL_DEPTH,
    RunInput,
    refused_run_input,
    run_workflow_id,
    sla_workflow_id,
)
from definitions.sla import tracker_wake_at
from desk.mirror import mirror_event
from desk.outbox import Known, OutboxDelivery
from desk.sentiment import fill_sentiment
from desk.starter import RunStarter
from desk.waits import journal_change, waits_to_wake
from store import definitions_repo, outbox
from store.db import session_scope
from store.models import ConversationRow, EventRow, OutboxRow, utcnow
from store.trigger_index import candidate_matcher

log = logging.getLogger(__name__)

__all__ = ["EventIngestor", "IngestResult", "RunStarter", "runs_for_event"]


@dataclass
class IngestResult:
    run_ids: list[str] = field(default_factory=list)
    duplicate: bool = False
    #: Some of the event's runs or signals wait in the outbox (Temporal unreachable): they start
    #: as soon as it is back, without the sender doing anything.
    queued: bool = False


@dataclass
class _Accepted:
    """What the acceptance transaction decided."""

    run_ids: list[str]
    duplicate: bool
    conversation_id: str
    known: Known = field(default_factory=dict)


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
    matcher = candidate_matcher(session, trigger_type, event.conversation.channel)
    for candidate in matcher.matching(event):
        run_id = run_workflow_id(candidate.id, event.id)
        runs.append(
            # Both parts are validated already (the definition when it was read, the event when it
            # came): validating them again per run cost the API more than matching did.
            RunInput.model_construct(
                definition_id=candidate.id,
                definition_version=candidate.version,
                definition=candidate.definition,
                event=event,
                idempotency_scope=run_id,
            )
        )
    return runs


def _tracker_payload(
    session: Session, conversation: ConversationRow, event: Event, now: datetime
) -> dict[str, object] | None:
    """The payload of the event's signal to its conversation's SLA tracker; None: no tracker.

    A conversation gets a tracker once any sla_breach or conversation_idle definition exists
    (draft or active, so one activated later still sees the clocks), and keeps getting its
    events from then on (so the tracker sees the conversation resolve even if the definitions go
    away). Without any such definition no tracker is started: it would cost a workflow per
    conversation for nothing. The first signal starts the tracker lazily (definitions/sla.py):
    its row says when the tracker must first run, from the definitions read in this transaction.
    """
    if conversation.sla_tracked:
        return {}
    keys = definitions_repo.tracker_keys(session)
    if not keys:
        return None
    conversation.sla_tracked = True
    session.add(conversation)
    earliest = definitions_repo.earliest_tracker_threshold(session, keys)
    wake_at = tracker_wake_at(event.occurred_at, now, earliest)
    return {} if wake_at is None else {outbox.WAKE_AT: wake_at.isoformat()}


# ---------------------------------------------------------------- ingestion


ACCEPT_ATTEMPTS = 3


class EventIngestor:
    """The ingestion core; `engine` is the supportflow database, `starter` talks to Temporal.
    `delivery` (default: one of its own) is shared with the relay in the API process."""

    def __init__(
        self,
        engine: Engine,
        starter: RunStarter,
        delivery: OutboxDelivery | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.starter = starter
        self.delivery = delivery or OutboxDelivery(engine, starter)
        # When supportflow learned of a change, compared with a wait's watermark (workflow time):
        # tests on the time-skipping server pass its clock.
        self.clock = clock

    def _accept(self, event: Event) -> _Accepted:
        """The one transaction (see the module docstring).

        Two events about the same new customer or conversation can race to insert it (on
        PostgreSQL; SQLite serialises writers), and so can two deliveries of one event id: the
        loser's transaction is rolled back and run again, and then finds the row."""
        for attempt in range(ACCEPT_ATTEMPTS):
            try:
                with session_scope(self.engine) as session:
                    return _accept_in(session, event, self.clock())
            except IntegrityError:
                if attempt == ACCEPT_ATTEMPTS - 1:
                    raise
                log.info("event %s: concurrent insert, trying again", event.id)
        raise AssertionError("unreachable")

    async def ingest(self, event: Event) -> IngestResult:
        """Accept one event durably, then hand its runs and signal to Temporal (see the module
        docstring). Only database errors propagate; calling again with the same event is safe."""
        event = fill_sentiment(event)
        accepted = await asyncio.to_thread(self._accept, event)
        queued = await self._deliver(event.id, accepted)
        return IngestResult(run_ids=accepted.run_ids, duplicate=accepted.duplicate, queued=queued)

    async def _deliver(self, event_id: str, accepted: _Accepted) -> bool:
        """Try the event's waiting rows now; True when some are left for the relay."""
        if accepted.duplicate:
            if await asyncio.to_thread(outbox.pending_for_event, self.engine, event_id) == 0:
                return False
        elif not accepted.known:
            return False
        if self.delivery.paused:  # Temporal failed a moment ago: do not wait for it again
            self.delivery.wake()
            return True
        drained = await self.delivery.drain(accepted.conversation_id, accepted.known)
        if drained == "drained":
            return False
        left = await asyncio.to_thread(outbox.pending_for_event, self.engine, event_id)
        if left:
            self.delivery.wake()
        return left > 0


def _accept_in(session: Session, event: Event, now: datetime) -> _Accepted:
    stored = session.get(EventRow, event.id)
    if stored is not None:
        return _Accepted(list(stored.run_ids), True, stored.conversation_id)
    conversation = mirror_event(session, event)
    wake = waits_to_wake(session, event) if journal_change(session, event, now) else []
    runs = runs_for_event(session, event)
    tracker_payload = _tracker_payload(session, conversation, event, now)
    run_ids = [run_workflow_id(run.definition_id, event.id) for run in runs]
    session.add(
        EventRow(
            id=event.id,
            type=event.type,
            conversation_id=event.conversation.id,
            payload=event.model_dump(mode="json"),
            run_ids=run_ids,
            received_at=now,  # the instant the wait journal records too (backtests compare them)
        )
    )
    rows: list[tuple[OutboxRow, RunInput | Event]] = []
    for run_id, run_input in zip(run_ids, runs, strict=True):
        row = outbox.outbox_row(
            outbox.KIND_START_RUN,
            event.id,
            event.conversation.id,
            run_id,
            _run_payload(run_input),
        )
        rows.append((row, run_input))
    if tracker_payload is not None:
        row = outbox.outbox_row(
            outbox.KIND_SIGNAL_SLA,
            event.id,
            event.conversation.id,
            sla_workflow_id(event.conversation.id),
            tracker_payload,
        )
        rows.append((row, event))
    for workflow_id in wake:  # hints only: the waiting run re-checks the desk state itself
        row = outbox.outbox_row(
            outbox.KIND_SIGNAL_WAIT, event.id, event.conversation.id, workflow_id, {}
        )
        rows.append((row, event))
    session.add_all([row for row, _ in rows])
    session.flush()  # assigns the row ids
    known: dict[int, RunInput | Event] = {row.id: work for row, work in rows if row.id is not None}
    return _Accepted(run_ids, False, event.conversation.id, known)


def _run_payload(run_input: RunInput) -> dict[str, object]:
    """A start row's payload: the run input without the event (stored once, in `events`). A
    definition that cannot even be written as JSON is recorded as its refusal."""
    try:
        return run_input.model_dump(mode="json", exclude={"event"})
    except (ValueError, TypeError, RecursionError) as exc:
        reason = f"the definition cannot be serialised: {type(exc).__name__}: {exc}"
        return refused_run_input(run_input, reason).model_dump(mode="json", exclude={"event"})
