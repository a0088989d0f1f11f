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
  activity and not a child workflow), a local one (patch `BREACH_LOCAL_PATCH`): no activity task
  and no second workflow task per breach, which is what a burst of breaches waits on,
- shows its running clocks and deadlines as current details and keeps the `ConversationId` search
  attribute,
- ends when the conversation is resolved or closed and no clock runs, and continues-as-new with its
  state (`SlaClocks`, JSON) long before the history grows large,
- keeps the idle periods of the conversation for `conversation_idle` definitions (patch
  `IDLE_PATCH`; definitions/idle.py): one timer per pending (period, deadline), and each
  definition's run started once per period through the `start_idle_run` activity, which
  re-checks the desk first,
- counts business-hours thresholds and idle times in the definition's schedule (patch
  `BUSINESS_HOURS_PATCH`): the absolute deadline is computed once per clock start or idle period
  by the local activity `compute_business_deadlines` and kept in the state, so time zones and
  holidays never enter replay and a schedule edited later moves no running deadline.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from definitions.business_deadlines import (
        ACT_COMPUTE_BUSINESS_DEADLINES,
        BusinessDeadline,
        BusinessDeadlines,
        BusinessDeadlinesInput,
    )
    from definitions.idle import (
        ACT_START_IDLE_RUN,
        IdleDeadline,
        IdleFireInput,
        IdleFireOutcome,
        idle_timer_summary,
    )
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
#: conversation_idle definitions fire from idle periods (issue 12). Decided where the tracker first
#: needs it: trackers running before it adopt it, histories without the marker replay without it.
IDLE_PATCH = "sla-idle-trigger"
#: Business-hours deadlines come from a local activity (issue 12); decided at the first one.
BUSINESS_HOURS_PATCH = "sla-business-hours"
#: A breach run starts from a local activity (issue 13: no activity task and no second workflow
#: task per breach). Trackers recorded under it decided it when they first armed a deadline timer
#: (or fired one due at once); they replay that way.
BREACH_LOCAL_PATCH = "sla-breach-local-activity"
#: The same, decided when the run starts, before any local activity: a patch asked right after
#: a local activity's result for the first time does not replay when the original workflow task
#: ended with that result and the code after it ran in the next one (seen with the time-skipping
#: server's legacy queries): the replay reaches the call before the marker's task.
BREACH_LOCAL_AT_START_PATCH = "sla-breach-local-at-start"
#: A breach start is a database read and one start RPC.
BREACH_START_TIMEOUT = timedelta(seconds=30)
#: A business-time deadline is a few milliseconds of database work.
BUSINESS_DEADLINE_TIMEOUT = timedelta(seconds=5)

_CONVERSATION_ID = SearchAttr.CONVERSATION_ID.key

