"""Test in Draft: what a definition would do with a sample event, without doing any of it.

Pure: nothing runs, nothing is written, no clock is read. It walks the steps with the same cursor
as a real run (definitions/cursor.py). The caller gives the conversation and customer as the run's
first step would read them (the app: desk/field_values.py `sample_fields`); after each action, a
later step reads the conversation as that action would leave it (definitions/effects.py). What
only a real run knows (a ticket id, the agent a strategy picks) renders as a readable stand-in
such as "<ticket id from step ticket>".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from definitions.business_time import BusinessClock
from definitions.context import ConversationState, CustomerState, SlaInfo, build_context
from definitions.cursor import Move, StepCursor
from definitions.effects import would_do
from definitions.errors import reject_at
from definitions.evaluator import ConditionOutcome, RuleOutcome, evaluate_condition
from definitions.events import Event
from definitions.matching import match_idle, match_sla, match_trigger
from definitions.models import (
    ActionStep,
    BranchStep,
    ConditionStep,
    ConversationIdleTrigger,
    SlaBreachTrigger,
    Step,
    StopStep,
    WaitForStep,
    WaitOutcome,
    WaitStep,
    WorkflowDefinitionIn,
    walk_steps,
)
from definitions.placeholders import render
from definitions.runs import MAX_CAUSAL_DEPTH
from definitions.time_fields import time_fields
from definitions.wait_until import WaitUntil, wait_until


class DryRunTrigger(BaseModel):
    matched: bool = Field(description="Whether the sample event fires the trigger")
    reason: str = Field(description="Why it does not match ('matches' when it does)")


class DryRunRule(BaseModel):
    """One rule of a condition, with the value it read."""

    field: str = Field(examples=["customer.segment"])
    operator: str = Field(examples=["equals"])
    expected: Any = Field(default=None, description="The rule's value")
    resolved: Any = Field(default=None, description="The field's value in the sample")
    result: bool


DryRunStatus = Literal["passed", "failed", "would_run", "would_wait", "skipped", "not_taken"]


class DryRunStep(BaseModel):
    """What one step would do."""

    step_id: str
    step_type: Literal["condition", "action", "wait", "wait_for", "branch", "stop"]
    action: str | None = Field(default=None, description="Action name, for an action step")
    status: DryRunStatus = Field(
        description="passed / failed (condition, branch), would_run (action, stop), would_wait "
        "(wait, wait_for), skipped, or not_taken (a step on the branch path the run would not "
        "take)"
    )
    path: str | None = Field(
        default=None, description="Where a nested step sits: `<branch id>.then` / `.else`"
    )
    branch_taken: Literal["then", "else"] | None = Field(
        default=None, description="A branch's path that the run would take"
    )
    wait: str | None = Field(
        default=None,
        description="A wait in words, with when it would end: `would wait 4h (until Tue 10:00 "
        "Europe/Berlin)`, `would wait up to 48h for a customer message (until Thu 10:00 UTC)`",
    )
    assumed: Literal["event", "timeout"] | None = Field(
        default=None, description="A wait_for's outcome as assumed (`assume`, default timeout)"
    )
    result: bool | None = Field(default=None, description="A condition's result")
    # Factories, not `[]`/`{}` defaults: pydantic deep-copies those for every step (a backtest
    # builds tens of thousands of steps).
    rules: list[DryRunRule] = Field(
        default_factory=list, description="A condition's rules, in order"
    )
    on_false: str | None = Field(default=None, description="A condition's on_false setting")
    effect: str | None = Field(
        default=None, description="What the condition's result does to the run, in words"
    )
    rendered: dict[str, str] = Field(
        default_factory=dict, description="An action's template params, rendered against the sample"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="An action's other params")
    reason: str | None = Field(default=None, description="Why a step is skipped")


DryRunOutcome = Literal["would_complete", "would_stop", "would_wait", "trigger_not_matched"]


class DryRunReport(BaseModel):
    """The result of a dry run: the trigger, every step in order, and the outcome."""

    trigger: DryRunTrigger
    steps: list[DryRunStep]
    outcome: DryRunOutcome
    stopped_at: str | None = Field(
        default=None, description="The step that would stop the run (condition, wait_for, stop)"
    )
    waiting_at: str | None = Field(
        default=None,
        description="A backtest's run still waiting at the end of the window: the wait it is in",
    )
    summary: str = Field(description="The outcome in one sentence")


@dataclass(frozen=True)
class Waited:
    """How a wait or a wait_for ends in a walk. `outcome` is a wait_for's (`event` or
    `timeout`; None for a plain wait); `still_waiting`: the run would still be in this wait at
    the end of what is known (a backtest's window); `note` says when or why, in words."""

    outcome: WaitOutcome | None = None
    still_waiting: bool = False
    note: str | None = None


class Waits(Protocol):
    """Decides the waits of one walk. The dry run assumes (`assume`); a backtest answers from the
    recorded events that followed (definitions/backtest.py)."""

    def wait(self, step: WaitStep) -> Waited: ...

    def wait_for(self, step: WaitForStep) -> Waited: ...


@dataclass(frozen=True)
class Assumed:
    """The dry run's waits: a wait passes, a wait_for ends as `assume` says (default timeout)."""

    assume: Mapping[str, WaitOutcome]

    def wait(self, step: WaitStep) -> Waited:  # noqa: ARG002 - the protocol's signature
        return Waited()

    def wait_for(self, step: WaitForStep) -> Waited:
        outcome = self.assume.get(step.id, "timeout")
        return Waited(outcome=outcome, note=f"assumed {outcome}")


def dry_run(
    definition: WorkflowDefinitionIn,
    event: Event,
    conversation: ConversationState,
    customer: CustomerState | None,
    sla: SlaInfo | None = None,
    assume: Mapping[str, WaitOutcome] | None = None,
    *,
    now: datetime | None = None,
    clock: BusinessClock | None = None,
) -> DryRunReport:
    """Walk the definition over a sample event and state, reporting what would happen. A
    wait_for ends as `assume` says (by step id; default: timeout).

    `now` is when the run would start and `clock` the definition's schedule (None: it has none,
    or it does not exist): `time.*` fields read them, and waits say until when they would last."""
    assume = assume or {}
    check_assume(definition, assume)
    trigger = match_event(definition, event, sla)
    if not trigger.matched:
        skipped = [
            _skipped(step, "the trigger does not match this event") for step in definition.steps
        ]
        return DryRunReport(
            trigger=trigger,
            steps=skipped,
            outcome="trigger_not_matched",
            summary=f"The trigger does not match: {trigger.reason}.",
        )
    return walk(
        definition,
        trigger,
        event,
        conversation,
        customer,
        sla,
        Assumed(assume),
        now=now,
        clock=clock,
    )


def walk(
    definition: WorkflowDefinitionIn,
    trigger: DryRunTrigger,
    event: Event,
    conversation: ConversationState,
    customer: CustomerState | None,
    sla: SlaInfo | None,
    waits: Waits,
    *,
    now: datetime | None = None,
    clock: BusinessClock | None = None,
) -> DryRunReport:
    """The steps of a run that `trigger` started, walked with the real cursor; `waits` decides
    each wait and wait_for. The walk's clock starts at `now` and moves on with each wait (to its
    deadline; a wait_for that ends with an event ends no later), so a step after a wait reads the
    time the real run would read."""
    at = now
    cursor = StepCursor(definition.steps)
    outputs: dict[str, dict[str, Any]] = {}  # what the steps that would run would output
    steps: list[DryRunStep] = []
    move = Move(next=None, outcome="completed")
    position = cursor.first()
    while position is not None:
        step = cursor.step_at(position)
        time = time_fields(clock, at) if at is not None else {}
        context = build_context(conversation, customer, event, sla, outputs, time)
        report: DryRunStep
        if isinstance(step, ConditionStep):
            outcome = evaluate_condition(step.condition, context)
            move = cursor.after(position, outcome.result)
            report = _condition(step, outcome, move)
        elif isinstance(step, BranchStep):
            outcome = evaluate_condition(step.if_, context)
            move = cursor.after(position, outcome.result)
            report = _branch(step, outcome)
        elif isinstance(step, WaitStep):
            waited = waits.wait(step)
            until = wait_until(step, at, clock, definition.schedule)
            move = _STILL_WAITING if waited.still_waiting else cursor.after(position)
            report = _wait(step, waited, until)
            at = until.deadline or at
        elif isinstance(step, WaitForStep):
            waited = waits.wait_for(step)
            until = wait_until(step, at, clock, definition.schedule)
            if waited.still_waiting or waited.outcome is None:
                move = _STILL_WAITING
            else:
                outputs[step.id] = {"outcome": waited.outcome}
                move = cursor.after(position, outcome=waited.outcome)
            report = _wait_for(step, waited, until)
            if waited.outcome == "timeout":
                at = until.deadline or at
        elif isinstance(step, StopStep):
            move = cursor.after(position)
            report = DryRunStep(
                step_id=step.id,
                step_type="stop",
                status="would_run",
                effect="the run would end here, stopped",
            )
        else:
            report = _action(step, context)
            # A later step reads the conversation as this action would leave it.
            outputs[step.id], conversation = would_do(step, conversation, report.rendered)
            move = cursor.after(position)
        report.path = cursor.where(position)
        steps.append(report)
        if isinstance(step, BranchStep):
            # Both paths are shown: the one not taken is listed, marked not_taken.
            side, other = ("else", step.else_) if report.result else ("then", step.then)
            reason = f"on the {side} path of branch {step.id!r}, which the run would not take"
            steps.extend(_not_taken(other, f"{step.id}.{side}", reason))
        for passed_over in move.skipped:
            reason = f"condition {passed_over.by!r} is false and says skip_next"
            steps.append(_skipped(passed_over.step, reason))
        if move.outcome == "stopped":
            reason = f"the run would stop at step {move.stopped_at!r}"
            steps.extend(_skipped(rest, reason) for rest in cursor.rest(position))
        if move is _STILL_WAITING:
            reason = f"the run would still be waiting in step {step.id!r} at the end of the window"
            steps.extend(_skipped(rest, reason) for rest in cursor.rest(position))
            return DryRunReport(
                trigger=trigger,
                steps=steps,
                outcome="would_wait",
                waiting_at=step.id,
                summary=f"The run would still be waiting in step {step.id!r}.",
            )
        position = move.next

    if move.outcome == "stopped":
        return DryRunReport(
            trigger=trigger,
            steps=steps,
            outcome="would_stop",
            stopped_at=move.stopped_at,
            summary=f"The run would stop at step {move.stopped_at!r}: {_why_stop(steps, move)}.",
        )
    actions = sum(1 for s in steps if s.status == "would_run" and s.step_type == "action")
    skipped_count = sum(1 for s in steps if s.status == "skipped")
    return DryRunReport(
        trigger=trigger,
        steps=steps,
        outcome="would_complete",
        summary=(
            f"The run would complete: {actions} action(s) would run"
            + (f", {skipped_count} step(s) skipped." if skipped_count else ".")
        ),
    )


#: The cursor has no move for "still waiting": the walk ends there (a backtest's window is over).
_STILL_WAITING = Move(next=None, outcome="running")


def match_event(
    definition: WorkflowDefinitionIn, event: Event, sla: SlaInfo | None = None
) -> DryRunTrigger:
    """Whether `event` (or, for sla_breach, the clock `sla`) fires the definition's trigger: the
    loop guard, then the same matchers as ingestion."""
    if len(event.causal_chain) > MAX_CAUSAL_DEPTH:
        return DryRunTrigger(
            matched=False,
            reason=(
                f"the event was caused by a chain of {len(event.causal_chain)} runs, deeper than "
                f"{MAX_CAUSAL_DEPTH} (loop guard)"
            ),
        )
    if isinstance(definition.trigger, SlaBreachTrigger):
        result = match_sla(definition.trigger, sla)
    elif isinstance(definition.trigger, ConversationIdleTrigger):
        result = match_idle(definition.trigger, event)
    else:
        result = match_trigger(definition.trigger, event)
    return DryRunTrigger(matched=result.matched, reason=result.reason)


def _condition(step: ConditionStep, outcome: ConditionOutcome, move: Move) -> DryRunStep:
    if outcome.result:
        effect = "true: the run goes on to the next step"
    elif step.on_false == "stop":
        effect = "false and on_false is stop: the run would end here, stopped"
    elif step.on_false == "continue":
        effect = "false and on_false is continue: the run goes on to the next step anyway"
    elif move.skipped:
        next_id = move.skipped[0].step.id
        effect = f"false and on_false is skip_next: step {next_id!r} would be skipped"
    else:
        effect = "false and on_false is skip_next: there is no next step to skip"
    return DryRunStep(
        step_id=step.id,
        step_type="condition",
        status="passed" if outcome.result else "failed",
        result=outcome.result,
        rules=[_rule(rule) for rule in outcome.rules],
        on_false=step.on_false,
        effect=effect,
    )


def _why_stop(steps: list[DryRunStep], move: Move) -> str:
    stopper = next(s for s in reversed(steps) if s.step_id == move.stopped_at)
    if stopper.step_type == "wait_for":
        return f"its wait_for ends with {stopper.assumed} and says stop"
    if stopper.step_type == "stop":
        return "it is a stop step"
    return "its condition is false"


def _branch(step: BranchStep, outcome: ConditionOutcome) -> DryRunStep:
    taken: Literal["then", "else"] = "then" if outcome.result else "else"
    steps = step.then if outcome.result else step.else_
    return DryRunStep(
        step_id=step.id,
        step_type="branch",
        status="passed" if outcome.result else "failed",
        result=outcome.result,
        rules=[_rule(rule) for rule in outcome.rules],
        branch_taken=taken,
        effect=(
            f"{'true' if outcome.result else 'false'}: the run would take the {taken} path "
            f"({len(steps)} step(s))"
            if steps
            else f"{'true' if outcome.result else 'false'}: the {taken} path is empty, the run "
            "would go on after the branch"
        ),
    )


def _wait(step: WaitStep, waited: Waited, until: WaitUntil) -> DryRunStep:
    if step.until == "open":
        text = (
            "would not wait: the schedule is open now"
            if until.at_once
            else f"would wait for the schedule to open ({until.label})"
        )
    else:
        text = (
            f"would wait {step.for_}"
            + (" of business time" if step.business_hours else "")
            + f" ({until.label})"
        )
    if waited.note:
        text += f"; {waited.note}"
    return DryRunStep(step_id=step.id, step_type="wait", status="would_wait", wait=text)


def check_assume(definition: WorkflowDefinitionIn, assume: Mapping[str, WaitOutcome]) -> None:
    """Every id `assume` names is a wait_for step of the definition (nested ones included), else
    a validation error at `assume.<id>` (the API answers 422 naming it)."""
    kinds = {step.id: step.type for _, step, _ in walk_steps(definition.steps)}
    for step_id, outcome in assume.items():
        kind = kinds.get(step_id)
        if kind == "wait_for":
            continue
        waits = sorted(i for i, k in kinds.items() if k == "wait_for")
        known = (
            f"its wait_for steps are {', '.join(map(repr, waits))}"
            if waits
            else ("it has no wait_for step")
        )
        what = f"step {step_id!r} is a {kind} step" if kind else f"there is no step {step_id!r}"
        reject_at(
            ("assume", step_id),
            f"{what}: assume names wait_for steps only; {known}",
            outcome,
            title="DryRunRequest",
            kind="invalid_assume",
        )


def _wait_for(step: WaitForStep, waited: Waited, until: WaitUntil) -> DryRunStep:
    what = step.event.replace("_", " ")
    if step.to_statuses:
        what += " to " + " or ".join(step.to_statuses)
    business = " of business time" if step.business_hours else ""
    report = DryRunStep(
        step_id=step.id,
        step_type="wait_for",
        status="would_wait",
        wait=f"would wait up to {step.timeout}{business} for a {what} ({until.label})",
    )
    outcome = waited.outcome
    if waited.still_waiting or outcome is None:
        report.effect = waited.note or "still waiting"
        return report
    then = step.on_event if outcome == "event" else step.on_timeout
    happened = f"a {what} arrives" if outcome == "event" else "the timeout passes"
    report.assumed = outcome
    report.effect = f"{waited.note or outcome} ({happened}): " + (
        "the run would stop here" if then == "stop" else "the run goes on"
    )
    return report


def _not_taken(steps: Sequence[Step], path: str, reason: str) -> list[DryRunStep]:
    """The steps of a path the run would not take, nested ones included, in order."""
    out: list[DryRunStep] = []
    for step in steps:
        report = _skipped(step, reason)
        report.status = "not_taken"
        report.path = path
        out.append(report)
        if isinstance(step, BranchStep):
            out.extend(_not_taken(step.then, f"{step.id}.then", reason))
            out.extend(_not_taken(step.else_, f"{step.id}.else", reason))
    return out


def _action(step: ActionStep, context: dict[str, Any]) -> DryRunStep:
    templates = step.params.templates()
    other = step.params.model_dump(mode="json", exclude=set(templates), exclude_none=True)
    return DryRunStep(
        step_id=step.id,
        step_type="action",
        action=step.action,
        status="would_run",
        rendered={name: render(text, context) for name, text in templates.items()},
        params=other,
    )


def _rule(rule: RuleOutcome) -> DryRunRule:
    return DryRunRule(
        field=rule.field,
        operator=rule.operator,
        expected=rule.expected,
        resolved=rule.actual,
        result=rule.result,
    )


def _skipped(step: Any, reason: str) -> DryRunStep:
    is_condition = isinstance(step, ConditionStep)
    return DryRunStep(
        step_id=step.id,
        step_type=step.type,
        action=getattr(step, "action", None),
        status="skipped",
        on_false=step.on_false if is_condition else None,
        reason=reason,
    )
