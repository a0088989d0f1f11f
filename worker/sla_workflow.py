"""`ConversationSla`: the durable SLA clocks of one conversation (SPEC §2.1, issue 4).

One tracker per conversation (`sla:{conversation_id}`), started and fed by event ingestion with
signal-with-start (`SLA_EVENT_SIGNAL`, one `SlaSignal` per event). The clock logic is the pure
`definitions.sla.SlaClocks`; this workflow only
- buffers signals and applies them in arrival order, each at its event time (`occurred_at`
  bounded by when ingestion accepted it; patch `EVENT_TIME_PATCH`): deadlines due before an
  event's time fire before the event is applied, so a reply that came after the deadline cannot
  cancel a breach the tracker was too late to fire (worker outage or backlog),
- looks thresholds up (local activity `lookup_sla_definitions`) whenever a clock starts, and
  again when the store's SLA definitions version moved (checked on events and at fire time; patch
  `DEFINITIONS_VERSION_PATCH`; older trackers obey `SLA_REFRESH_SIGNAL`, which nobody sends now),
- keeps one durable timer per pending deadline (summary "first_response 30m"), cancelling it the
  moment its clock is satisfied,
- starts each breach through the `start_sla_breach_run` activity (see activities/sla.py for why an
  activity and not a child workflow),
- shows its running clocks and deadlines as current details and keeps the `ConversationId` search
  attribute,
- ends when the conversation is resolved or closed and no clock runs, and continues-as-new with its
  state (`SlaClocks`, JSON) long before the history grows large.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from definitions.runs import (
        CONVERSATION_SLA,
        SLA_EVENT_SIGNAL,
        SLA_REFRESH_SIGNAL,
        SlaSignal,
        SlaTrackerInput,
    )
    from definitions.sla import (
        ACT_LOOKUP_SLA_DEFINITIONS,
        ACT_START_SLA_BREACH_RUN,
        Deadline,
        SlaBreachInput,
        SlaBreachOutcome,
        SlaClocks,
        SlaDefinitions,
        SlaLookupInput,
        clock_start_time,
        timer_summary,
    )
    from definitions.vocabulary import SlaType
    from temporal_edge import SearchAttr

SLA_STATE_QUERY = "sla_state"
#: Signals are applied at their event time, after the deadlines due before it (issue 11).
EVENT_TIME_PATCH = "sla-event-time"
#: Definition changes are read through the store's definitions version, not signals (issue 17).
DEFINITIONS_VERSION_PATCH = "sla-definitions-version"

_CONVERSATION_ID = SearchAttr.CONVERSATION_ID.key

TimerKey = tuple[SlaType, int, datetime, int]  # clock, clock number, due at, threshold seconds


@workflow.defn(name=CONVERSATION_SLA)
class ConversationSla:
    #: Continue-as-new once the history has this many events (or when the server suggests it).
    #: A conversation message costs about 5-8 events, so a run covers a few hundred messages.
    continue_as_new_after_events = 2_000

    def __init__(self) -> None:
        self._inbox: list[tuple[SlaSignal, datetime]] = []  # with the tracker's clock at receipt
        self._refresh_requested = False
        self._clocks: SlaClocks | None = None
        self._timers: dict[TimerKey, asyncio.Task[None]] = {}
        self._event_time = False
        self._versioned = False

    # -------------------------------------------------------------- handlers

    @workflow.signal(name=SLA_EVENT_SIGNAL)
    def conversation_event(self, signal: SlaSignal) -> None:
        """One event of the conversation (every event, in ingestion order)."""
        self._inbox.append((signal, workflow.now()))

    @workflow.signal(name=SLA_REFRESH_SIGNAL)
    def definitions_changed(self, payload: Any = None) -> None:
        """sla_breach definitions were created, changed or deleted: look thresholds up again."""
        del payload  # whatever the sender attached; the lookup reads the store
        self._refresh_requested = True

    @workflow.query(name=SLA_STATE_QUERY)
    def sla_state(self) -> dict[str, Any]:
        """The clocks as the tracker has them now (JSON)."""
        return self._clocks.model_dump(mode="json") if self._clocks else {}

    # -------------------------------------------------------------- main loop

    @workflow.run
    async def run(self, tracker: SlaTrackerInput) -> dict[str, Any]:
        # Decided once per run, before the first command: histories without the markers replay
        # the old path.
        self._event_time = workflow.patched(EVENT_TIME_PATCH)
        self._versioned = workflow.patched(DEFINITIONS_VERSION_PATCH)
        if tracker.carried_state:
            clocks = SlaClocks.model_validate(tracker.carried_state)
        else:
            clocks = SlaClocks(conversation_id=tracker.conversation_id)
        self._clocks = clocks
        if workflow.info().typed_search_attributes.get(_CONVERSATION_ID) != clocks.conversation_id:
            workflow.upsert_search_attributes([_CONVERSATION_ID.value_set(clocks.conversation_id)])

        while True:
            if self._event_time:
                await self._apply_inbox_at_event_time(clocks)
            else:
                inbox, self._inbox = self._inbox, []
                for signal, received_at in inbox:
                    clocks.apply(signal.event, received_at)
            if self._refresh_requested:
                self._refresh_requested = False
                clocks.definitions_changed()
            if self._should_continue_as_new():
                # Everything received is applied and no await is pending: hand the state over
                # (a lookup still needed is part of it).
                self._reconcile_timers(clocks, cancel_all=True)
                workflow.continue_as_new(
                    SlaTrackerInput(
                        conversation_id=clocks.conversation_id,
                        carried_state=clocks.model_dump(mode="json"),
                    )
                )
            if await self._look_up_if_needed(clocks):
                continue  # events may have arrived meanwhile

            due = clocks.due(workflow.now())
            if due:
                for deadline in due:
                    await self._fire(clocks, deadline)
                continue

            if self._inbox or self._refresh_requested:
                continue
            if clocks.finished:
                self._reconcile_timers(clocks, cancel_all=True)
                workflow.set_current_details(clocks.details(workflow.now()))
                return {
                    "conversation_id": clocks.conversation_id,
                    "status": clocks.status,
                    "events_applied": clocks.events_applied,
                    "breaches_started": clocks.breaches_started,
                }

            self._reconcile_timers(clocks)
            workflow.set_current_details(clocks.details(workflow.now()))
            await workflow.wait_condition(
                lambda: (
                    bool(self._inbox)
                    or self._refresh_requested
                    or any(timer.done() for timer in self._timers.values())
                )
            )
            for key in [key for key, timer in self._timers.items() if timer.done()]:
                del self._timers[key]

    async def _apply_inbox_at_event_time(self, clocks: SlaClocks) -> None:
        """Apply the buffered events in arrival order; before each, fire the deadlines due
        before the event happened (their thresholds looked up first if a clock needs them)."""
        while self._inbox:
            signal, signalled_at = self._inbox[0]
            event = signal.event
            # Received when ingestion accepted it (the tracker may get it much later), never
            # after the tracker got it.
            received_at = min(signal.accepted_at or signalled_at, signalled_at)
            if await self._look_up_if_needed(clocks):
                continue
            late = clocks.due_before(clock_start_time(event.occurred_at, received_at))
            if late:
                for deadline in late:
                    await self._fire(clocks, deadline)
                continue  # a breach may have changed the definitions known
            self._inbox.pop(0)
            clocks.apply(event, received_at)
            if self._versioned:
                clocks.woken_by_event()

    async def _look_up_if_needed(self, clocks: SlaClocks) -> bool:
        """Look the thresholds up when the clocks need it; whether it did."""
        if not clocks.should_look_up(workflow.now()):
            return False
        request = SlaLookupInput(conversation_id=clocks.conversation_id)
        if self._versioned and clocks.definitions_checked_at is not None:
            request.known_version = clocks.definitions_version
        found = await workflow.execute_local_activity(
            ACT_LOOKUP_SLA_DEFINITIONS,
            request,
            result_type=SlaDefinitions,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
        )
        clocks.looked_up(found, checked_at=workflow.now())
        return True

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.continue_as_new_after_events
        )

    # -------------------------------------------------------------- timers

    def _reconcile_timers(self, clocks: SlaClocks, *, cancel_all: bool = False) -> None:
        """One timer per pending (clock, deadline); cancel the ones no deadline needs any more."""
        wanted: dict[TimerKey, int] = {}
        if not cancel_all:
            for deadline in clocks.deadlines():
                key = (
                    deadline.clock,
                    deadline.number,
                    deadline.due_at,
                    deadline.definition.threshold_seconds,
                )
                wanted[key] = deadline.definition.threshold_seconds
        for key in sorted(set(self._timers) - set(wanted)):
            self._timers.pop(key).cancel()
        now = workflow.now()
        for key in sorted(set(wanted) - set(self._timers)):
            clock, _number, due_at, threshold_seconds = key
            seconds = max((due_at - now).total_seconds(), 0.001)
            self._timers[key] = asyncio.create_task(
                workflow.sleep(
                    seconds,
                    summary=timer_summary(clock, threshold_seconds),
                )
            )

    # -------------------------------------------------------------- breaches

    async def _fire(self, clocks: SlaClocks, deadline: Deadline) -> None:
        definition = deadline.definition
        if clocks.latest_event is None:  # cannot happen: a clock only starts from an event
            clocks.mark_failed(deadline, "no event known to start the breach run with")
            return
        try:
            outcome = await workflow.execute_activity(
                ACT_START_SLA_BREACH_RUN,
                SlaBreachInput(
                    conversation_id=clocks.conversation_id,
                    clock=deadline.clock,
                    number=deadline.number,
                    clock_started_at=deadline.started_at,
                    fired_at=workflow.now(),
                    definition=definition,
                    event=clocks.latest_event,
                ),
                result_type=SlaBreachOutcome,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                summary=f"{deadline.clock} breach: {definition.definition.name}",
            )
        except ActivityError as err:  # permanent failure: never retry this breach forever
            workflow.logger.error("SLA breach of %s not started: %s", definition.id, err)
            clocks.mark_failed(deadline, str(err.cause or err))
            return
        if self._versioned:
            clocks.version_seen(outcome.definitions_version)
        if outcome.outcome in ("started", "already_started"):
            if outcome.run_id is None:  # the activity always names the run it started
                clocks.mark_failed(deadline, f"{outcome.outcome} without a run id")
            else:
                clocks.mark_fired(deadline, run_id=outcome.run_id, number=outcome.number)
        else:  # "inactive" or "not_due": take the definition as stored now
            clocks.update_definition(outcome.definition, definition.id)
