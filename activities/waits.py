"""The `check_wait` local activity of a run waiting in a `wait_for` (desk/waits.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from definitions.business_time import NoOpenTime
from definitions.runs import (
    ACT_CHECK_WAIT,
    ACT_WAIT_DEADLINE,
    ERR_NOT_FOUND,
    Deadline,
    DeadlineInput,
    WaitCheck,
    WaitFound,
)
from definitions.time_fields import business_deadline, local_label
from desk.waits import check_wait
from store import schedules_repo
from store.db import session_scope
from store.holiday_calendars import business_clock


class WaitActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _check(self, args: WaitCheck) -> WaitFound:
        with session_scope(self.engine) as session:
            return check_wait(session, args)

    @activity.defn(name=ACT_CHECK_WAIT)
    async def check_wait(self, args: WaitCheck) -> WaitFound:
        """Upsert the wait row and return a matching desk change newer than the watermark, in
        one transaction; a match, the deadline or a cancel delete the row."""
        return await asyncio.to_thread(self._check, args)

    def _deadline(self, args: DeadlineInput) -> Deadline:
        with Session(self.engine) as session:
            try:
                schedule = schedules_repo.get(session, args.schedule_id)
            except schedules_repo.NotFound:
                raise ApplicationError(
                    f"schedule {args.schedule_id!r} does not exist", type=ERR_NOT_FOUND
                ) from None
        clock = business_clock(schedule, args.start)
        try:
            deadline = business_deadline(clock, args.start, args.business_seconds)
        except NoOpenTime as exc:
            raise ApplicationError(str(exc), type=ERR_NOT_FOUND) from None
        if args.business_seconds is None and deadline > args.start:
            deadline += timedelta(seconds=args.jitter_seconds)
        return Deadline(deadline=deadline, local=local_label(deadline, clock))

    @activity.defn(name=ACT_WAIT_DEADLINE)
    async def wait_deadline(self, args: DeadlineInput) -> Deadline:
        """A business-time deadline, from the schedule as it is when the wait begins."""
        return await asyncio.to_thread(self._deadline, args)
