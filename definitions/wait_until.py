"""Until when a wait would last, for the dry run (SPEC §2.3: "would wait 4h (until Tue 10:00
Europe/Berlin)"). Pure: the instant the wait would begin and the schedule's clock are arguments.
Business time goes through `business_deadline`, as the real run's `wait_deadline` activity does
(which also adds a few seconds of jitter to "until open"; the label shows minutes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from definitions.business_time import BusinessClock, NoOpenTime
from definitions.models import WaitForStep, WaitStep
from definitions.time_fields import business_deadline, local_label


@dataclass(frozen=True)
class WaitUntil:
    """When the wait would end (None: cannot say) and how to say it, with or without `until`."""

    deadline: datetime | None
    label: str
    at_once: bool = False  # `until: open` while the schedule is open


def wait_until(
    step: WaitStep | WaitForStep,
    start: datetime | None,
    clock: BusinessClock | None,
    schedule_id: str | None,
) -> WaitUntil:
    """When a wait beginning at `start` would end, on the schedule's clock (UTC without one)."""
    if start is None:
        return WaitUntil(None, "until when depends on when it starts")
    if not step.needs_schedule:
        deadline = start + timedelta(seconds=step.seconds or 0)
        return WaitUntil(deadline, f"until {local_label(deadline, clock)}")
    if clock is None:
        return WaitUntil(None, f"schedule {schedule_id!r} does not exist: until when is unknown")
    business_seconds = step.seconds if step.business_hours else None
    try:
        deadline = business_deadline(clock, start, business_seconds)
    except NoOpenTime as exc:
        return WaitUntil(None, f"the run would fail here: {exc}")
    at_once = business_seconds is None and deadline == start
    return WaitUntil(deadline, f"until {local_label(deadline, clock)}", at_once)
