"""The step cursor: which step comes next, decided the same way for a real run and a dry run.

Pure. `WorkflowRun` (worker/run_workflow.py) and the dry run (definitions/dry_run.py) both walk a
definition with it: they run the step at the cursor's position, then hand the step's result to
`after()`, which says where to go next, which steps are passed over and why, and how the run ends.
So stop / continue / skip_next are written once, and a test of the language is a test of both.

A position is a path of indices into nested step lists (`(2,)` is the third top-level step). Today
steps are one flat list, so paths have one index; branches will add nested then/else lists and the
path will grow with them. A path is a plain tuple of ints: it serialises as a JSON list and can be
carried across continue-as-new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, assert_never

from definitions.models import ConditionStep, Step

#: How a run ends (or, while it is in flight, "running"). The one definition of the word: the
#: interpreter, the dry run and the run models (definitions/runs.py) all use it.
Outcome = Literal["running", "completed", "stopped", "failed"]

#: A path of indices into nested step lists.
Position = tuple[int, ...]


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


class StepCursor:
    """Walks the steps of one definition version."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)

    def first(self) -> Position | None:
        """Where a run starts (None: a definition without steps completes at once)."""
        return (0,) if self.steps else None

    def step_at(self, position: Position) -> Step:
        (index,) = position
        return self.steps[index]

    def label(self, position: Position) -> str:
        """Where the run is, for people: `step 2/5`."""
        (index,) = position
        return f"step {index + 1}/{len(self.steps)}"

    def rest(self, position: Position) -> list[Step]:
        """The steps after `position`, in order: what a stop there leaves unrun."""
        (index,) = position
        return self.steps[index + 1 :]

    def after(self, position: Position, passed: bool | None = None) -> Move:
        """What comes after the step at `position`. `passed` is a condition step's result; an
        action step has none."""
        step = self.step_at(position)
        if isinstance(step, ConditionStep) and passed is None:
            raise ValueError(f"condition step {step.id!r} needs its result to move on")
        skipped: list[Skipped] = []
        following = self._next_index(position)
        if isinstance(step, ConditionStep) and not passed:
            if step.on_false == "stop":
                return Move(next=None, outcome="stopped", stopped_at=step.id)
            if step.on_false == "skip_next":
                if following is not None:
                    skipped.append(Skipped(step=self.steps[following], by=step.id))
                    following = self._next_index((following,))
            elif step.on_false != "continue":
                assert_never(step.on_false)
        if following is None:
            return Move(next=None, outcome="completed", skipped=skipped)
        return Move(next=(following,), outcome="running", skipped=skipped)

    def _next_index(self, position: Position) -> int | None:
        (index,) = position
        return index + 1 if index + 1 < len(self.steps) else None
