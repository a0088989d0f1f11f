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
- A clock starts at the event's `occurred_at` when that is plausible (not in the future and at most
  `EVENT_TIME_TOLERANCE` before the tracker received it: transport, queue or worker backlog);
  otherwise at the time the tracker received the event, so a help desk with a skewed clock or a
  backfill of old events does not breach everything at once.
- Each definition fires at most once per clock start: the clock records the definitions it fired.
- Duplicate events (same id) are ignored; the last `SEEN_EVENT_IDS` ids are remembered.
- Thresholds are looked up when a clock starts, unless the tracker looked them up less than
  `LOOKUP_MAX_AGE` ago (a busy conversation does not query the store per message; changes reach
  running trackers at once through SLA_REFRESH_SIGNAL), and the breach activity re-checks the
  stored definition before it starts a run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from definitions.durations import format_duration
from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from definitions.vocabulary import ANSWERING_SENDERS, SlaType, Status

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


def sla_static_summary(conversation_id: str) -> str:
    """The static summary of a tracker in the Temporal UI (set at signal-with-start)."""
    return f"SLA clocks of conversation {conversation_id}"


def breach_run_id(definition_id: str, conversation_id: str, clock: SlaType, number: int) -> str:
    """`run:{workflow_id}:sla:{conversation_id}:{clock}:{n}` (issue 4)."""
    return f"run:{definition_id}:sla:{conversation_id}:{clock}:{number}"


def clock_start_time(occurred_at: datetime, received_at: datetime) -> datetime:
    """When a clock started by an event starts (see the module docstring)."""
    if received_at - EVENT_TIME_TOLERANCE <= occurred_at <= received_at:
        return occurred_at
    return received_at


def timer_summary(clock: SlaType, threshold_seconds: int) -> str:
    """A timer's summary in the UI: clock and threshold, e.g. "first_response 30m"."""
    return f"{clock} {format_duration(timedelta(seconds=threshold_seconds))}"


# ---------------------------------------------------------------- activity models


class SlaLookupInput(BaseModel):
    conversation_id: str


class SlaDefinition(BaseModel):
    """One active `sla_breach` definition, frozen at lookup time."""

    id: str
    version: int
    definition: WorkflowDefinitionIn
    sla_type: SlaType
    threshold: str
    threshold_seconds: int = Field(gt=0)


class SlaDefinitions(BaseModel):
    definitions: list[SlaDefinition]


class SlaBreachInput(BaseModel):
    """Start the `WorkflowRun` of one breach (one definition, one clock start)."""

    conversation_id: str
    clock: SlaType
    number: int = Field(ge=1, description="Which start of this clock in the conversation (the n)")
    clock_started_at: datetime
    fired_at: datetime
    definition: SlaDefinition
    event: Event = Field(description="The conversation's latest event known to the tracker")


class SlaBreachOutcome(BaseModel):
    outcome: Literal["started", "already_started", "inactive", "not_due"]
    run_id: str | None = None
    number: int = Field(description="The n actually used (a reopened conversation may skip some)")
    definition: SlaDefinition | None = Field(
        default=None, description="The definition as stored now (inactive: None)"
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
    latest_event: Event | None = None
    seen_event_ids: list[str] = []
    events_applied: int = 0
    breaches_started: int = 0

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
        previous = self.status
        if event.type == "conversation.status_changed":
            assert event.to_status is not None  # the Event validator guarantees it
            self.status = event.to_status
        else:
            self.status = event.conversation.status
        terminal = self.status in TERMINAL_STATUSES

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
        if event.type == "message.created":
            assert event.message is not None  # the Event validator guarantees it
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

    def definitions_changed(self) -> None:
        """SLA_REFRESH_SIGNAL: the thresholds known are stale."""
        self.definitions_checked_at = None

    def should_look_up(self, now: datetime) -> bool:
        """Look thresholds up when definitions changed, or when a clock started and the last
        lookup is older than `LOOKUP_MAX_AGE`; never while no clock runs."""
        if not self.running:
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

    def deadlines(self) -> list[Deadline]:
        """Every (running clock, matching definition) pair not fired yet, earliest first."""
        found: list[Deadline] = []
        for clock_type in CLOCK_ORDER:
            clock = self.running.get(clock_type)
            if clock is None:
                continue
            for definition in self.definitions:
                if definition.sla_type != clock_type or definition.id in clock.fired:
                    continue
                found.append(
                    Deadline(
                        clock=clock_type,
                        number=clock.number,
                        started_at=clock.started_at,
                        definition=definition,
                        due_at=clock.started_at + timedelta(seconds=definition.threshold_seconds),
                    )
                )
        return sorted(found, key=lambda d: (d.due_at, d.clock, d.definition.id))

    def due(self, now: datetime) -> list[Deadline]:
        return [deadline for deadline in self.deadlines() if deadline.due_at <= now]

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

    # -------------------------------------------------------------- lifecycle and visibility

    @property
    def finished(self) -> bool:
        """The conversation is resolved or closed and no clock runs: the tracker may end."""
        return self.status in TERMINAL_STATUSES and not self.running

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
        if not self.definitions:
            lines.append("")
            lines.append("No active sla_breach definition.")
        return "\n".join(lines)