TimerKey = tuple[SlaType, int, datetime, int]  # clock, clock number, due at, threshold seconds
IdleTimerKey = tuple[datetime, str, datetime, str]  # due at, side, period start, summary


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
        self._idle_timers: dict[IdleTimerKey, asyncio.Task[None]] = {}
        self._event_time = False
        self._versioned = False
        self._breach_local_at_start = False

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
        self._breach_local_at_start = workflow.patched(BREACH_LOCAL_AT_START_PATCH)
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
            if await self._compute_business_deadlines(clocks):
                continue

            due = clocks.due(workflow.now())
            if due:
                for deadline in due:
                    await self._fire(clocks, deadline)
                continue
            idle_due = clocks.idle_due(workflow.now())
            if idle_due:
                for idle_deadline in idle_due:
                    await self._fire_idle(clocks, idle_deadline)
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
                    or any(timer.done() for timer in self._idle_timers.values())
                )
            )
            for key in [key for key, timer in self._timers.items() if timer.done()]:
                del self._timers[key]
            for idle_key in [key for key, timer in self._idle_timers.items() if timer.done()]:
                del self._idle_timers[idle_key]

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
            if await self._compute_business_deadlines(clocks):
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
        # Idle periods need definitions too, but only past the idle patch (asked only when it
        # makes a difference: no clock runs).
        include_idle = bool(clocks.periods) and not clocks.running and self._idle_on()
        if not clocks.should_look_up(workflow.now(), include_idle=include_idle):
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
        if found.idle and not self._idle_on():  # a tracker that replays without idle periods
            found.idle = []
        clocks.looked_up(found, checked_at=workflow.now())
        return True

    def _idle_on(self) -> bool:
        """Whether this run keeps idle periods' timers (`IDLE_PATCH`, memoized by the SDK)."""
        return workflow.patched(IDLE_PATCH)

    async def _compute_business_deadlines(self, clocks: SlaClocks) -> bool:
        """Compute the business-time deadlines the clocks and idle periods still lack, once
        each, in a local activity; whether it ran one."""
        asked = clocks.business_requests()
        if not asked:
            return False
        if not workflow.patched(BUSINESS_HOURS_PATCH):  # unreachable for histories before it
            clocks.business_computed(
                asked,
                [BusinessDeadline(due_at=r.start + timedelta(seconds=r.seconds)) for _, r in asked],
            )
            return False
        computed = await workflow.execute_local_activity(
            ACT_COMPUTE_BUSINESS_DEADLINES,
            BusinessDeadlinesInput(requests=[request for _, request in asked]),
            result_type=BusinessDeadlines,
            start_to_close_timeout=BUSINESS_DEADLINE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            summary="business-time deadlines",
        )
        clocks.business_computed(asked, computed.results)
        return True

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.continue_as_new_after_events
        )

    # -------------------------------------------------------------- timers

    def _reconcile_timers(self, clocks: SlaClocks, *, cancel_all: bool = False) -> None:
        """One timer per pending (clock, deadline) and per pending (idle period, deadline);
        cancel the ones no deadline needs any more."""
        wanted: dict[TimerKey, str] = {}  # -> summary
        if not cancel_all:
            for deadline in clocks.deadlines():
                definition = deadline.definition
                key = (
                    deadline.clock,
                    deadline.number,
                    deadline.due_at,
                    definition.threshold_seconds,
                )
                wanted[key] = timer_summary(
                    deadline.clock,
                    definition.threshold_seconds,
                    business=definition.business_schedule is not None,
                )
        if wanted:  # trackers recorded under BREACH_LOCAL_PATCH decided it here
            self._breach_local()
        for key in sorted(set(self._timers) - set(wanted)):
            self._timers.pop(key).cancel()
        now = workflow.now()
        for key in sorted(set(wanted) - set(self._timers)):
            seconds = max((key[2] - now).total_seconds(), 0.001)
            self._timers[key] = asyncio.create_task(workflow.sleep(seconds, summary=wanted[key]))

        idle_wanted: set[IdleTimerKey] = set()
        if not cancel_all:
            for idle in clocks.idle_deadlines():
                summary = idle_timer_summary(idle.definition)
                idle_wanted.add((idle.due_at, idle.side, idle.started_at, summary))
        for idle_key in sorted(set(self._idle_timers) - idle_wanted):
            self._idle_timers.pop(idle_key).cancel()
        for idle_key in sorted(idle_wanted - set(self._idle_timers)):
            seconds = max((idle_key[0] - now).total_seconds(), 0.001)
            self._idle_timers[idle_key] = asyncio.create_task(
                workflow.sleep(seconds, summary=idle_key[3])
            )

    # -------------------------------------------------------------- breaches

    def _breach_local(self) -> bool:
        """Whether breach runs start from a local activity: decided at the start
        (`BREACH_LOCAL_AT_START_PATCH`), or for trackers recorded before it by
        `BREACH_LOCAL_PATCH` (memoized by the SDK), asked first when a deadline is armed or
        fired."""
        return self._breach_local_at_start or workflow.patched(BREACH_LOCAL_PATCH)

    async def _fire(self, clocks: SlaClocks, deadline: Deadline) -> None:
        definition = deadline.definition
        if clocks.latest_event is None:  # cannot happen: a clock only starts from an event
            clocks.mark_failed(deadline, "no event known to start the breach run with")
            return
        request = SlaBreachInput(
            conversation_id=clocks.conversation_id,
            clock=deadline.clock,
            number=deadline.number,
            clock_started_at=deadline.started_at,
            fired_at=workflow.now(),
            definition=definition,
            event=clocks.latest_event,
            due_at=deadline.due_at if definition.business_schedule else None,
        )
        execute = (
            workflow.execute_local_activity if self._breach_local() else workflow.execute_activity
        )
        try:
            outcome = await execute(
                ACT_START_SLA_BREACH_RUN,
                request,
                result_type=SlaBreachOutcome,
                start_to_close_timeout=BREACH_START_TIMEOUT,
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

    # -------------------------------------------------------------- idle periods

    async def _fire_idle(self, clocks: SlaClocks, deadline: IdleDeadline) -> None:
        """Start the run of one idle period (the activity re-checks the definition and the desk)
        and record what came of it on the period."""
        period = clocks.idle_period(deadline)
        definition = deadline.definition
        if period is None:  # cannot happen: deadlines come from running periods
            return
        try:
            outcome = await workflow.execute_activity(
                ACT_START_IDLE_RUN,
                IdleFireInput(
                    conversation_id=clocks.conversation_id,
                    side=deadline.side,
                    period_started_at=period.started_at,
                    message_id=period.message_id,
                    due_at=deadline.due_at,
                    fired_at=workflow.now(),
                    definition=definition,
                    event=period.event,
                ),
                result_type=IdleFireOutcome,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                summary=f"idle: {definition.definition.name}",
            )
        except ActivityError as err:  # permanent failure: never retry this period forever
            workflow.logger.error("idle run of %s not started: %s", definition.id, err)
            period.failed[definition.id] = str(err.cause or err)
            return
        clocks.version_seen(outcome.definitions_version)
        if outcome.outcome in ("started", "already_started") and outcome.run_id is not None:
            period.fired[definition.id] = outcome.run_id
            clocks.idle_runs_started += outcome.outcome == "started"
        elif outcome.outcome == "inactive":
            clocks.update_idle_definition(None, definition.id)
        elif outcome.outcome == "changed":
            clocks.update_idle_definition(outcome.definition, definition.id)
        elif outcome.outcome == "not_idle":  # the awaited side wrote: its event is on the way
            period.skipped[definition.id] = outcome.reason
        elif outcome.outcome == "status":  # not in one of its statuses: until ours changes
            period.held[definition.id] = clocks.status or ""
        else:  # "not_due" (the tracker fired early) or started without a run id: never loop
            period.failed[definition.id] = f"{outcome.outcome}: {outcome.reason}"
