"""The backtest walk (definitions/backtest.py), pure: recorded events in arrival order through
the dry run's matcher and cursor; a wait_for decided by the events that followed; stops counted by
step; waits past the window's end counted as would_wait."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from definitions.backtest import RecordedEvent, backtest
from definitions.business_time import BusinessClock
from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from definitions.schedules import Schedule

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
WINDOW = {
    "window_from": datetime(2026, 11, 23, tzinfo=UTC),
    "window_to": datetime(2026, 11, 30, tzinfo=UTC),
}

FOLLOW_UP = {
    "name": "Follow up",
    "status": "draft",
    "trigger": {"type": "new_message", "sender_types": ["agent"]},
    "steps": [
        {
            "id": "open",
            "type": "condition",
            "field": "conversation.status",
            "operator": "equals",
            "value": "pending",
            "on_false": "stop",
        },
        {
            "id": "reply",
            "type": "wait_for",
            "event": "customer_message",
            "timeout": "24h",
            "on_event": "stop",
            "on_timeout": "continue",
        },
        {
            "id": "vip",
            "type": "branch",
            "if": {"field": "customer.segment", "operator": "equals", "value": "vip"},
            "then": [
                {
                    "id": "ping",
                    "type": "action",
                    "action": "notify",
                    "params": {"team": "vip", "message": "VIP {{customer.name}} is waiting"},
                }
            ],
            "else": [],
        },
        {
            "id": "nudge",
            "type": "action",
            "action": "auto_reply",
            "params": {"message": 'Hi {{customer.name | default: "there"}}, still there?'},
        },
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["nudged"]}},
    ],
}


def event(
    n: int,
    conversation: str,
    kind: str = "agent",
    status: str = "pending",
    segment: str = "regular",
    name: str = "Ada",
) -> Event:
    raw: dict[str, Any] = {
        "id": f"evt-{n}",
        "type": "message.created",
        "occurred_at": "2026-11-23T09:00:00Z",
        "conversation": {"id": conversation, "channel": "email", "status": status},
        "customer": {"id": f"u-{conversation}", "name": name, "segment": segment},
        "message": {"id": f"m-{n}", "sender_type": kind, "content": "hello"},
    }
    return Event.model_validate(raw)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def run(definition: dict[str, Any], recorded: list[RecordedEvent], **kwargs: Any) -> Any:
    window = {**WINDOW, **kwargs}
    return backtest(WorkflowDefinitionIn.model_validate(definition), recorded, **window)


def test_wait_for_is_decided_by_the_events_that_followed_on_that_conversation() -> None:
    recorded = [
        RecordedEvent(event(1, "c-answered"), at(0)),
        RecordedEvent(event(2, "c-silent"), at(0)),
        RecordedEvent(event(3, "c-late", segment="vip"), at(0)),
        # c-answered: the customer answers 2 h later -> on_event stop.
        RecordedEvent(event(4, "c-answered", kind="customer"), at(2)),
        # c-late: the answer comes after the 24 h timeout -> the run went on at the deadline.
        RecordedEvent(event(5, "c-late", kind="customer"), at(30)),
        # A customer message on another conversation never ends c-silent's wait.
        RecordedEvent(event(6, "c-other", kind="customer"), at(1)),
    ]
    report = run(FOLLOW_UP, recorded)
    assert report.events_scanned == 6
    assert report.matched == 3  # the three agent messages
    assert report.conversations == 3
    assert report.outcomes.model_dump() == {"would_complete": 2, "would_stop": 1, "would_wait": 0}
    assert report.stopped_by_step == {"reply": 1}
    assert report.actions == {"auto_reply": 2, "add_tag": 2, "notify": 1}
    by_conversation = {sample.conversation_id: sample for sample in report.samples}
    answered = by_conversation["c-answered"]
    assert answered.outcome == "would_stop" and answered.stopped_at == "reply"
    assert answered.waits == ["reply: event: customer message 2h 00m later (evt-4)"]
    assert answered.actions == []
    late = by_conversation["c-late"]
    assert late.outcome == "would_complete"
    assert [a.rendered for a in late.actions] == [
        {"message": "VIP Ada is waiting"},
        {"message": "Hi Ada, still there?"},
        {},
    ]
    assert late.waits == ["reply: timeout: nothing by Tue 24 Nov 09:00 UTC"]


def test_a_wait_past_the_end_of_the_window_is_would_wait() -> None:
    recorded = [RecordedEvent(event(1, "c-1"), at(0))]
    report = run(FOLLOW_UP, recorded, window_to=at(5))
    assert report.outcomes.would_wait == 1
    assert report.waiting_by_step == {"reply": 1}
    assert report.actions == {}
    assert report.samples[0].waiting_at == "reply"


def test_when_the_limit_cut_the_window_what_is_known_ends_at_the_last_event_read() -> None:
    recorded = [
        RecordedEvent(event(1, "c-1"), at(0)),
        RecordedEvent(event(2, "c-2", kind="customer"), at(1)),
    ]
    # The window itself is a week, but the scan stopped at the limit after 1 h: undecided.
    report = run(FOLLOW_UP, recorded, truncated=True)
    assert report.truncated is True
    assert report.outcomes.would_wait == 1


def test_stops_are_counted_by_the_step_that_stops() -> None:
    recorded = [
        RecordedEvent(event(1, "c-1", status="open"), at(0)),
        RecordedEvent(event(2, "c-2", status="open"), at(0.1)),
        RecordedEvent(event(3, "c-3", status="pending"), at(0.2)),
        RecordedEvent(event(4, "c-3", kind="customer"), at(0.5)),
    ]
    report = run(FOLLOW_UP, recorded)
    assert report.outcomes.would_stop == 3
    assert report.stopped_by_step == {"open": 2, "reply": 1}


def test_matches_per_day_lists_every_day_of_the_window() -> None:
    recorded = [
        RecordedEvent(event(1, "c-1"), at(0)),
        RecordedEvent(event(2, "c-2"), at(1)),
        RecordedEvent(event(3, "c-3"), at(49)),
        RecordedEvent(event(4, "c-3", kind="customer"), at(50)),
    ]
    report = run(FOLLOW_UP, recorded)
    days = {d.day: d.matched for d in report.matches_per_day}
    assert len(days) == 7
    assert days[date(2026, 11, 23)] == 2
    assert days[date(2026, 11, 25)] == 1
    assert sum(days.values()) == report.matched == 3


def test_samples_are_one_per_conversation_and_at_most_twenty() -> None:
    recorded = [RecordedEvent(event(n, f"c-{n % 30}"), at(n / 100)) for n in range(60)]
    report = run(FOLLOW_UP, recorded, window_to=at(200))
    assert report.matched == 60
    assert len(report.samples) == 20
    assert len({s.conversation_id for s in report.samples}) == 20


def test_business_time_wait_uses_the_schedule_from_the_events_arrival() -> None:
    schedule = Schedule.model_validate(
        {
            "name": "Office",
            "timezone": "UTC",
            "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
    definition = {
        "name": "After hours",
        "status": "draft",
        "schedule": "office",
        "trigger": {"type": "new_message", "sender_types": ["customer"]},
        "steps": [
            {"id": "open", "type": "wait", "until": "open"},
            {
                "id": "hello",
                "type": "action",
                "action": "auto_reply",
                "params": {"message": "We are open"},
            },
        ],
    }
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    recorded = [RecordedEvent(event(1, "c-1", kind="customer"), friday_night)]
    clock = BusinessClock(schedule)
    # Monday 09:00 is after the window's end: still waiting.
    waiting = run(definition, recorded, window_to=datetime(2026, 11, 29, tzinfo=UTC), clock=clock)
    assert waiting.outcomes.would_wait == 1
    assert waiting.samples[0].waits == ["open: until Mon 30 Nov 09:00 UTC"]
    done = run(definition, recorded, window_to=datetime(2026, 12, 1, tzinfo=UTC), clock=clock)
    assert done.outcomes.would_complete == 1
    assert done.actions == {"auto_reply": 1}


def test_sla_and_idle_workflows_are_refused_at_the_trigger_type() -> None:
    definition = {
        "name": "SLA",
        "status": "draft",
        "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "30m"},
        "steps": [
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["late"]}}
        ],
    }
    with pytest.raises(ValidationError) as caught:
        run(definition, [])
    assert caught.value.errors()[0]["loc"] == ("trigger", "type")


def test_the_loop_guard_applies_as_in_ingestion() -> None:
    deep = event(1, "c-1").model_copy(update={"causal_chain": [f"run:{n}" for n in range(6)]})
    report = run(FOLLOW_UP, [RecordedEvent(deep, at(0))])
    assert report.matched == 0
