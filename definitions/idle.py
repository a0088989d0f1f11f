"""Idle periods of a conversation, for `conversation_idle` triggers (SPEC §2.3): pure state kept by
the conversation tracker (`ConversationSla`) beside its SLA clocks.

What a period is (also written down in the README):
- Waiting on the **agent**: from the first customer message no agent or AI has answered yet (an
  automated reply is no answer), until an agent or AI message.
- Waiting on the **customer**: from our first message (agent or AI) after the customer's last one
  was answered, until the customer writes. A conversation we opened with an automated message
  (no customer message yet) waits on the customer from that message too. The two never overlap.
- Only a message of the awaited side ends a period; ours again while waiting on the customer (a
  second nudge) does not start a new one. So each definition fires at most once per period, and a
  new period (after the awaited side wrote) may fire it again.
- Status changes end no period: a definition's `statuses` decide whether it may fire now, so a
  deadline that passed while the conversation was snoozed fires when it is open again, still idle.
- The period starts at the message's event time (`clock_start_time`, as SLA clocks); its deadline
  is that start plus `idle_for` (business time: computed once, when first needed, see
  definitions/business_deadlines.py). At fire time the activity re-checks the desk store: the
  definition still active, the conversation still idle in this period and in one of the statuses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from definitions.business_deadlines import business_key
from definitions.durations import format_duration
from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from definitions.vocabulary import ANSWERING_SENDERS, Status, WaitingOn

ACT_START_IDLE_RUN = "start_idle_run"
SIDES: tuple[WaitingOn, ...] = ("agent", "customer")


class IdleDefinition(BaseModel):
    """One active conversation_idle definition, frozen at lookup time."""

    id: str
    version: int
    definition: WorkflowDefinitionIn
    waiting_on: WaitingOn
    idle_for: str
    idle_seconds: int = Field(gt=0)
    business_hours: bool = False
    schedule: str | None = None
    statuses: list[Status] = []

    @property
    def business_schedule(self) -> str | None:
        """The schedule its idle time is counted in, or None for calendar time."""
        return self.schedule if self.business_hours else None

    def fires_in(self, status: str | None) -> bool:
        return not self.statuses or status in self.statuses

    def timing(self) -> tuple[int, str | None, WaitingOn]:
        """What its deadline depends on: a change of any of these is a new deadline."""
        return self.idle_seconds, self.business_schedule, self.waiting_on


class IdlePeriod(BaseModel):
    """One idle period: the conversation waits on `side` since `started_at`."""

    side: WaitingOn
    started_at: datetime
    started_by: str = Field(description="Id of the event that started it")
    message_id: str | None = Field(default=None, description="The message that started it")
    event: Event = Field(description="That event: the context of the runs it fires")
    business_due: dict[str, datetime] = Field(
        default={},
        description="business_key -> deadline, computed once (schedule edits later move none)",
    )
    fired: dict[str, str] = Field(default={}, description="Definition id -> run id")
    failed: dict[str, str] = Field(default={}, description="Definition id -> why not started")
    skipped: dict[str, str] = Field(
        default={}, description="Definition id -> why the desk said no (no longer idle)"
    )
    held: dict[str, str] = Field(
        default={},
        description="Definition id -> the status the desk had at its deadline (not one of its "
        "statuses): it waits for another status",
    )

    def settled(self, definition_id: str) -> bool:
        return (
            definition_id in self.fired
            or definition_id in self.failed
            or definition_id in self.skipped
        )

    def due_for(self, definition: IdleDefinition) -> datetime | None:
        """The definition's deadline in this period; None while a business one is not computed."""
        schedule = definition.business_schedule
        if schedule is None:
            return self.started_at + timedelta(seconds=definition.idle_seconds)
        return self.business_due.get(business_key(schedule, definition.idle_seconds))


class IdleDeadline(BaseModel):
    side: WaitingOn
    started_at: datetime
    definition: IdleDefinition
    due_at: datetime


def update_periods(
    periods: dict[WaitingOn, IdlePeriod], event: Event, at: datetime
) -> list[WaitingOn]:
    """Apply one message event to the periods (in place); which sides started a period."""
    message = event.message
    if event.type != "message.created" or message is None:
        return []
    sender = message.sender_type

    def start(side: WaitingOn) -> list[WaitingOn]:
        if side in periods:
            return []
        periods[side] = IdlePeriod(
            side=side, started_at=at, started_by=event.id, message_id=message.id, event=event
        )
        return [side]

    if sender == "customer":
        periods.pop("customer", None)
        return start("agent")
    if sender in ANSWERING_SENDERS:
        periods.pop("agent", None)
        return start("customer")
    if sender == "automation" and not periods:  # we opened the conversation: nobody answered
        return start("customer")
    return []


# ---------------------------------------------------------------- ids and summaries


def idle_run_id(definition_id: str, conversation_id: str, period_start: datetime) -> str:
    """`run:{workflow_id}:idle:{conversation_id}:{period_start}` (UTC, microseconds)."""
    stamp = period_start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"run:{definition_id}:idle:{conversation_id}:{stamp}"


def period_memo(side: WaitingOn, started_at: datetime) -> str:
    """The memo naming the period an idle run belongs to."""
    return f"idle:{side}@{started_at.isoformat()}"


def idle_timer_summary(definition: IdleDefinition) -> str:
    """A timer's summary in the UI, e.g. "idle 24h waiting on customer (business hours)"."""
    amount = format_duration(timedelta(seconds=definition.idle_seconds))
    hours = " (business hours)" if definition.business_schedule else ""
    return f"idle {amount} waiting on {definition.waiting_on}{hours}"


# ---------------------------------------------------------------- the fire activity


class IdleFireInput(BaseModel):
    """Start the `WorkflowRun` of one idle period (one definition, one period)."""

    conversation_id: str
    side: WaitingOn
    period_started_at: datetime
    message_id: str | None = None
    due_at: datetime = Field(description="The deadline the tracker computed for this period")
    fired_at: datetime
    definition: IdleDefinition
    event: Event = Field(description="The event that started the period")


IdleOutcome = Literal[
    "started", "already_started", "inactive", "changed", "not_due", "not_idle", "status"
]


class IdleFireOutcome(BaseModel):
    outcome: IdleOutcome = Field(
        description="started / already_started; inactive (not active any more); changed (its "
        "timing changed: see `definition`); not_due; not_idle (the awaited side wrote); status "
        "(the conversation is not in one of the statuses)"
    )
    run_id: str | None = None
    definition: IdleDefinition | None = Field(default=None, description="As stored now")
    definitions_version: int | None = None
    status: str | None = Field(default=None, description="The conversation's status in the desk")
    reason: str = ""
