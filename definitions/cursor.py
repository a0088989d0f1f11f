"""The step cursor: which step comes next, decided the same way for a real run and a dry run.

Pure. `WorkflowRun` (worker/run_workflow.py) and the dry run (definitions/dry_run.py) both walk a
definition with it: they run the step at the cursor's position, then hand the step's result to
`after()`, which says where to go next, which steps are passed over and why, and how the run ends.
So stop / continue / skip_next are written once, and a test of the language is a test of both.

A position is a path of indices into nested step lists: `(2,)` is the third top-level step,
`(2, 0, 1)` the second step of its `then` list and `(2, 1, 0)` the first of its `else` list (after
each branch index, 0 = then, 1 = else). A branch's chosen list is entered; when a nested list ends,
the run goes on with the step after the branch. A path is a plain tuple of ints: it serialises as
a JSON list and can be carried across continue-as-new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, assert_never

from definitions.models import BranchStep, ConditionStep, Step, StopStep, WaitForStep, WaitOutcome

#: How a run ends (or, while it is in flight, "running"). The one definition of the word: the
#: interpreter, the dry run and the run models (definitions/runs.py) all use it.
Outcome = Literal["running", "completed", "stopped", "failed"]

#: A path of indices into nested step lists.
Position = tuple[int, ...]

#: Action steps run with the condition guarding them in one call (`StepCursor.guarded_actions`):
#: a bound, so that call stays well inside one step attempt's timeout.
MAX_GUARDED_ACTIONS = 8


@dataclass(frozen=True)
class Skipped:
    """A step passed over, and the condition step whose `skip_next` passed over it."""

    step: Step
    by: str


@dataclass(frozen=True)
class Move:
    """The cursor's decision after a step: where to go next (None: the run ends), the steps
    passed over on the way, and the outcome (`running` while there is a next step)."""

    next: Position | None
    outcome: Outcome
    skipped: list[Skipped] = field(default_factory=list)
    stopped_at: str | None = None


THEN, ELSE = 0, 1


class StepCursor:
    """Walks the (nested) steps of one definition version."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)

    def first(self) -> Position | None:
        """Where a run starts (None: a definition without steps completes at once)."""
        return (0,) if self.steps else None

    def _list(self, parent: Position) -> list[Step]:
        """The step list a position's last index points into (`parent` is the path without it)."""
        steps = self.steps
        for at in range(0, len(parent), 2):
            branch = steps[parent[at]]
            assert isinstance(branch, BranchStep), f"no branch at {parent[: at + 1]}"
            steps = branch.then if parent[at + 1] == THEN else branch.else_
        return steps

    def step_at(self, position: Position) -> Step:
        return self._list(position[:-1])[position[-1]]

    def label(self, position: Position) -> str:
        """Where the run is, for people: `step 2/5`, `step 3/5 › then 1/2`."""
        parts = [f"step {position[0] + 1}/{len(self.steps)}"]
        for at in range(1, len(position), 2):
            side = "then" if position[at] == THEN else "else"
            size = len(self._list(position[: at + 1]))
            parts.append(f"{side} {position[at + 1] + 1}/{size}")
        return " › ".join(parts)

    def where(self, position: Position) -> str | None:
        """The list a nested step sits in, `<branch id>.then` / `<branch id>.else`; None at the
        top level."""
        if len(position) < 3:
            return None
        branch = self.step_at(position[:-2])
        return f"{branch.id}.{'then' if position[-2] == THEN else 'else'}"

    def rest(self, position: Position) -> list[Step]:
        """The steps after `position` in run order that a stop there leaves unrun: the rest of
        its list, then the rest of each enclosing list (nested steps not included)."""
        rest: list[Step] = []
        while position:
            rest.extend(self._list(position[:-1])[position[-1] + 1 :])
            position = position[:-2]
        return rest

    def after(
        self,
        position: Position,
        passed: bool | None = None,
        outcome: WaitOutcome | None = None,
    ) -> Move:
        """What comes after the step at `position`. `passed` is a condition's or a branch's
        result, `outcome` a wait_for's; the other steps have none."""
        step = self.step_at(position)
        if isinstance(step, ConditionStep | BranchStep) and passed is None:
            raise ValueError(f"{step.type} step {step.id!r} needs its result to move on")
        if isinstance(step, WaitForStep) and outcome is None:
            raise ValueError(f"wait_for step {step.id!r} needs its outcome to move on")
        if isinstance(step, StopStep):
            return Move(next=None, outcome="stopped", stopped_at=step.id)
        if isinstance(step, WaitForStep):
            then = step.on_event if outcome == "event" else step.on_timeout
            if then == "stop":
                return Move(next=None, outcome="stopped", stopped_at=step.id)
        if isinstance(step, BranchStep):
            chosen = step.then if passed else step.else_
            if chosen:
                return Move(next=(*position, THEN if passed else ELSE, 0), outcome="running")
        skipped: list[Skipped] = []
        following = self._following(position)
        if isinstance(step, ConditionStep) and not passed:
            if step.on_false == "stop":
                return Move(next=None, outcome="stopped", stopped_at=step.id)
            if step.on_false == "skip_next":
                if following is not None:
                    skipped.append(Skipped(step=self.step_at(following), by=step.id))
                    following = self._following(following)
            elif step.on_false != "continue":
                assert_never(step.on_false)
        if following is None:
            return Move(next=None, outcome="completed", skipped=skipped)
        return Move(next=following, outcome="running", skipped=skipped)

    def guarded_actions(self, position: Position) -> list[Position]:
        """Where the action steps are that the condition at `position` guards: the step right
        after it, when it is an action and a false condition never runs it (`on_false` stop or
        skip_next), and the actions that follow it without another kind of step in between (at
        most `MAX_GUARDED_ACTIONS` in all). The interpreter runs them with the condition in one
        local activity. Empty otherwise."""
        step = self.step_at(position)
        if not isinstance(step, ConditionStep) or step.on_false == "continue":
            return []
        guarded: list[Position] = []
        following = self._following(position)
        while (
            following is not None
            and self.step_at(following).type == "action"
            and len(guarded) < MAX_GUARDED_ACTIONS
        ):
            guarded.append(following)
            following = self._following(following)
        return guarded

    def _following(self, position: Position) -> Position | None:
        """The step after `position` (and after everything nested in it), in run order."""
        while position:
            index = position[-1]
            if index + 1 < len(self._list(position[:-1])):
                return (*position[:-1], index + 1)
            position = position[:-2]  # the end of a then/else list: after its branch
        return None
