"""SLA clocks (SPEC §2.1): a pure state machine fed with a conversation's events.

`ConversationSla` (worker/sla_workflow.py) owns one `SlaClocks` per conversation, feeds it every
event it is signalled, asks it for the deadlines to arm timers on, and fires the breaches it reports
due. Everything here is deterministic and JSON-serialisable (`model_dump(mode="json")`), so the
state survives continue-as-new unchanged.

Choices (where SPEC §2.1 is silent; also written down in the README):
- `first_response` and `resolution` start on `conversation.created`. A tracker that never sees the
  creation (the conversation predates supportflow) runs `reply` clocks only.
- `reply` starts on a customer message when no reply clock runs; a customer message while one runs
  changes nothing (the customer is still waiting since the first unanswered message).
- Only `agent` and `ai` messages satisfy `first_response` and `reply`. An `automation` message
  (an `auto_reply` of a workflow) is not a human response: it satisfies nothing and starts nothing.
- Resolving or closing the conversation satisfies every running clock (nobody waits on a closed
  conversation); the tracker then ends.
- Reopening (a status leaving resolved/closed, or any later event whose conversation snapshot is not
  resolved/closed) starts `resolution` again (a new clock start, so definitions may fire again).
  `first_response` is never started again: the conversation has been answered or closed once.
- `pending` and `snoozed` do not pause any clock.
- An event happened at its `occurred_at` when that is plausible (not after it was received and at
  most `EVENT_TIME_TOLERANCE` before: transport, queue or worker backlog); otherwise when it was
  received, so a help desk with a skewed clock or a backfill of old events does not breach
  everything at once (`clock_start_time`). "Received" is when ingestion accepted it (the
  signal's `accepted_at`), or the tracker's clock for signals sent without it. That time starts
  clocks, and it orders events against deadlines: a deadline due before an event's time fires
  before the event is applied, however late the tracker gets to either (worker outage, backlog).
- Each definition fires at most once per clock start: the clock records the definitions it fired.
- Duplicate events (same id) are ignored; the last `SEEN_EVENT_IDS` ids are remembered.
- Thresholds are looked up when a clock starts, unless the tracker looked them up less than
  `LOOKUP_MAX_AGE` ago (a busy conversation does not query the store per message), and the breach
  activity re-checks the stored definition before it starts a run.
- Every save of an sla_breach definition bumps a definitions version in the store
  (store/sla_version.py); nobody signals the trackers. A tracker compares the version it knows at
  its next wake-up: an event while a clock runs (at most one check per `LOOKUP_MAX_AGE`) or a
  deadline (the breach activity reports the version it read). When it changed, the tracker looks
  the definitions up and re-arms its timers; deadlines stay measured from the clock's start, so one
  already passed fires at once. (Trackers started before the version existed still obey
  SLA_REFRESH_SIGNAL, which nothing sends any more.)
- A tracker is started lazily: its first workflow task waits (Temporal's start delay) until
  `TRACKER_WAKE_MARGIN` before the earliest deadline its first event can lead to (that event's
  clock start plus the smallest threshold of the active definitions, `tracker_wake_at`), or until
  the conversation's next event, whichever comes first. Every clock and idle period starts at an
  event's time and no deadline comes sooner than its threshold (business hours only stretch it),
  so nothing can fall due meanwhile; a conversation answered before then costs its tracker one
  workflow task, not a timer armed and cancelled.
- A breach that could not be started for good is recorded in the clock's `failed` (definition id
  -> reason), never retried, and does not count as a breach started.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from definitions.business_deadlines import (
    BusinessDeadline,
    BusinessDeadlineRequest,
    business_key,
)
from definitions.durations import format_duration
from definitions.events import Event
from definitions.idle import (
    SIDES,
    IdleDeadline,
    IdleDefinition,
    IdlePeriod,
    update_periods,
)
from definitions.models import ConversationIdleTrigger, SlaBreachTrigger, WorkflowDefinitionIn
from definitions.vocabulary import ANSWERING_SENDERS, SlaType, Status, WaitingOn

# Activity names of the SLA tracker (registered by the worker under these names).
ACT_LOOKUP_SLA_DEFINITIONS = "lookup_sla_definitions"
ACT_START_SLA_BREACH_RUN = "start_sla_breach_run"

# Memo keys on a breach run, naming the clock start it belongs to (see activities/sla.py).
MEMO_SLA_CLOCK = "sla_clock"

CLOCK_ORDER: tuple[SlaType, ...] = ("first_response", "reply", "resolution")
TERMINAL_STATUSES: frozenset[str] = frozenset({"resolved", "closed"})
EVENT_TIME_TOLERANCE = timedelta(minutes=15)
SEEN_EVENT_IDS = 500
LOOKUP_MAX_AGE = timedelta(seconds=30)
# How trackers before the `failed` field recorded a breach that could not be started.
FAILED_PREFIX = "failed: "


def sla_static_summary(conversation_id: str) -> str:
    """The static summary of a tracker in the Temporal UI (set at signal-with-start)."""
    return f"SLA clocks of conversation {conversation_id}"


def breach_run_id(definition_id: str, conversation_id: str, clock: SlaType, number: int) -> str:
    """`run:{workflow_id}:sla:{conversation_id}:{clock}:{n}` (issue 4)."""
    return f"run:{definition_id}:sla:{conversation_id}:{clock}:{number}"


def clock_start_time(occurred_at: datetime, received_at: datetime) -> datetime:
    """When an event happened, for the clocks (see the module docstring): its `occurred_at`
    bounded by its receipt."""
    if received_at - EVENT_TIME_TOLERANCE <= occurred_at <= received_at:
        return occurred_at
    return received_at


#: A lazily started tracker wakes this long before the earliest deadline it can have.
TRACKER_WAKE_MARGIN = timedelta(minutes=1)


def tracker_threshold_seconds(definition: WorkflowDefinitionIn) -> int | None:
    """The threshold (seconds, wall clock or business time) a definition sets on the tracker's
    clocks or idle periods; None when the tracker does not fire it."""
    trigger = definition.trigger
    if isinstance(trigger, SlaBreachTrigger):
        return trigger.threshold_seconds
    if isinstance(trigger, ConversationIdleTrigger):
        return trigger.idle_seconds
    return None


def tracker_wake_at(
    occurred_at: datetime, accepted_at: datetime, earliest_threshold_seconds: int | None
) -> datetime | None:
    """When the tracker that an event (accepted at `accepted_at`) starts must first run, given
    the smallest threshold of the active sla_breach and conversation_idle definitions; None when
    none is active (the tracker then runs at once)."""
    if earliest_threshold_seconds is None:
        return None
    clock_start = clock_start_time(occurred_at, accepted_at)
    return clock_start + timedelta(seconds=earliest_threshold_seconds) - TRACKER_WAKE_MARGIN


def timer_summary(clock: SlaType, threshold_seconds: int, *, business: bool = False) -> str:
    """A timer's summary in the UI: clock and threshold, e.g. "first_response 30m"."""
    hours = " (business hours)" if business else ""
    return f"{clock} {format_duration(timedelta(seconds=threshold_seconds))}{hours}"


