"""/schedules: business-hours schedules that business-time waits, conditions and triggers use
(SPEC §2.3). Reads add `open_now` and `next_opening`, computed at read time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field

from app.api.deps import CanRead, CanWrite, SessionDep
from app.errors import ErrorResponse, responses
from definitions.business_time import NoOpenTime
from definitions.schedules import Schedule
from store import schedules_repo
from store.holiday_calendars import business_clock
from store.schedules_repo import SCHEDULE_ID_PATTERN, SchedulePublic

router = APIRouter(prefix="/schedules", tags=["schedules"])

ScheduleId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=SCHEDULE_ID_PATTERN,
        description="Schedule id (letters, digits, - and _), as definitions name it",
        examples=["support-hours"],
    ),
]


class SchedulesPublic(BaseModel):
    data: list[SchedulePublic] = Field(description="Every schedule, by id")
    count: int = Field(description="Number of schedules")


def _with_status(schedule: SchedulePublic, now: datetime) -> SchedulePublic:
    clock = business_clock(schedule, now)
    try:
        opening: datetime | None = clock.next_opening(now)
    except NoOpenTime:
        opening = None
    return schedule.model_copy(update={"open_now": clock.is_open(now), "next_opening": opening})


@router.get(
    "", response_model=SchedulesPublic, dependencies=[CanRead], responses=responses(401, 403)
)
def list_schedules(*, session: SessionDep) -> SchedulesPublic:
    """List every schedule, with whether it is open now."""
    now = datetime.now(UTC)
    schedules = [_with_status(s, now) for s in schedules_repo.list_schedules(session)]
    return SchedulesPublic(data=schedules, count=len(schedules))


@router.get(
    "/{schedule_id}",
    response_model=SchedulePublic,
    dependencies=[CanRead],
    responses=responses(401, 403, 404),
)
def read_schedule(*, session: SessionDep, schedule_id: ScheduleId) -> SchedulePublic:
    """Read one schedule, with whether it is open now and when it next opens."""
    return _with_status(schedules_repo.get(session, schedule_id), datetime.now(UTC))


@router.put(
    "/{schedule_id}",
    response_model=SchedulePublic,
    dependencies=[CanWrite],
    responses={
        **responses(401, 403),
        201: {"model": SchedulePublic, "description": "Created"},
    },
)
def put_schedule(
    *,
    session: SessionDep,
    response: Response,
    schedule_id: ScheduleId,
    schedule_in: Schedule,
) -> SchedulePublic:
    """Create or replace a schedule (201 when created, 200 when replaced). Waits already running
    keep the deadline they computed when they started."""
    schedule, created = schedules_repo.put(session, schedule_id, schedule_in)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return _with_status(schedule, datetime.now(UTC))


@router.delete(
    "/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[CanWrite],
    responses={
        **responses(401, 403, 404),
        409: {
            "model": ErrorResponse,
            "description": "Workflows still use it; `details` names them",
        },
    },
)
def delete_schedule(*, session: SessionDep, schedule_id: ScheduleId) -> Response:
    """Delete a schedule that no workflow uses (409 naming the workflows otherwise)."""
    schedules_repo.delete(session, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
