"""The `check_wait` local activity of a run waiting in a `wait_for` (desk/waits.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from temporalio import activity

from definitions.runs import ACT_CHECK_WAIT, WaitCheck, WaitFound
from desk.waits import check_wait
from store.db import session_scope


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
