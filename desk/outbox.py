"""Delivering the transactional outbox to Temporal (SPEC §3.1): what an accepted event still owes
Temporal (run starts, SLA tracker signals) is in `store.outbox`; this module hands it over.

    delivery = OutboxDelivery(engine, starter)
    await delivery.drain(conversation_id, known)   # inline, right after the event's commit
    await delivery.run_relay()                      # the API's background task

- Per conversation, in id order: a conversation's head row must be done before the next one is
  tried, so its tracker sees its events in order and a run never starts before an earlier
  event's. One drainer per conversation: an in-process lock, plus (PostgreSQL) the head's row
  lock taken with `SKIP LOCKED`, so several API replicas share the outbox.
- Exactly once / at least once: run ids are deterministic and an existing id is not an error, so
  a start delivered twice (a crash before the row's delete commits) starts one run; a signal
  delivered twice is ignored by the tracker (it remembers the event ids it applied).
- SQLite, with the relay running (the API): a delivered row is not deleted at once but at the
  start of the relay's next round, with the others delivered since, in one transaction: every
  write there takes the database's one write lock, and a delete per event made every event wait
  for it twice. Until then the row is skipped by claims in this process; a crash before the
  delete delivers it again (harmless, as above).
- Errors: `StartRefused` (no retry can fix it) turns into the small failed record of the run
  (`refused_run_input`), so the refusal is visible in the runs list and analytics and the rest of
  the conversation's rows carry on; any other error keeps the row (attempts and last error
  counted) and stops this conversation until the next round. A Temporal failure also pauses
  inline attempts for `PAUSE_AFTER_FAILURE` seconds: while Temporal is down, events are accepted
  (queued) without waiting for an RPC timeout each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine

from definitions.events import Event
from definitions.runs import RunInput, StartRefused, refused_run_input
from desk.starter import RunStarter
from store import outbox
from store.db import read_session
from store.models import EventRow, OutboxRow

log = logging.getLogger(__name__)

#: Seconds between relay rounds when nothing wakes it (and after Temporal failed).
RELAY_INTERVAL = 1.0
#: Seconds inline delivery is skipped after a Temporal failure (the relay keeps trying).
PAUSE_AFTER_FAILURE = 1.0

#: Outbox rows held at once by one process (see `OutboxDelivery.__init__`).
CLAIMS_AT_ONCE = 8

Drained = Literal["drained", "held", "failed"]
Known = Mapping[int, RunInput | Event]


class OutboxDelivery:
    """Drains the outbox of `engine` through `starter` (see the module docstring)."""

    def __init__(self, engine: Engine, starter: RunStarter) -> None:
        self.engine = engine
        self.starter = starter
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # conversation -> (lock, users)
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._stopping = False
        # Claims in flight (on PostgreSQL each holds a pooled connection while Temporal is
        # called): bounded well below the pool, so the threads that need a connection meanwhile
        # (acceptance, settling) always get one.
        self._claims = asyncio.Semaphore(CLAIMS_AT_ONCE)
        # Rows delivered, deleted by the relay's next round (SQLite, relay running: see above).
        self._delivered: set[int] = set()
        self._defer_deletes = False

    @property
    def paused(self) -> bool:
        """True shortly after a Temporal failure: leave new rows to the relay."""
        return time.monotonic() < self._paused_until

    def wake(self) -> None:
        """Ask the relay for a round now (rows were left for it)."""
        self._wake.set()

    # ------------------------------------------------------------ one conversation

    async def drain(self, conversation_id: str, known: Known | None = None) -> Drained:
        """Deliver the conversation's rows in order. "drained": none left; "held": another
        replica is draining it; "failed": a row could not be delivered and stays (Temporal down).
        `known`: row id -> its run input or event already in memory (saves reading them back)."""
        lock, users = self._locks.get(conversation_id, (asyncio.Lock(), 0))
        self._locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                return await self._drain_locked(conversation_id, known or {})
        finally:
            lock, users = self._locks[conversation_id]
            if users == 1:
                del self._locks[conversation_id]  # nobody waits for it: forget it
            else:
                self._locks[conversation_id] = (lock, users - 1)

    async def _drain_locked(self, conversation_id: str, known: Known) -> Drained:
        while True:
            async with self._claims:
                claim = await _claim(self.engine, conversation_id, self._delivered)
                if claim == "empty":
                    return "drained"
                if claim == "held":
                    return "held"
                try:
                    error = await self._deliver(claim.row, known.get(claim.row_id))
                except BaseException:
                    claim.release()  # at once: a cancelled task must not keep the row locked
                    raise
                if error is None and self._defer_deletes:
                    claim.release()
                    self._delivered.add(claim.row_id)
                    # The event's own last row: rows after it are later events', which drain
                    # them (a row before it would have been the head first).
                    more = not known or claim.row_id < max(known)
                else:
                    # Shielded: once delivered, the row is settled even if the request is
                    # cancelled.
                    more = await asyncio.shield(asyncio.to_thread(_settle, claim, error))
            if error is not None:
                self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
                log.warning("outbox %s (%s): %s", claim.row_id, claim.row.workflow_id, error)
                return "failed"
            if not more:  # the settling transaction saw none left: no empty claim after it
                return "drained"

    async def _deliver(self, row: OutboxRow, known: RunInput | Event | None) -> str | None:
        """Hand one row to Temporal; None when done (delivered, or refused for good and
        recorded), else why it must stay."""
        try:
            if row.kind == outbox.KIND_START_RUN:
                run_input = known if isinstance(known, RunInput) else self._run_input(row)
                await self._start(run_input)
            elif row.kind == outbox.KIND_SIGNAL_SLA:
                event = known if isinstance(known, Event) else self._event(row.event_id)
                try:
                    # The acceptance time (the row was written with the event), not now: a
                    # signal delivered after an outage still counts when the event came.
                    await self.starter.signal_sla(
                        event, _aware(row.created_at), wake_at=_wake_at(row)
                    )
                except StartRefused as refused:
                    log.error(
                        "event %s not given to %s: %s", row.event_id, row.workflow_id, refused
                    )
            elif row.kind == outbox.KIND_SIGNAL_WAIT:
                await self.starter.signal_wait(row.workflow_id)
            else:
                return f"unknown outbox kind {row.kind!r} (written by a newer version?)"
        except StartRefused as refused:  # even the refusal's record was refused
            log.error("run %s refused, and so was its record: %s", row.workflow_id, refused)
        except Exception as exc:  # Temporal unreachable (or a bug): the row stays
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _start(self, run_input: RunInput) -> None:
        try:
            await self.starter.start_run(run_input)
        except StartRefused as refused:
            log.warning("run of %s refused for good: %s", run_input.definition_id, refused.reason)
            await self.starter.start_run(refused_run_input(run_input, refused.reason))

    def _event(self, event_id: str) -> Event:
        with read_session(self.engine) as session:
            row = session.get(EventRow, event_id)
            if row is None:
                raise LookupError(f"event {event_id} of an outbox row is not recorded")
            return Event.model_validate(row.payload)

    def _run_input(self, row: OutboxRow) -> RunInput:
        return RunInput.model_validate({**row.payload, "event": self._event(row.event_id)})

    # ------------------------------------------------------------ the relay

    async def relay_round(self) -> int:
        """Drain every conversation with waiting rows, longest waiting first: the first alone
        (a probe: while Temporal is down the round ends there), then the others side by side
        (at most `CLAIMS_AT_ONCE` rows at a time). Returns how many conversations were drained."""
        await self._delete_delivered()
        pending = await asyncio.to_thread(outbox.pending_conversations, self.engine)
        pending = [c for c in pending if c not in self._locks]  # inline drains are on those
        if not pending or self._stopping:
            return 0
        if await self.drain(pending[0]) == "failed":
            return 0  # Temporal is down: the next round tries again
        outcomes = await asyncio.gather(*(self._relay_one(c) for c in pending[1:]))
        return 1 + sum(outcome == "drained" for outcome in outcomes)

    async def _relay_one(self, conversation_id: str) -> Drained:
        if self._stopping or conversation_id in self._locks:
            return "held"
        return await self.drain(conversation_id)

    async def _delete_delivered(self) -> None:
        """Delete the rows delivered since the last round (one transaction); on an error they
        stay for the next round."""
        if not self._delivered:
            return
        done = set(self._delivered)
        await asyncio.shield(asyncio.to_thread(outbox.delete_delivered, self.engine, done))
        self._delivered -= done

    async def run_relay(self) -> None:
        """Until `stop()`: a round, then wait for `wake()` or `RELAY_INTERVAL`. Stopped by a flag
        rather than by cancelling: a cancellation can be swallowed by the SDK's connect."""
        self._defer_deletes = self.engine.dialect.name == "sqlite"
        try:
            await self._relay_rounds()
        finally:
            self._defer_deletes = False
            with contextlib.suppress(Exception):
                await self._delete_delivered()

    async def _relay_rounds(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.relay_round()
            except Exception:  # the database is down, say: log and keep going
                log.exception("outbox relay round failed")
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), RELAY_INTERVAL)

    def stop(self) -> None:
        """Ask `run_relay` to return after the round in progress."""
        self._stopping = True
        self._wake.set()


