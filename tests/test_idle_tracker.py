"""conversation_idle triggers and business-hours sla_breach in `ConversationSla` (issue 12), on the
time-skipping server with the real tracker activities and a real database.

Each event is mirrored into the desk store before the tracker gets it, as ingestion does: the idle
fire activity re-checks the desk (still idle, in one of the statuses) before it starts a run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from definitions.events import Event
from definitions.idle import idle_run_id
from definitions.runs import RunInput
from definitions.schedules import SUPPORT_HOURS_EXAMPLE, Schedule
from definitions.sla import breach_run_id
from desk.mirror import mirror_event
from store import schedules_repo
from store.db import session_scope
from store.holiday_calendars import holiday_dates
from tests.sla_support import idle_definition, sla_definition, store_definition
from tests.temporal_fixtures import assert_eventually
from tests.test_sla_workflow import Sla

BERLIN = ZoneInfo("Europe/Berlin")
SCHEDULE = Schedule.model_validate(SUPPORT_HOURS_EXAMPLE)


class DeskSla(Sla):
    """`Sla` whose events reach the desk store first, as through ingestion."""

    async def send(self, conversation_id: str, kind: str, *, event_id: str | None = None,
                   **options: Any) -> Event:  # fmt: skip
        now = await self.now()
        probe = _event_at(conversation_id, kind, now, event_id or "probe", **options)
        if event_id is None:
            event_id = f"{conversation_id}-e{self._events + 1}"
        with session_scope(self.engine) as session:
            mirror_event(session, probe.model_copy(update={"id": event_id}), now=now)
        return await super().send(conversation_id, kind, event_id=event_id, **options)

    async def idle_settled(self, conversation_id: str, events: int, waiting_on: str) -> None:
        """Wait until the tracker applied `events` events, waits on `waiting_on` and knows the
        idle definitions (so its idle timers are armed before the test skips time)."""

        async def check() -> None:
            state = await self.state(conversation_id)
            assert state.get("events_applied") == events, state
            assert waiting_on in state["periods"], state
            assert state["idle_definitions"], state
            assert not state["lookup_needed"], state

        await assert_eventually(check)

    async def idle_run(self, definition_id: str, conversation_id: str, start: datetime) -> RunInput:
        run_id = idle_run_id(definition_id, conversation_id, start)

        async def started() -> RunInput:
            assert await self.exists(run_id), f"{run_id} not started"
            result = await self.client.get_workflow_handle(run_id).result()
            return RunInput.model_validate(result)

        return await assert_eventually(started)

    async def skip_to(self, instant: datetime) -> None:
        await self.env.sleep(instant - await self.now())


def _event_at(
    conversation_id: str, kind: str, at: datetime, event_id: str, **options: Any
) -> Event:
    from tests.sla_support import event

    return event(event_id, kind, conversation_id, at, **options)


@pytest_asyncio.fixture
async def sla(
    time_env: WorkflowEnvironment, task_queue: str, engine: Engine
) -> AsyncIterator[DeskSla]:
    with Session(engine) as session:
        schedules_repo.put(session, "support-hours", SCHEDULE)
    yield DeskSla(time_env, task_queue, engine)


def _started_at(state: dict[str, Any], side: str) -> datetime:
    return datetime.fromisoformat(state["periods"][side]["started_at"])


# ---------------------------------------------------------------- idle periods


async def test_idle_24h_waiting_on_the_customer_fires_once_per_period(sla: DeskSla) -> None:
    store_definition(sla.engine, "wf-nudge", idle_definition("Nudge", "customer", "24h"))
    conv = sla.conversation("nudge")
    async with sla.worker():
        await sla.send(conv, "created")
        await sla.send(conv, "message", sender="customer")
        answer = await sla.send(conv, "message", sender="agent")
        await sla.idle_settled(conv, 3, "customer")
        await sla.skip(hours=6)
        await sla.send(conv, "message", sender="agent")  # ours again: still the same period
        await sla.idle_settled(conv, 4, "customer")
        state = await sla.state(conv)
        start = _started_at(state, "customer")
        assert start == answer.occurred_at
        await sla.skip(hours=17, minutes=58)
        assert not await sla.exists(idle_run_id("wf-nudge", conv, start))
        await sla.skip(minutes=3)
        run = await sla.idle_run("wf-nudge", conv, start)
        assert run.definition_id == "wf-nudge" and run.sla is None
        assert run.event == answer  # the message that started the period
        assert run.idempotency_scope == idle_run_id("wf-nudge", conv, start)
        await sla.skip(days=3)  # still idle, same period: nothing more
        state = await sla.state(conv)
        assert state["idle_runs_started"] == 1
        assert state["periods"]["customer"]["fired"] == {"wf-nudge": run.idempotency_scope}
        await sla.record("idle_fired", conv)

        # The customer answers, we answer: a new period, which fires again after 24 h.
        await sla.send(conv, "message", sender="customer")
        second = await sla.send(conv, "message", sender="agent")
        await sla.idle_settled(conv, 6, "customer")
        await sla.skip(hours=24, minutes=1)
        run = await sla.idle_run("wf-nudge", conv, second.occurred_at)
        assert run.event == second
        assert (await sla.state(conv))["idle_runs_started"] == 2


async def test_idle_waiting_on_the_agent(sla: DeskSla) -> None:
    store_definition(sla.engine, "wf-remind", idle_definition("Remind", "agent", "2h"))
    waiting, answered = sla.conversation("waiting"), sla.conversation("answered")
    async with sla.worker():
        asked = await sla.send(waiting, "message", sender="customer")
        await sla.send(answered, "message", sender="customer")
        await sla.idle_settled(waiting, 1, "agent")
        await sla.idle_settled(answered, 1, "agent")
        await sla.skip(minutes=30)
        await sla.send(waiting, "message", sender="customer")  # still waiting since `asked`
        await sla.send(waiting, "message", sender="automation")  # an auto-reply answers nothing
        await sla.send(answered, "message", sender="ai")
        await sla.idle_settled(answered, 2, "customer")
        assert _started_at(await sla.state(waiting), "agent") == asked.occurred_at
        await sla.skip(hours=1, minutes=31)
        run = await sla.idle_run("wf-remind", waiting, asked.occurred_at)
        assert run.event == asked
        state = await sla.state(answered)
        assert "agent" not in state["periods"] and state["idle_runs_started"] == 0
        assert (await sla.state(waiting))["idle_runs_started"] == 1


async def test_idle_fires_only_in_its_statuses(sla: DeskSla) -> None:
    """Snoozed at the deadline: nothing; open again, still idle: it fires at once. A definition
    for `pending` only never fires in `open`."""
    store_definition(sla.engine, "wf-open", idle_definition("Open or pending", "customer", "1h"))
    store_definition(
        sla.engine, "wf-pending", idle_definition("Pending", "customer", "1h", statuses=["pending"])
    )
    conv = sla.conversation("snooze")
    async with sla.worker():
        await sla.send(conv, "created")
        answer = await sla.send(conv, "message", sender="agent")
        await sla.idle_settled(conv, 2, "customer")
        await sla.send(conv, "status", from_status="open", to_status="snoozed")
        await sla.skip(hours=3)
        for definition_id in ("wf-open", "wf-pending"):
            assert not await sla.exists(idle_run_id(definition_id, conv, answer.occurred_at))
        await sla.send(conv, "status", from_status="snoozed", to_status="open")
        run = await sla.idle_run("wf-open", conv, answer.occurred_at)
        assert run.definition_id == "wf-open"
        await sla.skip(hours=3)
        assert not await sla.exists(idle_run_id("wf-pending", conv, answer.occurred_at))
        assert (await sla.state(conv))["idle_runs_started"] == 1


async def test_the_desk_decides_at_fire_time(sla: DeskSla) -> None:
    """The customer's answer reached the desk but not (yet) the tracker: no run."""
    store_definition(sla.engine, "wf-desk", idle_definition("Desk", "customer", "1h"))
    conv = sla.conversation("desk")
    async with sla.worker():
        answer = await sla.send(conv, "message", sender="agent")
        await sla.idle_settled(conv, 1, "customer")
        late = _event_at(conv, "message", await sla.now(), f"{conv}-mirrored", sender="customer")
        with session_scope(sla.engine) as session:
            mirror_event(session, late)
        await sla.skip(hours=1, minutes=1)

        async def skipped() -> None:
            period = (await sla.state(conv))["periods"]["customer"]
            assert period["skipped"] == {"wf-desk": "the customer answered"}

        await assert_eventually(skipped)
        assert not await sla.exists(idle_run_id("wf-desk", conv, answer.occurred_at))