# ---------------------------------------------------------------- activity models


class SlaLookupInput(BaseModel):
    conversation_id: str
    known_version: int | None = Field(
        default=None,
        description="The definitions version the tracker has: unchanged, the lookup answers "
        "without the definitions",
    )


class SlaDefinition(BaseModel):
    """One active `sla_breach` definition, frozen at lookup time."""

    id: str
    version: int
    definition: WorkflowDefinitionIn
    sla_type: SlaType
    threshold: str
    threshold_seconds: int = Field(gt=0)
    business_hours: bool = False
    schedule: str | None = None

    @property
    def business_schedule(self) -> str | None:
        """The schedule its threshold is counted in, or None for calendar time."""
        return self.schedule if self.business_hours else None

    def timing(self) -> tuple[SlaType, int, str | None]:
        """What its deadline depends on."""
        return self.sla_type, self.threshold_seconds, self.business_schedule


class SlaDefinitions(BaseModel):
    definitions: list[SlaDefinition] = []
    idle: list[IdleDefinition] = Field(
        default=[], description="The active conversation_idle definitions"
    )
    version: int | None = Field(
        default=None, description="The definitions version read before the definitions"
    )
    unchanged: bool = Field(
        default=False, description="The version is the known one: `definitions` left empty"
    )


class SlaBreachInput(BaseModel):
    """Start the `WorkflowRun` of one breach (one definition, one clock start)."""

    conversation_id: str
    clock: SlaType
    number: int = Field(ge=1, description="Which start of this clock in the conversation (the n)")
    clock_started_at: datetime
    fired_at: datetime
    definition: SlaDefinition
    event: Event = Field(description="The conversation's latest event known to the tracker")
    due_at: datetime | None = Field(
        default=None, description="The business-time deadline the tracker computed (if any)"
    )


