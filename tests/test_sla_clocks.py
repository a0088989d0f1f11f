"""The pure SLA clock state machine (definitions/sla.py): which events start and stop clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from definitions.sla import (
    EVENT_TIME_TOLERANCE,
    LOOKUP_MAX_AGE,
    TRACKER_WAKE_MARGIN,
    SlaClocks,
    SlaDefinition,
    SlaDefinitions,
    breach_run_id,
    clock_start_time,
    timer_summary,
    tracker_threshold_seconds,
    tracker_wake_at,
)
from tests.sla_support import event, sla_definition

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _definition(definition_id: str, sla_type: str, threshold: str) -> SlaDefinition:
    body = sla_definition(definition_id, sla_type, threshold)
    return SlaDefinition(
        id=definition_id,
        version=1,
        definition=body,
        sla_type=sla_type,  # type: ignore[arg-type]
        threshold=threshold,
        threshold_seconds=int(body.trigger.threshold_seconds),  # type: ignore[union-attr]
    )


def _clocks() -> SlaClocks:
    clocks = SlaClocks(conversation_id="c-1")
    clocks.set_definitions(
        [
            _definition("fr", "first_response", "30m"),
            _definition("re", "reply", "10m"),
            _definition("res", "resolution", "4h"),
        ]
    )
    return clocks


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _feed(clocks: SlaClocks, *events: tuple[str, str, float, dict[str, str]]) -> None:
    for event_id, kind, minutes, options in events:
        clocks.apply(event(event_id, kind, "c-1", _at(minutes), **options), _at(minutes))


def test_creation_starts_first_response_and_resolution() -> None:
    clocks = _clocks()
    applied = clocks.apply(event("e1", "created", "c-1", T0), T0)
    assert applied.started == ["first_response", "resolution"]
    assert [(d.clock, d.due_at) for d in clocks.deadlines()] == [
        ("first_response", _at(30)),
        ("resolution", _at(240)),
    ]


def test_agent_and_ai_messages_satisfy_first_response_and_reply_but_automation_does_not() -> None:
    clocks = _clocks()
    _feed(clocks, ("e1", "created", 0, {}), ("e2", "message", 1, {"sender": "customer"}))
    assert set(clocks.running) == {"first_response", "reply", "resolution"}
    applied = clocks.apply(event("e3", "message", "c-1", _at(2), sender="automation"), _at(2))
    assert applied.satisfied == [] and set(clocks.running) == {
        "first_response",
        "reply",
        "resolution",
    }
    applied = clocks.apply(event("e4", "message", "c-1", _at(3), sender="ai"), _at(3))
    assert applied.satisfied == ["first_response", "reply"]
    assert set(clocks.running) == {"resolution"}
    # first_response never starts again, even if a creation event comes again (new id)
    _feed(clocks, ("e5", "created", 4, {}))
    assert "first_response" not in clocks.running


def test_reply_clock_is_not_restarted_while_running_and_restarts_after_an_answer() -> None:
    clocks = _clocks()
    _feed(clocks, ("e1", "message", 0, {"sender": "customer"}))
    _feed(clocks, ("e2", "message", 5, {"sender": "customer"}))
    assert clocks.running["reply"].started_at == T0 and clocks.running["reply"].number == 1
    _feed(
        clocks,
        ("e3", "message", 6, {"sender": "agent"}),
        ("e4", "message", 7, {"sender": "customer"}),
    )
    assert clocks.running["reply"].started_at == _at(7) and clocks.running["reply"].number == 2
    # a tracker that never saw the creation runs reply clocks only
    assert "first_response" not in clocks.running and "resolution" not in clocks.running


def test_resolving_stops_every_clock_and_finishes_the_tracker() -> None:
    clocks = _clocks()
    _feed(clocks, ("e1", "created", 0, {}), ("e2", "message", 1, {"sender": "customer"}))
    applied = clocks.apply(
        event("e3", "status", "c-1", _at(2), from_status="open", to_status="resolved"), _at(2)
    )
    assert sorted(applied.satisfied) == ["first_response", "reply", "resolution"]
    assert clocks.finished and clocks.deadlines() == []


def test_pending_does_not_pause_and_reopening_restarts_resolution_only() -> None:
    clocks = _clocks()
    _feed(clocks, ("e1", "created", 0, {}))
    _feed(clocks, ("e2", "status", 1, {"from_status": "open", "to_status": "pending"}))
    assert set(clocks.running) == {"first_response", "resolution"}
    _feed(clocks, ("e3", "status", 2, {"from_status": "pending", "to_status": "closed"}))
    assert clocks.finished
    _feed(clocks, ("e4", "status", 3, {"from_status": "closed", "to_status": "open"}))
    assert set(clocks.running) == {"resolution"}
    assert clocks.running["resolution"].number == 2 and not clocks.finished


def test_a_customer_message_on_a_resolved_conversation_starts_nothing() -> None:
    clocks = _clocks()
    _feed(clocks, ("e1", "message", 0, {"sender": "customer", "status": "resolved"}))
    assert clocks.running == {} and clocks.finished


def test_duplicate_events_are_ignored() -> None:
    clocks = _clocks()
    _feed(
        clocks,
        ("e1", "message", 0, {"sender": "customer"}),
        ("e2", "message", 1, {"sender": "agent"}),
    )
    applied = clocks.apply(event("e1", "message", "c-1", _at(2), sender="customer"), _at(2))
    assert applied.duplicate and clocks.running == {} and clocks.events_applied == 2


def test_each_definition_fires_once_per_clock_start() -> None:
    clocks = _clocks()
    clocks.set_definitions(clocks.definitions + [_definition("re2", "reply", "20m")])
    _feed(clocks, ("e1", "message", 0, {"sender": "customer"}))
    due = clocks.due(_at(25))
    assert [d.definition.id for d in due] == ["re", "re2"]
    for deadline in due:
        clocks.mark_fired(deadline, breach_run_id(deadline.definition.id, "c-1", "reply", 1), 1)
    assert clocks.due(_at(60)) == []
    _feed(
        clocks,
        ("e2", "message", 61, {"sender": "agent"}),
        ("e3", "message", 62, {"sender": "customer"}),
    )
    assert [d.definition.id for d in clocks.due(_at(100))] == ["re", "re2"]


def test_refreshed_thresholds_apply_to_clocks_not_fired_yet() -> None:
    clocks = _clocks()
    _feed(clocks, ("e1", "created", 0, {}))
    clocks.update_definition(None, "fr")  # deactivated
    assert [d.clock for d in clocks.deadlines()] == ["resolution"]
    clocks.update_definition(_definition("fr", "first_response", "5m"), "fr")  # late activation
    assert clocks.deadlines()[0].due_at == _at(5)


def test_state_survives_a_json_round_trip() -> None:
    clocks = _clocks()
    _feed(clocks, ("e1", "created", 0, {}), ("e2", "message", 1, {"sender": "customer"}))
    clocks.mark_fired(clocks.due(_at(11))[0], "run:re:sla:c-1:reply:1", 1)
    import json

    again = SlaClocks.model_validate(json.loads(json.dumps(clocks.model_dump(mode="json"))))
    assert again == clocks


def test_clock_start_time_trusts_plausible_event_times_only() -> None:
    assert clock_start_time(_at(-1), T0) == _at(-1)
    assert clock_start_time(T0 - EVENT_TIME_TOLERANCE - timedelta(seconds=1), T0) == T0
    assert clock_start_time(_at(1), T0) == T0  # a help desk clock ahead of ours


def test_visibility_texts() -> None:
    assert timer_summary("first_response", 1800) == "first_response 30m"
    assert timer_summary("reply", 90) == "reply 90s"
    clocks = _clocks()
    _feed(clocks, ("e1", "created", 0, {}))
    details = clocks.details(T0)
    assert "`c-1`" in details and "**first_response**" in details
    assert "deadline 2026-11-27T10:30:00+00:00" in details


def test_due_before_an_event_excludes_a_deadline_met_exactly() -> None:
    clocks = _clocks()
    clocks.apply(event("e1", "created", "c-1", T0), T0)
    assert clocks.due_before(_at(30)) == []  # an answer at the deadline is in time
    assert [d.definition.id for d in clocks.due_before(_at(30.01))] == ["fr"]


def test_a_breach_that_failed_is_recorded_apart_and_never_due_again() -> None:
    clocks = _clocks()
    clocks.apply(event("e1", "created", "c-1", T0), T0)
    (deadline,) = clocks.due(_at(31))
    clocks.mark_failed(deadline, "no free breach run id")
    assert clocks.running["first_response"].failed == {"fr": "no free breach run id"}
    assert clocks.running["first_response"].fired == {}
    assert clocks.due(_at(60)) == [] and clocks.breaches_started == 0
    assert "breach not started: fr (no free breach run id)" in clocks.details(_at(60))


def test_state_carried_by_older_trackers_moves_failures_out_of_the_run_ids() -> None:
    clocks = _clocks()
    clocks.apply(event("e1", "created", "c-1", T0), T0)
    state = clocks.model_dump(mode="json")
    state["running"]["first_response"]["fired"] = {"fr": "failed: boom", "x": "run:x"}
    carried = SlaClocks.model_validate(state)
    assert carried.running["first_response"].fired == {"x": "run:x"}
    assert carried.running["first_response"].failed == {"fr": "boom"}


def test_a_newer_definitions_version_makes_the_thresholds_stale() -> None:
    clocks = _clocks()
    clocks.apply(event("e1", "created", "c-1", T0), T0)
    clocks.looked_up(SlaDefinitions(definitions=clocks.definitions, version=3), checked_at=T0)
    assert not clocks.should_look_up(_at(1))
    clocks.version_seen(3)
    clocks.version_seen(None)  # an activity of an older worker says nothing
    assert not clocks.should_look_up(_at(1))
    clocks.version_seen(4)
    assert clocks.should_look_up(_at(1))
    clocks.looked_up(SlaDefinitions(version=4, unchanged=True), checked_at=_at(1))
    assert len(clocks.definitions) == 3 and clocks.definitions_version == 4  # kept


def test_events_check_the_version_at_most_every_lookup_max_age() -> None:
    clocks = _clocks()
    clocks.apply(event("e1", "created", "c-1", T0), T0)
    clocks.looked_up(SlaDefinitions(definitions=clocks.definitions, version=1), checked_at=T0)
    clocks.woken_by_event()
    assert not clocks.should_look_up(T0 + LOOKUP_MAX_AGE / 2)
    clocks.woken_by_event()
    assert clocks.should_look_up(T0 + LOOKUP_MAX_AGE)


def test_workflow_code_has_no_bare_assert() -> None:
    """An AssertionError fails the workflow task and the tracker hangs: code the tracker runs
    handles the impossible case instead."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for name in ("worker/sla_workflow.py", "definitions/sla.py"):
        tree = ast.parse((root / name).read_text())
        asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert asserts == [], f"{name}: assert on lines {asserts}"


