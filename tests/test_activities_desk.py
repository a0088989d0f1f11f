"""DeskActivities under temporalio.testing.ActivityEnvironment, against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.desk import DeskActivities
from definitions.models import ConditionStep
from definitions.runs import ERR_NOT_FOUND, ActionResult, ConditionInput, GuardedActionInput
from desk.mirror import mirror_event
from store.db import session_scope
from store.models import ActionEffectRow, MessageRow
from tests.desk_builders import action_input, make_event, seed_directory

pytest_plugins = ["tests.db_fixtures"]

_CONDITION: TypeAdapter[ConditionStep] = TypeAdapter(ConditionStep)


@pytest.fixture
def desk(desk_engine: Engine) -> Engine:
    seed_directory(desk_engine)
    with session_scope(desk_engine) as session:
        mirror_event(session, make_event("evt-1", message={"content": "This is awful, I am angry"}))
    return desk_engine


def _condition(step: dict[str, Any], event_id: str = "evt-1", **event: Any) -> ConditionInput:
    return ConditionInput(
        run_id="run:d:evt-1",
        step=_CONDITION.validate_python({"id": "c", "type": "condition", **step}),
        event=make_event(event_id, **event),
    )


async def test_condition_reads_fresh_state_not_the_event_snapshot(desk: Engine) -> None:
    activities = DeskActivities(desk)
    env = ActivityEnvironment()
    is_tagged = {"field": "conversation.tags", "operator": "contains", "value": "vip-handled"}
    outcome = await env.run(activities.evaluate_condition, _condition(is_tagged))
    assert outcome.result is False
    await env.run(
        activities.perform_action,
        action_input(
            {"id": "t", "action": "add_tag", "params": {"tags": ["vip-handled"]}},
            make_event("evt-1"),
        ),
    )
    # The event still says tags=[]; the condition sees the tag the previous step added.
    outcome = await env.run(activities.evaluate_condition, _condition(is_tagged))
    assert outcome.result is True
    assert outcome.rules[0].actual == ["vip-handled"]


async def test_condition_on_message_sentiment_computed_when_absent(desk: Engine) -> None:
    outcome = await ActivityEnvironment().run(
        DeskActivities(desk).evaluate_condition,
        _condition(
            {
                "all": [
                    {"field": "message.sentiment", "operator": "equals", "value": "negative"},
                    {"field": "customer.segment", "operator": "equals", "value": "vip"},
                    {"field": "conversation.message_count", "operator": "equals", "value": 1},
                ]
            },
            message={"content": "This is awful, I am angry"},
        ),
    )
    assert outcome.result is True, outcome


async def test_condition_for_a_conversation_never_mirrored_uses_the_event(desk: Engine) -> None:
    outcome = await ActivityEnvironment().run(
        DeskActivities(desk).evaluate_condition,
        _condition(
            {"field": "conversation.channel", "operator": "equals", "value": "sms"},
            "evt-z",
            conversation={"id": "c-unknown", "channel": "sms"},
        ),
    )
    assert outcome.result is True


async def test_waiting_minutes_is_measured_when_the_step_runs(desk_engine: Engine) -> None:
    asked = datetime.now(UTC) - timedelta(minutes=90)
    with session_scope(desk_engine) as session:
        mirror_event(session, make_event("evt-w", occurred_at=asked))
    outcome = await ActivityEnvironment().run(
        DeskActivities(desk_engine).evaluate_condition,
        _condition(
            {"field": "conversation.waiting_minutes", "operator": "greater_than", "value": 60},
            "evt-w",
        ),
    )
    assert outcome.result is True
    assert 89 <= outcome.rules[0].actual < 95


async def test_perform_action_twice_is_one_effect(desk: Engine) -> None:
    activities = DeskActivities(desk)
    env = ActivityEnvironment()
    args = action_input(
        {"id": "hi", "action": "auto_reply", "params": {"message": "Hello"}}, make_event("evt-1")
    )
    first = await env.run(activities.perform_action, args)
    second = await env.run(activities.perform_action, args)
    assert (first.replayed, second.replayed) == (False, True)
    assert first.output == second.output
    with Session(desk) as session:
        assert (
            len(
                session.exec(select(MessageRow).where(MessageRow.sender_type == "automation")).all()
            )
            == 1
        )


async def test_a_crash_after_the_commit_is_retried_without_a_second_effect(desk: Engine) -> None:
    calls: list[ActionResult] = []

    def crash_once(result: ActionResult) -> None:
        calls.append(result)
        if len(calls) == 1:
            raise ConnectionResetError("lost the worker after the commit")

    activities = DeskActivities(desk, after_commit=crash_once)
    args = action_input(
        {"id": "t", "action": "create_ticket", "params": {"title": "T"}}, make_event("evt-1")
    )
    with pytest.raises(ConnectionResetError):
        await ActivityEnvironment().run(activities.perform_action, args)  # attempt 1
    retried = await ActivityEnvironment().run(activities.perform_action, args)  # attempt 2
    assert retried.replayed and retried.output == calls[0].output
    with Session(desk) as session:
        assert len(session.exec(select(ActionEffectRow)).all()) == 1


async def test_unknown_team_is_a_non_retryable_not_found(desk: Engine) -> None:
    args = action_input(
        {"id": "r", "action": "route", "params": {"team": "vip-support-2"}}, make_event("evt-1")
    )
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(DeskActivities(desk).perform_action, args)
    assert caught.value.type == ERR_NOT_FOUND
    assert caught.value.non_retryable
    assert caught.value.message == (
        "team 'vip-support-2' does not exist — create it with PUT /teams/vip-support-2"
    )


async def test_no_delivery_when_webhooks_are_off(desk: Engine) -> None:
    args = action_input(
        {"id": "t", "action": "add_tag", "params": {"tags": ["a"]}}, make_event("evt-1")
    )
    on = await ActivityEnvironment().run(DeskActivities(desk).perform_action, args)
    off = await ActivityEnvironment().run(
        DeskActivities(desk, deliver_webhooks=False).perform_action, args
    )
    assert on.delivery is not None and on.delivery.idempotency_key == "run:def-1:evt-1:t"
    assert off.delivery is None and off.output == on.output


def _guarded(
    condition: dict[str, Any], action: dict[str, Any], *then: dict[str, Any]
) -> GuardedActionInput:
    return GuardedActionInput(
        condition=_condition(condition),
        action=action_input(action, make_event("evt-1")),
        then=[action_input(step, make_event("evt-1")) for step in then],
    )


_NOT_TAGGED = {"field": "conversation.tags", "operator": "not_contains", "value": "seen"}
_TAG_SEEN = {"id": "tag", "action": "add_tag", "params": {"tags": ["seen"]}}


async def test_a_guarded_action_runs_only_when_its_condition_holds(desk: Engine) -> None:
    activities = DeskActivities(desk)
    env = ActivityEnvironment()
    vip = {"field": "customer.segment", "operator": "equals", "value": "nobody"}
    skipped = await env.run(activities.perform_guarded_action, _guarded(vip, _TAG_SEEN))
    assert skipped.condition.result is False and skipped.action is None
    done = await env.run(activities.perform_guarded_action, _guarded(_NOT_TAGGED, _TAG_SEEN))
    assert done.condition.result is True
    assert done.action is not None and done.action.output == {"tags": ["seen"]}
    with Session(desk) as session:
        assert len(session.exec(select(ActionEffectRow)).all()) == 1


async def test_a_guarded_action_applied_by_a_lost_attempt_is_its_answer(desk: Engine) -> None:
    """The attempt's result was lost after its commit (a crash): run again, the condition is
    false now because of the action itself; the ledger says it held."""
    activities = DeskActivities(desk)
    env = ActivityEnvironment()
    first = await env.run(activities.perform_guarded_action, _guarded(_NOT_TAGGED, _TAG_SEEN))
    again = await env.run(activities.perform_guarded_action, _guarded(_NOT_TAGGED, _TAG_SEEN))
    assert again.condition.result is False  # as it reads now
    assert again.action is not None and again.action.replayed
    assert first.action is not None and again.action.output == first.action.output


_TICKET = {"id": "ticket", "action": "create_ticket", "params": {"title": "Angry customer"}}
_NOTE_TICKET = {
    "id": "note",
    "action": "add_note",
    "params": {"note": "{{steps.ticket.ticket_id}}"},
}
_RESOLVE = {"id": "resolve", "action": "change_status", "params": {"status": "resolved"}}


def _automation_rows(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(row.step_id for row in session.exec(select(ActionEffectRow)).all())


async def test_the_actions_a_condition_guards_run_in_order_each_seeing_the_ones_before(
    desk: Engine,
) -> None:
    activities = DeskActivities(desk, deliver_webhooks=False)
    done = await ActivityEnvironment().run(
        activities.perform_guarded_action, _guarded(_NOT_TAGGED, _TAG_SEEN, _TICKET, _NOTE_TICKET)
    )
    assert done.condition.result is True and done.action is not None
    ticket, note = done.then
    # The note's template read the ticket step's output, made in the same call.
    assert note.output["note"] == ticket.output["ticket_id"]
    assert _automation_rows(desk) == ["note", "tag", "ticket"]


async def test_a_guarded_call_stops_after_an_action_the_run_must_follow_up(desk: Engine) -> None:
    """A status change emits an event, which the run dispatches before the next step runs; a
    webhook delivery likewise, when the worker delivers them."""
    env = ActivityEnvironment()
    quiet = DeskActivities(desk, deliver_webhooks=False)
    done = await env.run(
        quiet.perform_guarded_action, _guarded(_NOT_TAGGED, _TAG_SEEN, _RESOLVE, _TICKET)
    )
    assert [r.output.get("status") for r in done.then] == ["resolved"]  # not the ticket
    assert done.then[0].emitted_events
    assert _automation_rows(desk) == ["resolve", "tag"]
    delivering = DeskActivities(desk, deliver_webhooks=True)
    tagged = {"field": "conversation.tags", "operator": "contains", "value": "seen"}
    other_run = GuardedActionInput(
        condition=_condition(tagged),
        action=action_input(_TAG_SEEN, make_event("evt-1"), scope="run:def-2:evt-1"),
        then=[action_input(_TICKET, make_event("evt-1"), scope="run:def-2:evt-1")],
    )
    again = await env.run(delivering.perform_guarded_action, other_run)
    assert again.action is not None and again.action.delivery is not None and again.then == []


async def test_actions_a_lost_guarded_call_applied_are_its_answer(desk: Engine) -> None:
    activities = DeskActivities(desk, deliver_webhooks=False)
    env = ActivityEnvironment()
    args = _guarded(_NOT_TAGGED, _TAG_SEEN, _TICKET, _NOTE_TICKET)
    first = await env.run(activities.perform_guarded_action, args)
    again = await env.run(activities.perform_guarded_action, args)
    assert again.condition.result is False  # the tag it added makes it false now
    assert again.action is not None and again.action.replayed
    assert [r.output for r in again.then] == [r.output for r in first.then]
    assert all(r.replayed for r in again.then)
    assert _automation_rows(desk) == ["note", "tag", "ticket"]


async def test_a_guarded_call_that_fails_on_a_later_action_writes_nothing(desk: Engine) -> None:
    activities = DeskActivities(desk, deliver_webhooks=False)
    unknown_team = {"id": "route", "action": "route", "params": {"team": "nope"}}
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(
            activities.perform_guarded_action, _guarded(_NOT_TAGGED, _TAG_SEEN, unknown_team)
        )
    assert failed.value.type == ERR_NOT_FOUND
    assert _automation_rows(desk) == []  # the tag was rolled back with it


async def test_a_guarded_call_past_an_action_already_applied_goes_one_at_a_time(
    desk: Engine,
) -> None:
    """The ticket took effect in an earlier attempt (its ledger row collides): the transaction
    rolls back, the ticket answers with its stored result and the note, applied after it, still
    reads the ticket's output."""
    activities = DeskActivities(desk, deliver_webhooks=False)
    env = ActivityEnvironment()
    first = await env.run(activities.perform_action, action_input(_TICKET, make_event("evt-1")))
    always = {"field": "conversation.tags", "operator": "not_contains", "value": "never"}
    done = await env.run(activities.perform_guarded_action, _guarded(always, _TICKET, _NOTE_TICKET))
    assert done.action is not None and done.action.replayed
    [note] = done.then
    assert not note.replayed and note.output["note"] == first.output["ticket_id"]
    assert _automation_rows(desk) == ["note", "ticket"]
