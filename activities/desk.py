"""Condition and action activities over the desk store (SPEC §2.2).

Both are `async def` and push their (short, blocking) database work to a thread with
`asyncio.to_thread`: the worker needs no `activity_executor` for them, they run the same way as
local or regular activities, and the event loop never blocks on SQLite/PostgreSQL. A cancelled
attempt may still finish its transaction in the thread — harmless, because every action is
idempotent per (scope, step) through the ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from definitions.context import build_context
from definitions.errors import NotFound
from definitions.evaluator import ConditionOutcome, evaluate_condition
from definitions.runs import (
    ACT_EVALUATE_CONDITION,
    ACT_PERFORM_ACTION,
    ACT_PERFORM_GUARDED_ACTION,
    ERR_NOT_FOUND,
    ActionInput,
    ActionResult,
    ConditionInput,
    GuardedActionInput,
    GuardedActionResult,
)
from desk.actions import apply_action, apply_actions
from desk.field_values import run_fields
from desk.time_values import step_time_fields
from store.action_ledger import stored_result_in
from store.db import read_session
from store.models import utcnow


class DeskActivities:
    """`engine`: the supportflow database. `deliver_webhooks`: whether action results carry a
    `delivery` for the outbound webhook (False when SUPPORTFLOW_WEBHOOK_URL is unset, so the
    workflow schedules no deliver_webhook activity). `after_commit` is a test hook run after an
    action's transaction commits (raise from it to simulate a crash before the result returns)."""

    def __init__(
        self,
        engine: Engine,
        *,
        deliver_webhooks: bool = True,
        after_commit: Callable[[ActionResult], None] | None = None,
    ) -> None:
        self.engine = engine
        self.deliver_webhooks = deliver_webhooks
        self.after_commit = after_commit

    def _evaluate(self, args: ConditionInput) -> ConditionOutcome:
        with read_session(self.engine) as session:
            return _evaluate_in(session, args)

    @activity.defn(name=ACT_EVALUATE_CONDITION)
    async def evaluate_condition(self, args: ConditionInput) -> ConditionOutcome:
        """Evaluate a condition step against the conversation and customer as they are now and
        the triggering message as it was."""
        return await asyncio.to_thread(self._evaluate, args)

    def _perform(self, args: ActionInput) -> ActionResult:
        try:
            return self._kept(apply_action(self.engine, args, after_commit=self.after_commit))
        except NotFound as exc:
            raise ApplicationError(exc.message, type=ERR_NOT_FOUND, non_retryable=True) from None

    def _kept(self, result: ActionResult) -> ActionResult:
        """Without the webhook delivery when this worker delivers none."""
        if self.deliver_webhooks or result.delivery is None:
            return result
        return result.model_copy(update={"delivery": None})

    @activity.defn(name=ACT_PERFORM_ACTION)
    async def perform_action(self, args: ActionInput) -> ActionResult:
        """Apply an action step once per (scope, step); a repeat returns the stored result."""
        return await asyncio.to_thread(self._perform, args)

    def _perform_guarded(self, args: GuardedActionInput) -> GuardedActionResult:
        actions = [args.action, *args.then]
        with read_session(self.engine) as session:
            outcome = _evaluate_in(session, args.condition)
            if not outcome.result:
                # An attempt whose result was lost (a worker crash) may have applied the actions,
                # which can make the condition false now (e.g. "not tagged yet"): then it held,
                # and their recorded results (read in the same snapshot) are the answer.
                done = self._recorded(session, actions)
                return GuardedActionResult(
                    condition=outcome, action=done[0] if done else None, then=done[1:]
                )
        try:
            results = apply_actions(
                self.engine,
                actions,
                until=lambda result: self._kept(result).followed_up,
                after_commit=self.after_commit,
            )
        except NotFound as exc:
            raise ApplicationError(exc.message, type=ERR_NOT_FOUND, non_retryable=True) from None
        kept = [self._kept(result) for result in results]
        return GuardedActionResult(condition=outcome, action=kept[0], then=kept[1:])

    def _recorded(self, session: Session, actions: list[ActionInput]) -> list[ActionResult]:
        """The stored results of the first of `actions` that took effect, in order, up to the
        first one the workflow must follow up."""
        done: list[ActionResult] = []
        for action in actions:
            stored = stored_result_in(session, action.idempotency_scope, action.step.id)
            if stored is None:
                break
            done.append(self._kept(stored))
            if done[-1].followed_up:
                break
        return done

    @activity.defn(name=ACT_PERFORM_GUARDED_ACTION)
    async def perform_guarded_action(self, args: GuardedActionInput) -> GuardedActionResult:
        """A condition step and, if it holds, the action steps it guards: one local activity and
        one transaction instead of one per step (fewer workflow activations and write turns per
        run). A failure of any part is the whole call's; the workflow then goes on one step at a
        time. The call stops after an action the workflow must follow up first."""
        return await asyncio.to_thread(self._perform_guarded, args)


def _evaluate_in(session: Session, args: ConditionInput) -> ConditionOutcome:
    """A condition step against the desk as `session` reads it now."""
    now = utcnow()  # time.* read the schedule at the moment the step runs
    conversation, customer, event = run_fields(session, args.event, now)
    try:
        time = step_time_fields(session, args.schedule, args.step, now)
    except NotFound as exc:
        raise ApplicationError(exc.message, type=ERR_NOT_FOUND, non_retryable=True) from None
    context = build_context(conversation, customer, event, args.sla, args.step_outputs, time)
    return evaluate_condition(args.step.condition, context)