async def _claim(
    engine: Engine, conversation_id: str, delivered: set[int]
) -> outbox.Claim | Literal["empty", "held"]:
    """`outbox.claim_head` in a thread; a claim that arrives after its caller was cancelled is
    released, never left holding its row (and, on PostgreSQL, a connection in a transaction)."""
    skip = frozenset(delivered)  # a copy: the set changes while the thread reads it
    claiming = asyncio.ensure_future(
        asyncio.to_thread(outbox.claim_head, engine, conversation_id, skip)
    )
    try:
        return await asyncio.shield(claiming)
    except asyncio.CancelledError:
        claiming.add_done_callback(_release_late)
        raise


def _release_late(claiming: asyncio.Future[Any]) -> None:
    if not claiming.cancelled() and claiming.exception() is None:
        claim = claiming.result()
        if isinstance(claim, outbox.Claim):
            claim.release()


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; ours are all UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _wake_at(row: OutboxRow) -> datetime | None:
    """When the tracker a signal_sla row starts must first run (None: at once)."""
    wake_at = row.payload.get(outbox.WAKE_AT)
    return datetime.fromisoformat(wake_at) if isinstance(wake_at, str) else None


def _settle(claim: outbox.Claim, error: str | None) -> bool:
    """Write the row's outcome; True when the conversation has more rows."""
    if error is None:
        claim.done()
    else:
        claim.failed(error)
    return claim.finish()
