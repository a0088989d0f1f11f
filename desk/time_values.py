"""The `time.*` fields of a step, from the definition's schedule as stored when the step runs
(SPEC §2.3). The values themselves come from pure code (definitions/time_fields.py), the same
the dry run uses; this module only loads the schedule and its holiday calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from definitions.business_time import BusinessClock
from definitions.errors import NotFound
from definitions.models import Step
from definitions.time_fields import step_reads_time, time_fields
from store import schedules_repo
from store.holiday_calendars import business_clock


def schedule_clock(session: Session, schedule_id: str | None, at: datetime) -> BusinessClock | None:
    """The clock of a schedule as stored now; None without a schedule or when it does not exist
    (the dry run says so; a real run's step fails, see `step_time_fields`)."""
    if schedule_id is None:
        return None
    try:
        return business_clock(schedules_repo.get(session, schedule_id), at)
    except NotFound:
        return None


def step_time_fields(
    session: Session, schedule_id: str | None, step: Step, at: datetime
) -> dict[str, Any]:
    """The `time` context of a real run's step at `at`. Only a step that reads `time.*` loads
    the schedule; a schedule deleted since the run started raises `NotFound` (the step fails
    with that reason rather than read "not set")."""
    if schedule_id is None or not step_reads_time(step):
        return {}
    clock = schedule_clock(session, schedule_id, at)
    if clock is None:
        raise NotFound(
            "schedule",
            schedule_id,
            f"schedule {schedule_id!r} does not exist: step {step.id!r} reads time.* from it",
        )
    return time_fields(clock, at)