def test_a_tracker_wakes_a_margin_before_the_earliest_deadline_its_first_event_can_have() -> None:
    accepted = T0 + timedelta(seconds=3)
    assert tracker_wake_at(T0, accepted, 8 * 3600) == T0 + timedelta(hours=8) - TRACKER_WAKE_MARGIN
    # The clock starts when the event was accepted when its occurred_at is not plausible.
    future = T0 + timedelta(hours=1)
    assert tracker_wake_at(future, accepted, 600) == accepted + timedelta(seconds=600) - (
        TRACKER_WAKE_MARGIN
    )
    stale = T0 - EVENT_TIME_TOLERANCE - timedelta(seconds=1)
    assert tracker_wake_at(stale, accepted, 600) == accepted + timedelta(seconds=540)
    # No active definition: the tracker runs at once.
    assert tracker_wake_at(T0, accepted, None) is None


def test_the_tracker_threshold_of_a_definition() -> None:
    from definitions.models import WorkflowDefinitionIn

    steps = [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}]

    def threshold(trigger: dict[str, object]) -> int | None:
        body = {"name": "d", "trigger": trigger, "steps": steps}
        return tracker_threshold_seconds(WorkflowDefinitionIn.model_validate(body))

    sla = {"type": "sla_breach", "sla_type": "reply", "threshold": "30m"}
    idle = {"type": "conversation_idle", "waiting_on": "customer", "idle_for": "2h"}
    assert threshold(sla) == 1800
    assert threshold(idle) == 7200
    assert threshold({"type": "new_conversation"}) is None
