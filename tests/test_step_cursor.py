"""The step cursor decides what comes next for both the interpreter and the dry run."""

from typing import Any

import pytest

from definitions.cursor import MAX_GUARDED_ACTIONS, StepCursor
from definitions.models import WorkflowDefinitionIn


def cursor(*on_false: str) -> StepCursor:
    """A condition per `on_false`, each followed by an action."""
    steps: list[dict[str, Any]] = []
    for index, rule in enumerate(on_false):
        steps.append(
            {
                "id": f"c{index}",
                "type": "condition",
                "field": "customer.segment",
                "operator": "equals",
                "value": "vip",
                "on_false": rule,
            }
        )
        steps.append(
            {"id": f"a{index}", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}
        )
    definition = WorkflowDefinitionIn.model_validate(
        {"name": "t", "trigger": {"type": "new_conversation"}, "steps": steps}
    )
    return StepCursor(definition.steps)


def test_a_true_condition_and_an_action_go_on_to_the_next_step() -> None:
    walk = cursor("stop")
    assert walk.first() == (0,)
    move = walk.after((0,), True)
    assert (move.next, move.outcome, move.skipped) == ((1,), "running", [])
    end = walk.after((1,))
    assert (end.next, end.outcome) == (None, "completed")


def test_stop_ends_the_run_at_the_condition() -> None:
    walk = cursor("stop", "stop")
    move = walk.after((0,), False)
    assert (move.next, move.outcome, move.stopped_at) == (None, "stopped", "c0")
    assert [step.id for step in walk.rest((0,))] == ["a0", "c1", "a1"]


def test_continue_goes_on_and_skip_next_passes_over_one_step() -> None:
    walk = cursor("continue", "skip_next")
    assert walk.after((0,), False).next == (1,)
    move = walk.after((2,), False)
    assert [(s.step.id, s.by) for s in move.skipped] == [("a1", "c1")]
    assert (move.next, move.outcome) == (None, "completed")


def test_skip_next_on_the_last_step_skips_nothing() -> None:
    walk = cursor("skip_next")
    steps = [walk.step_at((0,))]
    last = StepCursor(steps)
    move = last.after((0,), False)
    assert (move.next, move.outcome, move.skipped) == (None, "completed", [])


def test_a_condition_needs_its_result_and_an_empty_definition_has_no_first_step() -> None:
    with pytest.raises(ValueError, match="needs its result"):
        cursor("stop").after((0,))
    assert StepCursor([]).first() is None
    assert cursor("stop", "stop").label((2,)) == "step 3/4"


def test_a_condition_guards_the_action_after_it_unless_a_false_one_runs_it_too() -> None:
    walk = cursor("stop", "skip_next", "continue")
    assert walk.guarded_actions((0,)) == [(1,)]  # false: the run stops
    assert walk.guarded_actions((2,)) == [(3,)]  # false: the action is skipped
    assert walk.guarded_actions((4,)) == []  # false: the action runs anyway
    assert walk.guarded_actions((1,)) == []  # an action guards nothing


def _condition_then(actions: int, *, in_branch: bool = False) -> StepCursor:
    """A condition (on_false stop) and `actions` add_tag steps after it, then a wait; with
    `in_branch`, the condition and all but the first action end a branch's then list."""
    condition = {
        "id": "c",
        "type": "condition",
        "field": "customer.segment",
        "operator": "equals",
        "value": "vip",
        "on_false": "stop",
    }
    tags = [
        {"id": f"a{i}", "type": "action", "action": "add_tag", "params": {"tags": [f"t{i}"]}}
        for i in range(actions)
    ]
    wait = {"id": "w", "type": "wait", "for": "1h"}
    steps: list[dict[str, Any]] = [condition, *tags, wait]
    if in_branch:
        branch = {
            "id": "b",
            "type": "branch",
            "if": {"field": "customer.segment", "operator": "equals", "value": "vip"},
            "then": [condition, tags[0]],
        }
        steps = [branch, *tags[1:], wait]
    definition = WorkflowDefinitionIn.model_validate(
        {"name": "t", "trigger": {"type": "new_conversation"}, "steps": steps}
    )
    return StepCursor(definition.steps)


def test_a_condition_guards_the_actions_that_follow_it_up_to_another_kind_of_step() -> None:
    assert _condition_then(3).guarded_actions((0,)) == [(1,), (2,), (3,)]  # not the wait
    # In run order: out of the branch's then list, on with the steps after the branch.
    walk = _condition_then(3, in_branch=True)
    assert walk.guarded_actions((0, 0, 0)) == [(0, 0, 1), (1,), (2,)]
    # Bounded, so the one call stays short; the rest run one at a time.
    many = _condition_then(MAX_GUARDED_ACTIONS + 2)
    assert many.guarded_actions((0,)) == [(i,) for i in range(1, MAX_GUARDED_ACTIONS + 1)]


def test_a_condition_before_a_non_action_or_at_the_end_guards_nothing() -> None:
    definition = WorkflowDefinitionIn.model_validate(
        {
            "name": "t",
            "trigger": {"type": "new_conversation"},
            "steps": [
                {
                    "id": "c1",
                    "type": "condition",
                    "field": "customer.segment",
                    "operator": "equals",
                    "value": "vip",
                    "on_false": "stop",
                },
                {"id": "wait", "type": "wait", "for": "1h"},
                {
                    "id": "c2",
                    "type": "condition",
                    "field": "customer.segment",
                    "operator": "equals",
                    "value": "vip",
                    "on_false": "stop",
                },
            ],
        }
    )
    walk = StepCursor(definition.steps)
    assert walk.guarded_actions((0,)) == []
    assert walk.guarded_actions((2,)) == []
