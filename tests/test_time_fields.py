# ruff: noqa: E501  (sample definitions read best as JSON-like literals)
"""The `time.*` fields and the dry run's "until when" (SPEC §2.3), as pure code: the values at an
instant on a schedule's clock across the daylight-saving changes of Europe/Berlin and
America/New_York and on holidays; the dry run reading them, moving its clock with each wait and
saying until when each wait would last; `assume` naming only wait_for steps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from definitions.business_time import BusinessClock
from definitions.dry_run import DryRunReport, dry_run
from definitions.events import Event
from definitions.mirror_rule import state_from_event
from definitions.models import WorkflowDefinitionIn
from definitions.schedules import SUPPORT_HOURS_EXAMPLE, Schedule
from definitions.time_fields import local_label, step_reads_time, time_fields

BERLIN = BusinessClock(Schedule.model_validate(SUPPORT_HOURS_EXAMPLE))  # listed holidays only
NEW_YORK = BusinessClock(
    Schedule.model_validate(
        {
            "name": "NY desk",
            "timezone": "America/New_York",
            "hours": {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("clock", "at", "expected"),
    [
        # Berlin springs forward on Sun 2026-03-29: 09:00 is 08:00 UTC before, 07:00 UTC after.
        (BERLIN, "2026-03-27T07:59", ("false", "fri", "08:59", "Fri 09:00 Europe/Berlin")),
        (BERLIN, "2026-03-27T08:00", ("true", "fri", "09:00", "Fri 09:00 Europe/Berlin")),
        (BERLIN, "2026-03-29T01:30", ("false", "sun", "03:30", "Mon 09:00 Europe/Berlin")),
        (BERLIN, "2026-03-30T06:59", ("false", "mon", "08:59", "Mon 09:00 Europe/Berlin")),
        (BERLIN, "2026-03-30T07:00", ("true", "mon", "09:00", "Mon 09:00 Europe/Berlin")),
        # Friday's lunch break, and closing time.
        (BERLIN, "2026-04-03T11:30", ("false", "fri", "13:30", "Fri 14:00 Europe/Berlin")),
        (BERLIN, "2026-04-03T15:00", ("false", "fri", "17:00", "Mon 09:00 Europe/Berlin")),
        # Berlin falls back on Sun 2026-10-25: 09:00 is 07:00 UTC before, 08:00 UTC after.
        (BERLIN, "2026-10-23T07:00", ("true", "fri", "09:00", "Fri 09:00 Europe/Berlin")),
        (BERLIN, "2026-10-26T07:30", ("false", "mon", "08:30", "Mon 09:00 Europe/Berlin")),
        (BERLIN, "2026-10-26T08:00", ("true", "mon", "09:00", "Mon 09:00 Europe/Berlin")),
        # A listed holiday (Thu 2026-12-24) is closed all day; it opens again on the 25th.
        (BERLIN, "2026-12-24T10:00", ("false", "thu", "11:00", "Fri 09:00 Europe/Berlin")),
        # New York springs forward on Sun 2026-03-08 and falls back on Sun 2026-11-01.
        (NEW_YORK, "2026-03-06T13:00", ("true", "fri", "08:00", "Fri 08:00 America/New_York")),
        (NEW_YORK, "2026-03-09T12:00", ("true", "mon", "08:00", "Mon 08:00 America/New_York")),
        (NEW_YORK, "2026-03-09T11:59", ("false", "mon", "07:59", "Mon 08:00 America/New_York")),
        (NEW_YORK, "2026-11-02T12:30", ("false", "mon", "07:30", "Mon 08:00 America/New_York")),
        (NEW_YORK, "2026-11-02T13:00", ("true", "mon", "08:00", "Mon 08:00 America/New_York")),
        # Friday 20:00 local is Saturday in UTC: the weekday is the schedule's.
        (NEW_YORK, "2026-11-07T01:30", ("false", "fri", "20:30", "Mon 08:00 America/New_York")),
    ],
)
def test_time_fields_on_the_schedules_clock(
    clock: BusinessClock, at: str, expected: tuple[str, str, str, str]
) -> None:
    fields = time_fields(clock, utc(at))
    got = (fields["business_hours"], fields["weekday"], fields["local_time"], fields["next_open"])
    if expected[0] == "true":
        # Open now: next_open is the instant itself.
        expected = (*expected[:3], local_label(utc(at), clock))
    assert got == expected


def test_without_a_schedule_the_time_fields_are_not_set() -> None:
    assert time_fields(None, utc("2026-03-27T08:00")) == {}


def test_a_schedule_that_never_opens_has_no_next_opening() -> None:
    never = BusinessClock(Schedule(name="never", timezone="UTC", hours={}))  # type: ignore[arg-type]
    assert time_fields(never, utc("2026-03-27T08:00"))["next_open"] is None


def definition(steps: list[dict[str, Any]], **extra: Any) -> WorkflowDefinitionIn:
    return WorkflowDefinitionIn.model_validate(
        {"name": "t", "trigger": {"type": "new_conversation"}, "steps": steps, **extra}
    )


SAMPLE = Event.model_validate(
    {
        "id": "evt-1",
        "type": "conversation.created",
        "occurred_at": "2026-03-27T07:00:00Z",
        "conversation": {"id": "c-1", "channel": "email"},
        "customer": {"id": "u-1", "name": "Ada"},
    }
)


def run(
    workflow: WorkflowDefinitionIn,
    now: str,
    clock: BusinessClock | None = BERLIN,
    assume: dict[str, Any] | None = None,
) -> DryRunReport:
    conversation, customer = state_from_event(SAMPLE)
    return dry_run(
        workflow, SAMPLE, conversation, customer, assume=assume, now=utc(now), clock=clock
    )


AFTER_HOURS = [
    {"id": "open", "type": "branch", "if": {"field": "time.business_hours", "operator": "equals", "value": "true"},
     "then": [], "else": [{"id": "closed", "type": "action", "action": "auto_reply",
                           "params": {"message": "We open {{time.next_open}} ({{time.weekday}} {{time.local_time}} now)"}}]},
]  # fmt: skip


def test_a_branch_on_business_hours_reads_the_schedule_now() -> None:
    workflow = definition(AFTER_HOURS, schedule="support-hours")
    assert step_reads_time(workflow.steps[0])
    assert step_reads_time(workflow.steps[0].else_[0])  # type: ignore[union-attr]
    opened = run(workflow, "2026-03-27T08:30")
    assert opened.steps[0].branch_taken == "then"
    assert opened.steps[0].rules[0].resolved == "true"
    closed = run(workflow, "2026-03-27T16:30")  # Friday 17:30 in Berlin
    assert closed.steps[0].branch_taken == "else"
    assert closed.steps[1].rendered["message"] == "We open Mon 09:00 Europe/Berlin (fri 17:30 now)"


def test_a_missing_schedule_reads_as_not_set() -> None:
    workflow = definition(AFTER_HOURS, schedule="gone")
    report = run(workflow, "2026-03-27T08:30", clock=None)
    assert report.steps[0].rules[0].resolved is None
    assert report.steps[0].branch_taken == "else"


def test_waits_say_until_when_and_move_the_clock() -> None:
    workflow = definition(
        [
            {"id": "cool", "type": "wait", "for": "4h"},
            {"id": "biz", "type": "wait", "for": "4h", "business_hours": True},
            {"id": "reply", "type": "wait_for", "event": "customer_message", "timeout": "1h"},
            {"id": "open", "type": "wait", "until": "open"},
            {
                "id": "check",
                "type": "condition",
                "field": "time.local_time",
                "operator": "equals",
                "value": "09:00",
                "on_false": "continue",
            },
        ],
        schedule="support-hours",
    )
    # Friday 2026-03-27 10:00 Berlin (CET): +4h = 14:00; +4 business hours (Friday 14:00-17:00,
    # then Monday, after the spring-forward) = Mon 10:00 CEST; +1h = 11:00; open at once.
    report = run(workflow, "2026-03-27T09:00")
    waits = [s.wait for s in report.steps[:4]]
    assert waits == [
        "would wait 4h (until Fri 14:00 Europe/Berlin)",
        "would wait 4h of business time (until Mon 10:00 Europe/Berlin)",
        "would wait up to 1h for a customer message (until Mon 11:00 Europe/Berlin)",
        "would not wait: the schedule is open now",
    ]
    assert report.steps[4].rules[0].resolved == "11:00"
    # Assumed to end with an event, a wait_for does not move the clock.
    event = run(workflow, "2026-03-27T09:00", assume={"reply": "event"})
    assert event.steps[4].rules[0].resolved == "10:00"


def test_until_open_names_the_next_opening() -> None:
    workflow = definition([{"id": "open", "type": "wait", "until": "open"}], schedule="s")
    report = run(workflow, "2026-03-27T16:30")
    assert (
        report.steps[0].wait
        == "would wait for the schedule to open (until Mon 09:00 Europe/Berlin)"
    )
    unknown = run(workflow, "2026-03-27T16:30", clock=None)
    assert unknown.steps[0].wait is not None and "'s' does not exist" in unknown.steps[0].wait


def test_plain_waits_without_a_schedule_say_utc() -> None:
    workflow = definition([{"id": "cool", "type": "wait", "for": "2d"}])
    report = run(workflow, "2026-03-27T09:00", clock=None)
    assert report.steps[0].wait == "would wait 2d (until Sun 09:00 UTC)"


@pytest.mark.parametrize(
    ("assume", "message"),
    [
        ({"nope": "event"}, "there is no step 'nope'"),
        ({"cool": "event"}, "step 'cool' is a wait step"),
    ],
)
def test_assume_names_wait_for_steps_only(assume: dict[str, Any], message: str) -> None:
    workflow = definition(
        [
            {"id": "cool", "type": "wait", "for": "1h"},
            {"id": "b", "type": "branch", "if": {"field": "customer.name", "operator": "is_set"},
             "then": [{"id": "reply", "type": "wait_for", "event": "customer_message", "timeout": "1h"}], "else": []},
        ]
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        run(workflow, "2026-03-27T09:00", assume=assume)
    (error,) = caught.value.errors()
    assert error["loc"] == ("assume", next(iter(assume)))
    assert message in error["msg"] and "'reply'" in error["msg"]
    # A nested wait_for may be named.
    assert run(workflow, "2026-03-27T09:00", assume={"reply": "event"}).steps[2].assumed == "event"
