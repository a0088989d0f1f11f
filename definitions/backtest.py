"""Backtest: what a definition would have done with the events recorded over a window.

Pure: the caller reads the recorded events (store/events_repo.py) and the schedule; nothing runs
and nothing is written. Each event, in the order it arrived, goes through the dry run's trigger
match and step walk (definitions/dry_run.py: the same matcher, cursor, evaluator and rendering as
a real run), so a test of the language is a test of the backtest too. What differs is time:

- Conditions and templates read the conversation and the customer **as the event carried them**
  (`state_from_event`; `message_count` counts the window's messages of that conversation so far).
  The desk keeps no past states, so what earlier runs' actions changed is not seen.
- A `wait_for` is decided by the recorded events that followed on the same conversation: the first
  matching change that arrived after the wait began and by its deadline ends it (`event`), else the
  deadline does (`timeout`). A `wait` moves the run's clock to its deadline. Business time uses the
  definition's schedule (`clock`) from the instant the wait began.
- A run whose wait would still be running at the end of what is known (the window's end, or the
  last event read when the limit cut the window short) counts as `would_wait`.

The run's clock starts when its event arrived (`received_at`), as a real run starts then.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from definitions.business_time import BusinessClock
from definitions.dry_run import DryRunReport, Waited, match_event, walk
from definitions.errors import reject_at
from definitions.events import Event
from definitions.matching import wait_change
from definitions.mirror_rule import state_from_event
from definitions.models import (
    ConversationIdleTrigger,
    SlaBreachTrigger,
    WaitForStep,
    WaitStep,
    WorkflowDefinitionIn,
)
from definitions.utc import as_utc
from definitions.wait_until import wait_until

#: Sample conversations in an answer.
MAX_SAMPLES = 20

STATE_NOTE = (
    "Conditions and templates read the conversation and the customer as each recorded event "
    "carried them: the desk keeps no past states, so changes made since (by agents or by other "
    "runs' actions) are not seen. A wait_for is decided by the recorded events that followed on "
    "the same conversation; waits and business time use the schedule from the event's arrival."
)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An accepted event as stored, with the instant it arrived."""

    event: Event
    received_at: datetime


class BacktestAction(BaseModel):
    step_id: str
    action: str
    rendered: dict[str, str] = Field(
        default={}, description="The action's template params, rendered as the event carried it"
    )


class BacktestSample(BaseModel):
    """One conversation's first matched event, and what its run would have done."""

    conversation_id: str
    event_id: str
    event_type: str
    received_at: datetime
    outcome: str = Field(description="would_complete, would_stop or would_wait")
    stopped_at: str | None = Field(default=None, description="The step that would stop the run")
    waiting_at: str | None = Field(
        default=None, description="The wait the run would still be in at the end of the window"
    )
    summary: str = Field(description="The outcome in one sentence")
    waits: list[str] = Field(default=[], description="How each wait would have ended, in words")
    actions: list[BacktestAction] = Field(default=[], description="The actions, in run order")


class BacktestOutcomes(BaseModel):
    would_complete: int = 0
    would_stop: int = 0
    would_wait: int = 0


class DayCount(BaseModel):
    day: date = Field(description="UTC date of arrival")
    matched: int


class BacktestReport(BaseModel):
    """What a definition would have done with the recorded events of a window."""

    window_from: datetime = Field(
        serialization_alias="from", description="Start of the window (inclusive)"
    )
    window_to: datetime = Field(
        serialization_alias="to", description="End of the window (exclusive)"
    )
    events_scanned: int = Field(description="Recorded events read, in arrival order")
    truncated: bool = Field(
        description="The window held more events than `limit`: the scan stopped at the limit"
    )
    matched: int = Field(description="Events whose trigger matched: the runs it would have started")
    conversations: int = Field(description="Distinct conversations among the matched events")
    outcomes: BacktestOutcomes
    stopped_by_step: dict[str, int] = Field(
        default={}, description="would_stop runs by the step that stops them"
    )
    waiting_by_step: dict[str, int] = Field(
        default={}, description="would_wait runs by the wait they would still be in"
    )
    actions: dict[str, int] = Field(
        default={}, description="Actions that would have run, by type (auto_reply, route, ...)"
    )
    matches_per_day: list[DayCount] = Field(description="Every UTC day of the window, in order")
    samples: list[BacktestSample] = Field(
        description=f"Up to {MAX_SAMPLES} conversations, the first matched event of each"
    )
    state_note: str = Field(default=STATE_NOTE, description="What the conditions read")


def check_backtestable(definition: WorkflowDefinitionIn) -> None:
    """SLA breaches and idle periods fire from the conversation tracker's clocks, not from an
    event: there is nothing recorded to replay them from (422 at `trigger.type`)."""
    if isinstance(definition.trigger, SlaBreachTrigger | ConversationIdleTrigger):
        reject_at(
            ("trigger", "type"),
            f"{definition.trigger.type} workflows fire from clocks, not from recorded events, "
            "and cannot be backtested",
            definition.trigger.type,
            title="Backtest",
        )


# ---------------------------------------------------------------- the walk


@dataclass(slots=True)
class _Change:
    at: datetime
    kind: str
    to_status: str | None
    event_id: str