# ---------------------------------------------------------------- business hours


def _next_plain_friday(after: datetime) -> date:
    """The first Friday after `after` such that neither it nor the next Monday is a holiday."""
    day = after.astimezone(BERLIN).date() + timedelta(days=1)
    while True:
        if day.weekday() == 4:
            monday = day + timedelta(days=3)
            if not {day, monday} & holiday_dates(SCHEDULE, {day.year, monday.year}):
                return day
        day += timedelta(days=1)


async def test_business_hours_sla_waits_over_the_weekend(sla: DeskSla) -> None:
    """Friday 16:30 + 1 business hour = Monday 09:30 (Europe/Berlin, the SPEC's schedule)."""
    store_definition(
        sla.engine,
        "wf-bh",
        sla_definition("VIP in 1 business hour", "reply", "1h", schedule="support-hours"),
    )
    conv = sla.conversation("weekend")
    friday = _next_plain_friday(await sla.now())
    monday = friday + timedelta(days=3)
    async with sla.worker():
        half_past_four = datetime.combine(friday, time(16, 30), BERLIN)
        await sla.skip_to(half_past_four)
        asked = await sla.send(conv, "message", sender="customer")
        # (plus the few milliseconds the skip overshot)
        deadline = datetime.combine(monday, time(9, 30), BERLIN) + (
            asked.occurred_at - half_past_four
        )

        async def armed() -> None:
            business = (await sla.state(conv))["running"]["reply"]["business_due"]
            assert [datetime.fromisoformat(v) for v in business.values()] == [deadline], business

        await assert_eventually(armed)
        # a schedule edit now moves no running deadline
        with Session(sla.engine) as session:
            schedules_repo.put(
                session,
                "support-hours",
                SCHEDULE.model_copy(update={"timezone": "America/New_York"}),
            )
        await sla.skip_to(deadline - timedelta(minutes=1))
        assert not await sla.exists(breach_run_id("wf-bh", conv, "reply", 1))
        await sla.skip(minutes=2)
        run = await sla.breach("wf-bh", conv, "reply", 1)
        assert run.sla is not None and run.sla.clock_started_at == asked.occurred_at
        assert run.sla.elapsed_minutes >= (deadline - asked.occurred_at).total_seconds() / 60
        await sla.record("business_hours_breach", conv)


