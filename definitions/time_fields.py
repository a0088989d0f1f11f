"""The `time.*` fields (SPEC §2.3): what the definition's schedule says at the instant a step is
evaluated. Pure: the caller gives the instant and the schedule's `BusinessClock` (a real run's
activity loads the schedule when the step runs; the dry run passes its `now`), so a real run and
a dry run compute the values with the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from definitions.business_time import BusinessClock, NoOpenTime
from definitions.fields import TIME_PREFIX
from definitions.models import AllGroup, BranchStep, Condition, ConditionStep, Rule, Step
from definitions.placeholders import parse_placeholders
from definitions.schedules import WEEKDAYS

#: Day names for people, independent of the process locale (`%a` is not).
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local_label(at: datetime, clock: BusinessClock | None) -> str:
    """An instant as people read it on the schedule's clock: `Tue 10:00 Europe/Berlin` (UTC
    without a schedule)."""
    local = clock.local(at) if clock is not None else at.astimezone(UTC)
    zone = clock.schedule.timezone if clock is not None else "UTC"
    return f"{DAY_NAMES[local.weekday()]} {local:%H:%M} {zone}"


def time_fields(clock: BusinessClock | None, at: datetime) -> dict[str, Any]:
    """The `time` part of the run context at `at`; empty without a schedule (the fields then
    read as not set). `next_open` is None when the schedule does not open within its horizon."""
    if clock is None:
        return {}
    local = clock.local(at)
    try:
        next_open: str | None = local_label(clock.next_opening(at), clock)
    except NoOpenTime:
        next_open = None
    return {
        "business_hours": "true" if clock.is_open(at) else "false",
        "weekday": WEEKDAYS[local.weekday()],
        "local_time": f"{local:%H:%M}",
        "next_open": next_open,
    }


def _reads_time(paths: Iterable[str]) -> bool:
    return any(path.startswith(TIME_PREFIX) for path in paths)


def _fields(condition: Condition) -> Iterator[str]:
    if isinstance(condition, Rule):
        yield condition.field
        return
    for member in condition.all if isinstance(condition, AllGroup) else condition.any:
        yield from _fields(member)


def step_reads_time(step: Step) -> bool:
    """Whether a condition, branch or action step reads a `time.*` field (so the schedule must
    be loaded to run it)."""
    if isinstance(step, ConditionStep):
        return _reads_time(_fields(step.condition))
    if isinstance(step, BranchStep):
        return _reads_time(_fields(step.if_))
    if step.type == "action":
        try:
            paths = [
                placeholder.path
                for text in step.params.templates().values()
                for placeholder in parse_placeholders(text)
            ]
        except ValueError:  # malformed text (refused at save time) renders as it is
            return False
        return _reads_time(paths)
    return False


def business_deadline(
    clock: BusinessClock, start: datetime, business_seconds: int | None
) -> datetime:
    """When a business-time wait that begins at `start` ends: `business_seconds` of open time
    later, or (None) when the schedule is next open (`start` itself if open). Raises
    `NoOpenTime`. The real run's `wait_deadline` activity and the dry run both use it."""
    if business_seconds is None:
        return clock.next_opening(start)
    return clock.add(start, timedelta(seconds=business_seconds))