@dataclass
class _Timeline:
    """Answers the waits of one run from the conversation's recorded changes (the `Waits` of
    definitions/dry_run.py). `now` is the run's clock, moved by each wait."""

    now: datetime
    horizon: datetime
    changes: list[_Change]
    times: list[datetime]
    clock: BusinessClock | None
    notes: list[str] = field(default_factory=list)

    def _deadline(self, step: WaitStep | WaitForStep) -> datetime | None:
        # The dry run's arithmetic (and the real run's business time); None: the schedule never
        # opens, or is missing.
        return wait_until(step, self.now, self.clock, None).deadline

    def _when(self, at: datetime) -> str:
        return f"{at:%a %d %b %H:%M} UTC"

    def wait(self, step: WaitStep) -> Waited:
        deadline = self._deadline(step)
        if deadline is None or deadline > self.horizon:
            note = (
                "its schedule never opens" if deadline is None else f"until {self._when(deadline)}"
            )
            return self._noted(step.id, Waited(still_waiting=True, note=note))
        self.now = deadline
        # The walk labels when the wait ends; the note is only for the sample's list of waits.
        self.notes.append(f"{step.id}: until {self._when(deadline)}")
        return Waited()

    def wait_for(self, step: WaitForStep) -> Waited:
        deadline = self._deadline(step)
        if deadline is None:
            return self._noted(step.id, Waited(still_waiting=True, note="its schedule never opens"))
        end = min(deadline, self.horizon)
        start = bisect_right(self.times, self.now)  # strictly after the wait began
        for change in self.changes[start:]:
            if change.at > end:
                break
            if change.kind == step.event and (
                not step.to_statuses or change.to_status in step.to_statuses
            ):
                after = _duration(change.at - self.now)
                self.now = change.at
                note = f"event: {change.kind.replace('_', ' ')} {after} later ({change.event_id})"
                return self._noted(step.id, Waited(outcome="event", note=note))
        if deadline > self.horizon:
            note = f"nothing yet; times out {self._when(deadline)}"
            return self._noted(step.id, Waited(still_waiting=True, note=note))
        self.now = deadline
        return self._noted(
            step.id, Waited(outcome="timeout", note=f"timeout: nothing by {self._when(deadline)}")
        )

    def _noted(self, step_id: str, waited: Waited) -> Waited:
        self.notes.append(f"{step_id}: {waited.note}")
        return waited


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def backtest(
    definition: WorkflowDefinitionIn,
    events: Sequence[RecordedEvent],
    *,
    window_from: datetime,
    window_to: datetime,
    truncated: bool = False,
    clock: BusinessClock | None = None,
) -> BacktestReport:
    """Replay `events` (the window's, in arrival order) through the definition; see the module
    docstring. `clock`: the definition's schedule, for business time. `truncated`: the window
    held more events than these, so what is known ends at the last one."""
    check_backtestable(definition)
    start, end = as_utc(window_from), as_utc(window_to)
    assert start is not None and end is not None
    horizon = as_utc(events[-1].received_at) if truncated and events else end
    assert horizon is not None

    changes: dict[str, list[_Change]] = defaultdict(list)
    for recorded in events:
        kind = wait_change(recorded.event)
        if kind is not None:
            at = as_utc(recorded.received_at)
            assert at is not None
            event = recorded.event
            to_status = event.to_status if kind == "status_change" else None
            changes[event.conversation.id].append(_Change(at, kind, to_status, event.id))
    times = {cid: [c.at for c in found] for cid, found in changes.items()}

    outcomes: Counter[str] = Counter()
    stopped: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    per_day: Counter[date] = Counter()
    messages: Counter[str] = Counter()
    conversations: set[str] = set()
    samples: list[BacktestSample] = []
    matched = 0
    for recorded in events:
        event = recorded.event
        cid = event.conversation.id
        if event.message is not None:
            messages[cid] += 1
        trigger = match_event(definition, event)
        if not trigger.matched:
            continue
        received = as_utc(recorded.received_at)
        assert received is not None
        matched += 1
        per_day[received.date()] += 1
        conversation, customer = state_from_event(event)
        conversation.message_count = max(conversation.message_count, messages[cid])
        timeline = _Timeline(received, horizon, changes.get(cid, []), times.get(cid, []), clock)
        report = walk(
            definition,
            trigger,
            event,
            conversation,
            customer,
            None,
            timeline,
            now=received,
            clock=clock,
        )
        outcomes[report.outcome] += 1
        if report.stopped_at is not None:
            stopped[report.stopped_at] += 1
        if report.waiting_at is not None:
            waiting[report.waiting_at] += 1
        ran = _actions(report)
        actions.update(action.action for action in ran)
        if cid not in conversations and len(samples) < MAX_SAMPLES:
            samples.append(_sample(recorded, received, report, ran, timeline.notes))
        conversations.add(cid)

    return BacktestReport(
        window_from=start,
        window_to=end,
        events_scanned=len(events),
        truncated=truncated,
        matched=matched,
        conversations=len(conversations),
        outcomes=BacktestOutcomes(**outcomes),
        stopped_by_step=dict(stopped.most_common()),
        waiting_by_step=dict(waiting.most_common()),
        actions=dict(actions.most_common()),
        matches_per_day=[DayCount(day=day, matched=per_day[day]) for day in _days(start, end)],
        samples=samples,
    )


def _actions(report: DryRunReport) -> list[BacktestAction]:
    return [
        BacktestAction(step_id=step.step_id, action=step.action, rendered=step.rendered)
        for step in report.steps
        if step.step_type == "action" and step.status == "would_run" and step.action
    ]


def _sample(
    recorded: RecordedEvent,
    received: datetime,
    report: DryRunReport,
    ran: list[BacktestAction],
    notes: list[str],
) -> BacktestSample:
    event = recorded.event
    return BacktestSample(
        conversation_id=event.conversation.id,
        event_id=event.id,
        event_type=event.type,
        received_at=received,
        outcome=report.outcome,
        stopped_at=report.stopped_at,
        waiting_at=report.waiting_at,
        summary=report.summary,
        waits=list(notes),
        actions=ran,
    )