async def test_business_hours_idle(sla: DeskSla) -> None:
    store_definition(
        sla.engine,
        "wf-bh-idle",
        idle_definition(
            "Idle 2 business hours", "customer", "2h", business_hours=True, schedule="support-hours"
        ),  # fmt: skip
    )
    conv = sla.conversation("bh-idle")
    friday = _next_plain_friday(await sla.now())
    async with sla.worker():
        four = datetime.combine(friday, time(16, 0), BERLIN)
        await sla.skip_to(four)
        answer = await sla.send(conv, "message", sender="agent")
        await sla.idle_settled(conv, 1, "customer")
        # 16:00-17:00 Friday, then 09:00-10:00 Monday
        deadline = datetime.combine(friday + timedelta(days=3), time(10, 0), BERLIN)
        deadline += answer.occurred_at - four
        await sla.skip_to(deadline - timedelta(minutes=1))
        assert not await sla.exists(idle_run_id("wf-bh-idle", conv, answer.occurred_at))
        await sla.skip(minutes=2)
        await sla.idle_run("wf-bh-idle", conv, answer.occurred_at)


def test_business_hours_need_a_schedule() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        idle_definition("No schedule", "customer", "2h", business_hours=True)
    assert caught.value.errors()[0]["loc"] == ("trigger", "business_hours")
    with pytest.raises(ValidationError) as caught:
        sla_definition("No schedule", "reply", "1h", schedule=None).model_validate(
            {
                "name": "x",
                "trigger": {
                    "type": "sla_breach",
                    "sla_type": "reply",
                    "threshold": "1h",
                    "business_hours": True,
                },  # fmt: skip
                "steps": [
                    {"id": "t", "type": "action", "action": "add_tag", "params": {"tags": ["a"]}}
                ],  # fmt: skip
            }
        )
    assert caught.value.errors()[0]["loc"] == ("trigger", "business_hours")
