"""The local activity that turns business time into absolute deadlines for the conversation
tracker (see definitions/business_deadlines.py): it loads each schedule as stored now and adds the
amount with `business_clock`, so time zones and holiday calendars stay out of workflow replay."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio import activity

from definitions.business_deadlines import (
    ACT_COMPUTE_BUSINESS_DEADLINES,
    BusinessDeadline,
    BusinessDeadlineRequest,
    BusinessDeadlines,
    BusinessDeadlinesInput,
)
from definitions.business_time import NoOpenTime
from definitions.errors import NotFound
from definitions.schedules import Schedule
from store import schedules_repo
from store.db import read_session
from store.holiday_calendars import business_clock


def _deadline(schedule: Schedule | None, request: BusinessDeadlineRequest) -> BusinessDeadline:
    if schedule is None:
        return BusinessDeadline(error=f"schedule {request.schedule!r} does not exist")
    try:
        clock = business_clock(schedule, request.start)
        return BusinessDeadline(due_at=clock.add(request.start, timedelta(seconds=request.seconds)))
    except NoOpenTime as exc:
        return BusinessDeadline(error=str(exc))


class BusinessDeadlineActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _compute(self, requests: list[BusinessDeadlineRequest]) -> BusinessDeadlines:
        schedules: dict[str, Schedule | None] = {}
        with read_session(self._engine) as session:
            for name in {request.schedule for request in requests}:
                try:
                    schedules[name] = schedules_repo.get(session, name)
                except NotFound:
                    schedules[name] = None
        return BusinessDeadlines(
            results=[_deadline(schedules[request.schedule], request) for request in requests]
        )

    @activity.defn(name=ACT_COMPUTE_BUSINESS_DEADLINES)
    async def compute_business_deadlines(
        self, request: BusinessDeadlinesInput
    ) -> BusinessDeadlines:
        """Each request's start plus its business time, in the schedule as stored now."""
        return await asyncio.to_thread(self._compute, request.requests)