class SlaBreachOutcome(BaseModel):
    outcome: Literal["started", "already_started", "inactive", "not_due"]
    run_id: str | None = None
    number: int = Field(description="The n actually used (a reopened conversation may skip some)")
    definition: SlaDefinition | None = Field(
        default=None, description="The definition as stored now (inactive: None)"
    )
    definitions_version: int | None = Field(
        default=None, description="The definitions version as stored at fire time"
    )


# ---------------------------------------------------------------- the state machine


class Clock(BaseModel):
    """One start of one clock."""

    type: SlaType
    number: int
    started_at: datetime
    started_by: str = Field(description="Id of the event that started it")
    fired: dict[str, str] = Field(
        default={}, description="Definition id -> breach run id, for this clock start"
    )
    failed: dict[str, str] = Field(
        default={},
        description="Definition id -> why its breach run could not be started (never retried)",
    )
    business_due: dict[str, datetime] = Field(
        default={}, description="business_key -> deadline, computed once at the clock's start"
    )

    @model_validator(mode="after")
    def _failures_out_of_fired(self) -> Clock:
        """State carried by older trackers kept a failure as a run id "failed: <reason>"."""
        for definition_id, run_id in list(self.fired.items()):
            if run_id.startswith(FAILED_PREFIX):
                self.failed[definition_id] = run_id.removeprefix(FAILED_PREFIX)
                del self.fired[definition_id]
        return self

    def settled(self, definition_id: str) -> bool:
        """The definition fired on this clock start, or failed to for good."""
        return definition_id in self.fired or definition_id in self.failed

    def due_for(self, definition: SlaDefinition) -> datetime | None:
        """The definition's deadline on this start; None while a business one is not computed."""
        schedule = definition.business_schedule
        if schedule is None:
            return self.started_at + timedelta(seconds=definition.threshold_seconds)
        return self.business_due.get(business_key(schedule, definition.threshold_seconds))


class Deadline(BaseModel):
    clock: SlaType
    number: int
    started_at: datetime
    definition: SlaDefinition
    due_at: datetime


class Applied(BaseModel):
    """What one event did to the clocks."""

    duplicate: bool = False
    started: list[SlaType] = []
    satisfied: list[SlaType] = []


