"""Stored business-hours schedules (SPEC §2.3): put (create or replace), get, list, delete.

A definition names a schedule by id (`"schedule": "support-hours"` in its body). Deleting a
schedule that current definitions name raises `ScheduleInUse` listing them; saving a definition
that names a missing schedule is rejected (`definitions_repo`). Both sides lock the schedule row
(FOR UPDATE / FOR SHARE on PostgreSQL; SQLite transactions take the write lock when they begin),
so a delete and a save that race cannot leave a dangling reference.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field
from sqlmodel import Session, col, select

from definitions.errors import NotFound
from definitions.schedules import SUPPORT_HOURS_EXAMPLE, Schedule
from store.holiday_calendars import check_holiday_calendar
from store.models import ScheduleRow, WorkflowDefinitionRow, utcnow

#: A schedule id, as paths and definitions name it.
SCHEDULE_ID_PATTERN = r"^[A-Za-z0-9_\-]+$"


class SchedulePublic(Schedule):
    """A stored schedule, with whether it is open now and when it next opens."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "support-hours",
                    **SUPPORT_HOURS_EXAMPLE,
                    "updated_at": "2026-11-27T10:00:00Z",
                    "open_now": True,
                    "next_opening": "2026-11-27T10:00:00Z",
                }
            ]
        }
    )

    id: str = Field(description="Schedule id, as definitions name it", examples=["support-hours"])
    updated_at: datetime = Field(description="When it was last saved")
    open_now: bool | None = Field(default=None, description="Whether it is open at read time")
    next_opening: datetime | None = Field(
        default=None,
        description=(
            "When it next opens (the read time if open now); null if it does not open within "
            "ten years"
        ),
    )


class ScheduleInUse(Exception):
    """The schedule is named by definitions, so it cannot be deleted."""

    def __init__(self, schedule_id: str, users: list[tuple[str, str]]) -> None:
        names = ", ".join(f"{name!r} ({definition_id})" for definition_id, name in users)
        super().__init__(
            f"schedule {schedule_id!r} is used by {len(users)} workflow(s): {names}; "
            "point them at another schedule first"
        )
        self.schedule_id = schedule_id
        self.users = users


def _public(row: ScheduleRow) -> SchedulePublic:
    return SchedulePublic.model_validate({**row.body, "id": row.id, "updated_at": row.updated_at})


def _locked(session: Session, schedule_id: str, *, shared: bool) -> ScheduleRow | None:
    query = select(ScheduleRow).where(col(ScheduleRow.id) == schedule_id)
    return session.exec(query.with_for_update(read=shared)).first()


def put(session: Session, schedule_id: str, schedule: Schedule) -> tuple[SchedulePublic, bool]:
    """Create or replace a schedule; returns it and whether it was created. An unknown
    `holiday_calendar` raises pydantic's ValidationError at that field."""
    check_holiday_calendar(schedule)
    row = _locked(session, schedule_id, shared=False)
    created = row is None
    if row is None:
        row = ScheduleRow(id=schedule_id, name=schedule.name, body={})
    row.name = schedule.name
    row.body = schedule.model_dump(mode="json", exclude_none=True)
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    return _public(row), created


def get(session: Session, schedule_id: str) -> SchedulePublic:
    """The stored schedule, or `NotFound`."""
    row = session.get(ScheduleRow, schedule_id)
    if row is None:
        raise NotFound("schedule", schedule_id)
    return _public(row)


def list_schedules(session: Session) -> list[SchedulePublic]:
    """Every schedule, by id."""
    return [_public(row) for row in session.exec(select(ScheduleRow).order_by(col(ScheduleRow.id)))]


def users(session: Session, schedule_id: str) -> list[tuple[str, str]]:
    """(id, name) of the definitions naming the schedule, by id."""
    named = col(WorkflowDefinitionRow.body)["schedule"].as_string() == schedule_id
    rows = session.exec(
        select(WorkflowDefinitionRow.id, WorkflowDefinitionRow.name)
        .where(named)
        .order_by(col(WorkflowDefinitionRow.id))
    ).all()
    return [(definition_id, name) for definition_id, name in rows]


def delete(session: Session, schedule_id: str) -> None:
    """Delete a schedule: `NotFound`, or `ScheduleInUse` while definitions name it."""
    row = _locked(session, schedule_id, shared=False)
    if row is None:
        session.rollback()
        raise NotFound("schedule", schedule_id)
    in_use = users(session, schedule_id)
    if in_use:
        session.rollback()
        raise ScheduleInUse(schedule_id, in_use)
    session.delete(row)
    session.commit()