class SlaClocks(BaseModel):
    conversation_id: str
    status: Status | None = None
    created_seen: bool = False
    first_response_done: bool = False
    running: dict[SlaType, Clock] = {}
    starts: dict[SlaType, int] = Field(default={}, description="Clock starts so far, per type")
    definitions: list[SlaDefinition] = []
    lookup_needed: bool = Field(
        default=False, description="A clock started since the thresholds were last looked up"
    )
    definitions_checked_at: datetime | None = None
    definitions_version: int | None = Field(
        default=None, description="The store's definitions version the thresholds were read at"
    )
    latest_event: Event | None = None
    periods: dict[WaitingOn, IdlePeriod] = Field(
        default={}, description="Idle periods running, by the side waited on"
    )
    idle_definitions: list[IdleDefinition] = []
    seen_event_ids: list[str] = []
    events_applied: int = 0
    breaches_started: int = 0
    idle_runs_started: int = 0

    # -------------------------------------------------------------- events

    def apply(self, event: Event, received_at: datetime) -> Applied:
        """Feed one event; report which clocks it started and satisfied."""
        if event.id in self.seen_event_ids:
            return Applied(duplicate=True)
        self.seen_event_ids.append(event.id)
        del self.seen_event_ids[:-SEEN_EVENT_IDS]
        self.events_applied += 1
        self.latest_event = event
        at = clock_start_time(event.occurred_at, received_at)
        applied = Applied()
        update_periods(self.periods, event, at)
        previous = self.status
        if event.type == "conversation.status_changed" and event.to_status is not None:
            self.status = event.to_status
        else:
            self.status = event.conversation.status
        terminal = self.status in TERMINAL_STATUSES
        if self.status != previous:  # idle definitions held for a status may fire again
            for period in self.periods.values():
                period.held.clear()

        if terminal:
            applied.satisfied += self._stop(*list(self.running))
            if event.type == "conversation.created":
                self.created_seen = True
            return applied

        if event.type == "conversation.created":
            if not self.created_seen:
                self.created_seen = True
                if not self.first_response_done:
                    applied.started += self._start("first_response", at, event.id)
                applied.started += self._start("resolution", at, event.id)
            return applied

        reopened = previous in TERMINAL_STATUSES or (
            event.type == "conversation.status_changed" and event.from_status in TERMINAL_STATUSES
        )
        if reopened:
            applied.started += self._start("resolution", at, event.id)
        if event.type == "message.created" and event.message is not None:
            sender = event.message.sender_type
            if sender in ANSWERING_SENDERS:
                self.first_response_done = True
                applied.satisfied += self._stop("first_response", "reply")
            elif sender == "customer":
                applied.started += self._start("reply", at, event.id)
            # "automation": an automated message is not a response and nobody waits on it.
        return applied

    def _start(self, clock: SlaType, at: datetime, event_id: str) -> list[SlaType]:
        if clock in self.running:
            return []
        number = self.starts.get(clock, 0) + 1
        self.starts[clock] = number
        self.running[clock] = Clock(type=clock, number=number, started_at=at, started_by=event_id)
        self.lookup_needed = True
        return [clock]

    def _stop(self, *clocks: SlaType) -> list[SlaType]:
        stopped = [clock for clock in clocks if self.running.pop(clock, None) is not None]
        if "first_response" in stopped:
            self.first_response_done = True
        return stopped

    # -------------------------------------------------------------- definitions and deadlines

    def set_definitions(
        self, definitions: list[SlaDefinition], checked_at: datetime | None = None
    ) -> None:
        """Replace the thresholds (lookup or refresh). Fired definitions stay fired."""
        self.definitions = sorted(definitions, key=lambda d: d.id)
        if checked_at is not None:
            self.definitions_checked_at = checked_at
            self.lookup_needed = False

    def looked_up(self, found: SlaDefinitions, checked_at: datetime) -> None:
        """Take in a lookup's answer (an unchanged version keeps the thresholds known)."""
        if not found.unchanged:
            self.set_definitions(found.definitions)
            self.idle_definitions = sorted(found.idle, key=lambda d: d.id)
        self.definitions_version = found.version
        self.definitions_checked_at = checked_at
        self.lookup_needed = False

    def definitions_changed(self) -> None:
        """SLA_REFRESH_SIGNAL, or a newer definitions version seen: the thresholds are stale."""
        self.definitions_checked_at = None

    def version_seen(self, version: int | None) -> None:
        """The store's definitions version, as the breach activity read it."""
        if version is not None and version != self.definitions_version:
            self.definitions_changed()

    def woken_by_event(self) -> None:
        """An event arrived: check the definitions version (throttled by `LOOKUP_MAX_AGE`)."""
        if self.running or self.periods:
            self.lookup_needed = True

    def should_look_up(self, now: datetime, *, include_idle: bool = False) -> bool:
        """Look thresholds up when definitions changed, or when a clock started and the last
        lookup is older than `LOOKUP_MAX_AGE`; never while no clock runs (nor, with
        `include_idle`, any idle period)."""
        if not self.running and not (include_idle and self.periods):
            self.lookup_needed = False
            return False
        if self.definitions_checked_at is None:
            return True
        if self.lookup_needed and now - self.definitions_checked_at < LOOKUP_MAX_AGE:
            self.lookup_needed = False  # fresh enough: SLA_REFRESH_SIGNAL reports changes
        return self.lookup_needed

    def update_definition(self, definition: SlaDefinition | None, definition_id: str) -> None:
        """Take in one definition as stored now (None: no longer active)."""
        kept = [d for d in self.definitions if d.id != definition_id]
        self.set_definitions(kept + ([definition] if definition is not None else []))

    def update_idle_definition(self, definition: IdleDefinition | None, definition_id: str) -> None:
        """Take in one conversation_idle definition as stored now (None: no longer active)."""
        kept = [d for d in self.idle_definitions if d.id != definition_id]
        found = kept + ([definition] if definition is not None else [])
        self.idle_definitions = sorted(found, key=lambda d: d.id)

    def deadlines(self) -> list[Deadline]:
        """Every (running clock, matching definition) pair not fired yet, earliest first (a
        business-time one once its deadline is computed, see `business_requests`)."""
        found: list[Deadline] = []
        for clock_type in CLOCK_ORDER:
            clock = self.running.get(clock_type)
            if clock is None:
                continue
            for definition in self.definitions:
                if definition.sla_type != clock_type or clock.settled(definition.id):
                    continue
                due_at = clock.due_for(definition)
                if due_at is None:
                    continue
                found.append(
                    Deadline(
                        clock=clock_type,
                        number=clock.number,
                        started_at=clock.started_at,
                        definition=definition,
                        due_at=due_at,
                    )
                )
        return sorted(found, key=lambda d: (d.due_at, d.clock, d.definition.id))

    # -------------------------------------------------------------- business time

    def business_requests(self) -> list[tuple[str, BusinessDeadlineRequest]]:
        """The business-time deadlines still to compute: (owner, request), the owner a clock
        type or `idle:<side>`. Each is asked for once per clock start or idle period."""
        wanted: dict[tuple[str, str], BusinessDeadlineRequest] = {}
        for clock_type in CLOCK_ORDER:
            clock = self.running.get(clock_type)
            for sla in self.definitions:
                schedule = sla.business_schedule
                if clock is None or sla.sla_type != clock_type or schedule is None:
                    continue
                if clock.settled(sla.id) or clock.due_for(sla) is not None:
                    continue
                request = BusinessDeadlineRequest(
                    schedule=schedule, start=clock.started_at, seconds=sla.threshold_seconds
                )
                wanted[(clock_type, request.key)] = request
        for side in SIDES:
            period = self.periods.get(side)
            for idle in self.idle_definitions:
                schedule = idle.business_schedule
                if period is None or idle.waiting_on != side or schedule is None:
                    continue
                if period.settled(idle.id) or period.due_for(idle) is not None:
                    continue
                request = BusinessDeadlineRequest(
                    schedule=schedule, start=period.started_at, seconds=idle.idle_seconds
                )
                wanted[(f"idle:{side}", request.key)] = request
        return [(owner, request) for (owner, _key), request in wanted.items()]

    def business_computed(
        self,
        asked: list[tuple[str, BusinessDeadlineRequest]],
        answers: list[BusinessDeadline],
    ) -> None:
        """Keep the computed deadlines; a deadline that cannot be computed (schedule gone, never
        open) fails the definitions that needed it, for this start (never retried)."""
        for (owner, request), answer in zip(asked, answers, strict=True):
            error = answer.error or "no business deadline"
            for side, period in self.periods.items():
                if f"idle:{side}" != owner or period.started_at != request.start:
                    continue
                if answer.due_at is not None:
                    period.business_due[request.key] = answer.due_at
                    continue
                for idle in self.idle_definitions:
                    schedule, seconds = idle.business_schedule, idle.idle_seconds
                    if (
                        idle.waiting_on == side
                        and schedule
                        and business_key(schedule, seconds) == request.key
                    ):
                        period.failed[idle.id] = error
            for clock_type, clock in self.running.items():
                if clock_type != owner or clock.started_at != request.start:
                    continue
                if answer.due_at is not None:
                    clock.business_due[request.key] = answer.due_at
                    continue
                for sla in self.definitions:
                    schedule, seconds = sla.business_schedule, sla.threshold_seconds
                    if (
                        sla.sla_type == clock_type
                        and schedule
                        and business_key(schedule, seconds) == request.key
                    ):
                        clock.failed[sla.id] = error

    # -------------------------------------------------------------- idle periods

    def idle_deadlines(self) -> list[IdleDeadline]:
        """Every (idle period, matching definition) pair not settled yet whose definition may
        fire in the current status, earliest first."""
        found: list[IdleDeadline] = []
        for side in SIDES:
            period = self.periods.get(side)
            if period is None:
                continue
            for definition in self.idle_definitions:
                if definition.waiting_on != side or period.settled(definition.id):
                    continue
                if not definition.fires_in(self.status):
                    continue
                if definition.id in period.held:
                    continue  # the desk said: not in its statuses; wait for a status change
                due_at = period.due_for(definition)
                if due_at is None:
                    continue
                found.append(
                    IdleDeadline(
                        side=side,
                        started_at=period.started_at,
                        definition=definition,
                        due_at=due_at,
                    )
                )
        return sorted(found, key=lambda d: (d.due_at, d.side, d.definition.id))

    def idle_due(self, now: datetime) -> list[IdleDeadline]:
        return [deadline for deadline in self.idle_deadlines() if deadline.due_at <= now]

    def idle_period(self, deadline: IdleDeadline) -> IdlePeriod | None:
        """The period a deadline belongs to, if it still runs."""
        period = self.periods.get(deadline.side)
        if period is None or period.started_at != deadline.started_at:
            return None
        return period

    def due(self, now: datetime) -> list[Deadline]:
        return [deadline for deadline in self.deadlines() if deadline.due_at <= now]

    def due_before(self, at: datetime) -> list[Deadline]:
        """The deadlines an event at `at` comes too late for (at the deadline is in time)."""
        return [deadline for deadline in self.deadlines() if deadline.due_at < at]

    def mark_fired(self, deadline: Deadline, run_id: str, number: int) -> None:
        """Record a fired definition on the clock start it belongs to (if it still runs)."""
        clock = self.running.get(deadline.clock)
        if clock is None or clock.started_at != deadline.started_at:
            return
        clock.fired[deadline.definition.id] = run_id
        if number > clock.number:  # a reopened conversation: earlier starts had breach runs
            clock.number = number
            self.starts[deadline.clock] = max(self.starts.get(deadline.clock, 0), number)
        self.breaches_started += 1

    def mark_failed(self, deadline: Deadline, reason: str) -> None:
        """Record a breach that could not be started for good (it is not retried)."""
        clock = self.running.get(deadline.clock)
        if clock is None or clock.started_at != deadline.started_at:
            return
        clock.failed[deadline.definition.id] = reason

    # -------------------------------------------------------------- lifecycle and visibility

    @property
    def finished(self) -> bool:
        """The conversation is resolved or closed and no clock runs: the tracker may end."""
        return self.status in TERMINAL_STATUSES and not self.running and not self.idle_deadlines()

    def details(self, now: datetime) -> str:
        """Current details for the Temporal UI (markdown): running clocks and their deadlines."""
        lines = [f"**Conversation** `{self.conversation_id}` · status {self.status or 'unknown'}"]
        if not self.running:
            lines.append("")
            lines.append("No SLA clock running.")
        deadlines = self.deadlines()
        for clock_type in CLOCK_ORDER:
            clock = self.running.get(clock_type)
            if clock is None:
                continue
            lines.append("")
            lines.append(
                f"- **{clock_type}** #{clock.number} running since "
                f"{clock.started_at.isoformat(timespec='seconds')}"
            )
            for deadline in deadlines:
                if deadline.clock == clock_type:
                    late = " (due now)" if deadline.due_at <= now else ""
                    lines.append(
                        f"  - {deadline.definition.definition.name} "
                        f"({deadline.definition.threshold}): deadline "
                        f"{deadline.due_at.isoformat(timespec='seconds')}{late}"
                    )
            for definition_id, run_id in sorted(clock.fired.items()):
                lines.append(f"  - breached: {definition_id} → `{run_id}`")
            for definition_id, reason in sorted(clock.failed.items()):
                lines.append(f"  - breach not started: {definition_id} ({reason})")
        if not self.definitions:
            lines.append("")
            lines.append("No active sla_breach definition.")
        idle = self.idle_deadlines()
        for side in SIDES:
            period = self.periods.get(side)
            if period is None or not self.idle_definitions:
                continue
            lines.append("")
            lines.append(
                f"- **idle**, waiting on the {side} since "
                f"{period.started_at.isoformat(timespec='seconds')}"
            )
            for idle_deadline in idle:
                if idle_deadline.side == side:
                    lines.append(
                        f"  - {idle_deadline.definition.definition.name} "
                        f"({idle_deadline.definition.idle_for}): fires "
                        f"{idle_deadline.due_at.isoformat(timespec='seconds')}"
                    )
            for definition_id, run_id in sorted(period.fired.items()):
                lines.append(f"  - fired: {definition_id} → `{run_id}`")
        return "\n".join(lines)
