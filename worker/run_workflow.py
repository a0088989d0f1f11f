"""WorkflowRun: the one generic interpreter of a stored workflow definition.

One workflow class, one loop over the steps of the definition version frozen into its input (as
temporalio/samples-python `dsl/workflow.py`). Every side effect is an activity called by name with
one pydantic model:

- a condition step is a local activity (`evaluate_condition`) that reads the conversation and the
  customer as they are *now* (fresh state) and returns each rule's value and result;
- a condition step whose false outcome never runs the action right after it (`on_false` stop or
  skip_next) is checked together with that action, and the actions that follow it, in ONE local
  activity and one transaction (`perform_guarded_action`, patch `guarded-actions`): fewer
  activations and write turns; the call stops after an action with a webhook delivery or
  emitted events (followed up before the next step runs), and if it fails, the run goes on one
  step at a time. Histories recorded with one guarded action replay as they are: the calls'
  results say how many actions ran, and the run goes on one at a time from there;
- an action step is a local activity (`perform_action`), idempotent per (idempotency scope, step);
  when it returns a webhook delivery, a regular activity (`deliver_webhook`) sends it with a long
  backoff; when it emits events (a status change), a regular activity (`dispatch_event`) feeds them
  back into trigger matching, carrying the causal chain (loop guard).

Retries of the two local activities are driven here, one attempt per call, so the trace shows the
real number of attempts and the error of each failed one: transient errors retry with exponential
backoff (durable timers), permanent ones (`NotFound`, `InvalidDefinition`, or any non-retryable
ApplicationError) stop at once.

The run's trace (`RunResult`) is kept as the loop goes and is readable at any time with the query
`trace`. A step that fails for good ends the run as *Failed* with an `ApplicationError` of type
`StepFailed` whose first detail is the partial trace. Only the failures we mean end a run
(`StepFailure`, an activity failing for good after its retries); anything else (a bug, a payload
this worker cannot read, non-determinism) fails the *workflow task*, which Temporal retries until a
fixed worker picks it up, so a run that waited for days is fixed forward, not lost (README
§Operating it; the worker counts those failures: `worker.task_failures`).
"""

from __future__ import annotations

import asyncio
import builtins
from datetime import datetime, timedelta
from typing import Any, NoReturn, assert_never

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    TimeoutError,
    is_cancelled_exception,
)

with workflow.unsafe.imports_passed_through():
    from definitions.cursor import Outcome, StepCursor
    from definitions.evaluator import ConditionOutcome
    from definitions.events import Event
    from definitions.models import (
        ActionStep,
        AddNoteStep,
        AddTagStep,
        AllGroup,
        AnyGroup,
        AutoReplyStep,
        BranchStep,
        ChangeStatusStep,
        Condition,
        ConditionStep,
        CreateTicketStep,
        EscalateStep,
        NotifyStep,
        RemoveTagStep,
        RouteStep,
        Rule,
        SetAttributeStep,
        SetPriorityStep,
        Step,
        StopStep,
        WaitForStep,
        WaitOutcome,
        WaitStep,
    )
    from definitions.runs import (
        ACT_CHECK_WAIT,
        ACT_DELIVER_WEBHOOK,
        ACT_DISPATCH_EVENT,
        ACT_EVALUATE_CONDITION,
        ACT_NOTIFY_FAILURE,
        ACT_PERFORM_ACTION,
        ACT_PERFORM_GUARDED_ACTION,
        ACT_WAIT_DEADLINE,
        ERR_INVALID_DEFINITION,
        ERR_NOT_FOUND,
        ERR_STEP_FAILED,
        ERR_WEBHOOK_REJECTED,
        WAIT_HINT_SIGNAL,
        WORKFLOW_RUN,
        ActionInput,
        ActionResult,
        ConditionInput,
        Deadline,
        DeadlineInput,
        DispatchResult,
        FailureNotice,
        GuardedActionInput,
        GuardedActionResult,
        RunInput,
        RunResult,
        StepTrace,
        WaitCheck,
        WaitFound,
        WaitTrace,
        WebhookDelivery,
        WokenBy,
    )
    from temporal_edge.search import OUTCOME_STOPPED, PHASE_RUNNING, PHASE_WAITING, SearchAttr

# ---------------------------------------------------------------- timeouts and retries

#: One attempt of a condition or an action (they touch only the local database). At most ~80 % of
#: the 10 s workflow-task timeout, else the worker extends the task (docs: local activities).
STEP_ATTEMPT_TIMEOUT = timedelta(seconds=5)
#: Attempts of a condition or action step before the run fails.
STEP_MAX_ATTEMPTS = 5
STEP_INITIAL_BACKOFF = timedelta(seconds=1)
STEP_BACKOFF_COEFFICIENT = 2.0
STEP_MAX_BACKOFF = timedelta(seconds=30)
#: ApplicationError types that no retry can fix.
PERMANENT_ERRORS = frozenset({ERR_NOT_FOUND, ERR_INVALID_DEFINITION})

#: Anything that talks to the outside retries by time, not by count: a help-desk or database
#: outage shorter than this fails no run (docs.temporal.io fixed-wall-time retries).
OUTSIDE_RETRY_WINDOW = timedelta(hours=24)
OUTSIDE_MAX_BACKOFF = timedelta(minutes=5)

#: The outbound webhook: the help desk may be down for a while.
WEBHOOK_TIMEOUT = timedelta(seconds=30)
WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=OUTSIDE_MAX_BACKOFF,
    maximum_attempts=0,  # unlimited: OUTSIDE_RETRY_WINDOW bounds them
    non_retryable_error_types=[ERR_WEBHOOK_REJECTED],
)
#: Before the `time-bounded-retries` patch: 10 attempts (4–9 minutes). Replay only.
WEBHOOK_RETRY_V1 = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=[ERR_WEBHOOK_REJECTED],
)

#: Feeding an emitted event back into trigger matching (database + starting runs).
DISPATCH_TIMEOUT = timedelta(seconds=60)
DISPATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=OUTSIDE_MAX_BACKOFF,
    maximum_attempts=0,
    non_retryable_error_types=[ERR_INVALID_DEFINITION],
)
DISPATCH_RETRY_V1 = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=[ERR_INVALID_DEFINITION],
)

# One call = one attempt: the loop in `_attempts` retries, so it can count.
_SINGLE_ATTEMPT = RetryPolicy(maximum_attempts=1)


class StepFailure(Exception):
    """A step failed for good; `message` is for people (the trace and the run's failure)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@workflow.defn(name=WORKFLOW_RUN)
class WorkflowRun:
    """Runs one frozen definition version against one event, step by step.

    No `failure_exception_types`: an input this worker cannot decode (a newer API, e.g. an action
    it does not know yet) fails the workflow task, and the run goes on once a worker that knows it
    picks it up. Payloads are decoded leniently (`definitions.wire`), so an unknown field or a
    definition saved under older rules is no reason to stop.
    """

    def __init__(self) -> None:
        self._steps: list[StepTrace] = []
        self._outcome: Outcome = "running"
        self._stopped_at: str | None = None
        self._error: str | None = None
        self._where: str | None = None  # the branch list of the current step, if nested
        self._woken = False  # a wait hint arrived since the last check (wait_for)
        self._hints = 0

    # ------------------------------------------------------------ public surface

    @workflow.run
    async def run(self, input: RunInput) -> RunResult:
        if input.start_refused is not None:
            # The record of a start Temporal refused (definitions.runs.refused_run_input): fail at
            # once with the reason. Only such new inputs take this branch; old histories replay.
            self._fail(f"the run could not be started: {input.start_refused}")
        try:
            return await self._run_steps(input)
        except ApplicationError:
            if self._outcome == "failed":
                await _notify_failure(input, self._error or "failed")
            raise

    async def _run_steps(self, input: RunInput) -> RunResult:
        try:
            await self._interpret(input)
            if self._outcome == "running":
                self._outcome = "completed"
            elif self._outcome == "stopped":
                _mark_stopped()
        except StepFailure as failure:
            self._fail(failure.message)
        except (ApplicationError, workflow.NondeterminismError):
            raise
        except ActivityError as err:  # an activity that failed for good, after its retries
            if is_cancelled_exception(err):
                raise
            self._fail(f"unexpected activity failure: {_cause_message(err)}")
        # Anything else is a bug: it fails the workflow task (retried until fixed), not the run.
        workflow.set_current_details(self._details_done())
        return self._result()

    @workflow.signal(name=WAIT_HINT_SIGNAL)
    def wait_hint(self) -> None:
        """A hint from ingestion: something the run may be waiting for happened. Only a hint:
        the run re-checks the desk state (docs/DESIGN.md "Waking a waiting run")."""
        self._woken = True
        self._hints += 1

    @workflow.query(name="trace")
    def trace(self) -> RunResult:
        """The trace so far. While the run is in flight `outcome` is provisional ("completed"
        means nothing stopped or failed yet) and the current step has status "running"."""
        return self._result()

    # ------------------------------------------------------------ the interpreter loop

    async def _interpret(self, input: RunInput) -> None:
        run_id = workflow.info().workflow_id
        cursor = StepCursor(input.definition.steps)
        outputs: dict[str, dict[str, Any]] = {}
        position = cursor.first()
        while position is not None:
            step = cursor.step_at(position)
            label = cursor.label(position)
            self._where = cursor.where(position)
            if isinstance(step, ConditionStep):
                guarded = cursor.guarded_actions(position)
                if guarded and not _guarded_actions():
                    guarded = []  # a run recorded before: one step at a time
                actions = [_as_action(cursor.step_at(at)) for at in guarded]
                began = workflow.now()  # the condition's start, and the guarded call's
                passed, performed = await self._condition(
                    step, input, run_id, outputs, label, guards=actions
                )
                move = cursor.after(position, passed)
                # The actions that ran in the same call, in order (maybe not all: the rest run
                # one at a time from the cursor's next position).
                for at, action, result in zip(guarded, actions, performed, strict=False):
                    position = at
                    self._where = cursor.where(position)
                    outputs[action.id] = await self._action(
                        action, input, run_id, outputs, cursor.label(position), result, began
                    )
                    move = cursor.after(position)
            elif isinstance(step, BranchStep):
                passed = await self._branch(step, input, run_id, outputs, label)
                move = cursor.after(position, passed)
            elif isinstance(step, WaitStep):
                await self._wait(step, input, label)
                move = cursor.after(position)
            elif isinstance(step, WaitForStep):
                outcome = await self._wait_for(step, input, run_id, label)
                outputs[step.id] = {"outcome": outcome}
                move = cursor.after(position, outcome=outcome)
            elif isinstance(step, StopStep):
                trace = self._start(step, label, f"stop {step.id}")
                trace.status, trace.finished_at = "completed", workflow.now()
                trace.note = "stop step: run stopped"
                move = cursor.after(position)
            else:
                outputs[step.id] = await self._action(step, input, run_id, outputs, label)
                move = cursor.after(position)
            for skipped in move.skipped:
                reason = f"skipped because condition {skipped.by!r} was false (skip_next)"
                self._steps.append(_skipped(skipped.step, reason))
            if move.outcome == "stopped":
                self._outcome = "stopped"
                self._stopped_at = move.stopped_at
                return
            position = move.next

    async def _branch(
        self,
        step: BranchStep,
        input: RunInput,
        run_id: str,
        outputs: dict[str, dict[str, Any]],
        position: str,
    ) -> bool:
        test = step.as_condition()
        summary = f"branch {step.id}: {describe_condition(test.condition)}"
        trace = self._start(step, position, summary)
        outcome: ConditionOutcome = await self._attempts(
            trace,
            ACT_EVALUATE_CONDITION,
            self._condition_input(test, input, run_id, outputs),
            ConditionOutcome,
            summary,
        )
        trace.condition = outcome
        trace.status = "passed" if outcome.result else "failed"
        taken = step.then if outcome.result else step.else_
        trace.branch_taken = "then" if outcome.result else "else"
        trace.note = _join(
            trace.note,
            f"{trace.branch_taken}: {len(taken)} step(s)"
            if taken
            else f"{trace.branch_taken} is empty: on after the branch",
        )
        trace.finished_at = workflow.now()
        return outcome.result

    # ------------------------------------------------------------ waits (SPEC §2.3)

    async def _wait(self, step: WaitStep, input: RunInput, position: str) -> None:
        """A durable timer; the deadline is absolute, fixed when the wait begins (business time:
        by the `wait_deadline` local activity, from the schedule as it is then)."""
        what = "until open" if step.until else f"{step.for_}"
        if step.business_hours:
            what += " business time"
        summary = f"wait {what}"
        trace = self._start(step, position, summary)
        began = workflow.now()
        if step.needs_schedule:
            deadline = await self._business_deadline(trace, input, began, step.seconds, summary)
        else:
            assert step.seconds is not None
            deadline = began + timedelta(seconds=step.seconds)
        trace.wait = WaitTrace(kind="wait", waiting_for=what, started_at=began, deadline=deadline)
        self._waiting(trace, position, summary)
        try:
            await workflow.sleep(deadline - began, summary=summary)
        except asyncio.CancelledError:
            self._wait_ended(trace, "cancelled")
            raise
        self._wait_ended(trace, "timer")

    async def _wait_for(
        self, step: WaitForStep, input: RunInput, run_id: str, position: str
    ) -> WaitOutcome:
        """Wait for a desk change on the run's conversation after the wait began, or the
        timeout. The desk state decides: `check_wait` (one transaction) records the wait and
        looks for a matching change, at the start, on every hint and at the deadline."""
        business = " business time" if step.business_hours else ""
        summary = f"wait_for {describe_wait_for(step)} {step.timeout}{business}"
        trace = self._start(step, position, summary)
        began = workflow.now()
        if step.business_hours:
            deadline = await self._business_deadline(trace, input, began, step.seconds, summary)
        else:
            deadline = began + timedelta(seconds=step.seconds)
        trace.wait = WaitTrace(
            kind="wait_for",
            waiting_for=describe_wait_for(step),
            event=step.event,
            to_statuses=list(step.to_statuses),
            started_at=began,
            deadline=deadline,
        )
        self._waiting(trace, position, summary)
        check = WaitCheck(
            workflow_id=run_id,
            step_id=step.id,
            conversation_id=input.event.conversation.id,
            event=step.event,
            to_statuses=list(step.to_statuses),
            watermark=began,
            deadline=deadline,
        )
        hints_before = self._hints
        try:
            found = await self._await_change(trace, check, summary)
        except asyncio.CancelledError:
            # Cancelled (POST /runs/.../cancel): record it and drop the wait row, then end.
            trace.wait.hints = self._hints - hints_before
            self._wait_ended(trace, "cancelled")
            await workflow.execute_local_activity(
                ACT_CHECK_WAIT,
                check.model_copy(update={"mode": "cancel"}),
                result_type=WaitFound,
                start_to_close_timeout=STEP_ATTEMPT_TIMEOUT,
                summary=f"end {summary} (cancelled)",
            )
            raise
        trace.wait.hints = self._hints - hints_before
        outcome: WaitOutcome = "event" if found.found else "timeout"
        trace.wait.outcome = outcome
        trace.wait.matched = found.description
        trace.output = {"outcome": outcome}
        self._wait_ended(trace, "event" if found.found else "timer")
        then = step.on_event if found.found else step.on_timeout
        trace.note = _join(trace.note, f"{outcome}: {then}")
        return outcome

    async def _business_deadline(
        self,
        trace: StepTrace,
        input: RunInput,
        began: datetime,
        business_seconds: int | None,
        summary: str,
    ) -> datetime:
        schedule = input.definition.schedule
        if schedule is None:  # rejected at save time; a lenient wire model may still carry it
            raise StepFailure("business time needs the definition's schedule")
        # Deterministic jitter (0-59 s) for "until open", so 09:00 is not a thundering herd.
        jitter = sum(workflow.info().workflow_id.encode()) % 60
        found: Deadline = await self._attempts(
            trace,
            ACT_WAIT_DEADLINE,
            DeadlineInput(
                schedule_id=schedule,
                start=began,
                business_seconds=business_seconds,
                jitter_seconds=jitter,
            ),
            Deadline,
            f"deadline of {summary} ({schedule})",
        )
        trace.note = _join(trace.note, f"until {found.local}")
        return found.deadline

    async def _await_change(self, trace: StepTrace, check: WaitCheck, summary: str) -> WaitFound:
        assert trace.wait is not None
        deadline = trace.wait.deadline
        while True:
            self._woken = False  # a hint from now on means: look again
            found: WaitFound = await self._attempts(
                trace, ACT_CHECK_WAIT, check, WaitFound, summary
            )
            if found.found or check.mode == "final":
                return found
            remaining = deadline - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._woken, timeout=remaining, timeout_summary=summary
                    )
                    continue
                except builtins.TimeoutError:  # (TimeoutError here is temporalio's)
                    pass
            # The deadline: look once more (a hint may have been lost), then it is a timeout.
            check = check.model_copy(update={"mode": "final"})

    def _waiting(self, trace: StepTrace, position: str, summary: str) -> None:
        assert trace.wait is not None
        trace.status = "waiting"
        until = trace.wait.deadline
        workflow.set_current_details(f"{position}: {summary} (until {until:%Y-%m-%d %H:%M} UTC)")
        self._phase(until, trace.wait.waiting_for)

    def _wait_ended(self, trace: StepTrace, woken_by: WokenBy) -> None:
        assert trace.wait is not None
        trace.wait.woken_by = woken_by
        trace.wait.ended_at = trace.finished_at = workflow.now()
        trace.status = "cancelled" if woken_by == "cancelled" else "completed"
        if woken_by != "cancelled":
            self._phase(None, None)

    def _phase(self, until: datetime | None, waiting_for: str | None) -> None:
        """`RunPhase`, `WaitingUntil` and `WaitingFor`, so run lists can show waiting runs."""
        if until is None or waiting_for is None:
            workflow.upsert_search_attributes(
                [
                    SearchAttr.RUN_PHASE.key.value_set(PHASE_RUNNING),
                    SearchAttr.WAITING_UNTIL.key.value_unset(),
                    SearchAttr.WAITING_FOR.key.value_unset(),
                ]
            )
            return
        workflow.upsert_search_attributes(
            [
                SearchAttr.RUN_PHASE.key.value_set(PHASE_WAITING),
                SearchAttr.WAITING_UNTIL.key.value_set(until),
                SearchAttr.WAITING_FOR.key.value_set(waiting_for),
            ]
        )

    async def _condition(
        self,
        step: ConditionStep,
        input: RunInput,
        run_id: str,
        outputs: dict[str, dict[str, Any]],
        position: str,
        guards: list[ActionStep],
    ) -> tuple[bool, list[ActionResult]]:
        """Whether the condition holds, and the results of the actions it `guards` (in order)
        that ran in the same local activity (`StepCursor.guarded_actions`): all of them, or the
        first ones up to one the run must follow up first. If that call fails, nothing is lost (a
        failed transaction, or actions the ledger keeps once): the condition is checked on its
        own, with the usual retries, and each action is left to its own step."""
        summary = f"condition {step.id}: {describe_condition(step.condition)}"
        trace = self._start(step, position, summary)
        trace.on_false = step.on_false
        check = self._condition_input(step, input, run_id, outputs)
        outcome: ConditionOutcome | None = None
        performed: list[ActionResult] = []
        if guards:
            first, *then = guards
            more = f" and {len(then)} more step(s)" if then else ""
            try:
                both: GuardedActionResult = await workflow.execute_local_activity(
                    ACT_PERFORM_GUARDED_ACTION,
                    GuardedActionInput(
                        condition=check,
                        action=self._action_input(first, input, run_id, outputs),
                        then=[self._action_input(a, input, run_id, outputs) for a in then],
                    ),
                    result_type=GuardedActionResult,
                    start_to_close_timeout=STEP_ATTEMPT_TIMEOUT,
                    retry_policy=_SINGLE_ATTEMPT,
                    summary=f"{summary}; if it holds, {describe_action(first)}{more}",
                )
                outcome = both.condition
                performed = [both.action, *both.then] if both.action is not None else []
                trace.attempts = 1
                if performed and not outcome.result:
                    trace.note = _join(
                        trace.note,
                        f"false now, but step {first.id!r} had already taken effect after it "
                        "held (an earlier attempt): it held",
                    )
                    outcome = outcome.model_copy(update={"result": True})
            except (ActivityError, ApplicationError) as err:
                if is_cancelled_exception(err):
                    raise
                trace.note = _join(
                    trace.note,
                    f"attempt 1 (with {_steps_named(guards)}) failed: {_cause_message(err)}; "
                    "one step at a time from here",
                )
        if outcome is None:
            outcome = await self._attempts(
                trace,
                ACT_EVALUATE_CONDITION,
                check,
                ConditionOutcome,
                summary,
                made=1 if guards else 0,
            )
        trace.condition = outcome
        trace.status = "passed" if outcome.result else "failed"
        if not outcome.result:
            trace.note = _join(trace.note, _ON_FALSE_NOTES[step.on_false])
        trace.finished_at = workflow.now()
        return outcome.result, performed

    async def _action(
        self,
        step: ActionStep,
        input: RunInput,
        run_id: str,
        outputs: dict[str, dict[str, Any]],
        position: str,
        performed: ActionResult | None = None,
        began: datetime | None = None,
    ) -> dict[str, Any]:
        """Run an action step (`performed`: it already ran, in the call that `began` with the
        condition guarding it)."""
        summary = describe_action(step)
        trace = self._start(step, position, summary)
        if performed is not None:
            trace.attempts = 1
            trace.started_at = began or trace.started_at
            result = performed
        else:
            result = await self._attempts(
                trace,
                ACT_PERFORM_ACTION,
                self._action_input(step, input, run_id, outputs),
                ActionResult,
                summary,
            )
        trace.output = result.output
        trace.rendered = result.rendered or None
        if result.replayed:
            trace.note = _join(
                trace.note, "already applied by an earlier attempt or run: not repeated"
            )
        if result.delivery is not None:
            await self._deliver(trace, result.delivery)
        for event in result.emitted_events:
            await self._dispatch(trace, event, [*input.event.causal_chain, run_id])
        trace.status = "completed"
        trace.finished_at = workflow.now()
        return result.output

    def _condition_input(
        self,
        step: ConditionStep,
        input: RunInput,
        run_id: str,
        outputs: dict[str, dict[str, Any]],
    ) -> ConditionInput:
        return ConditionInput(
            run_id=run_id,
            step=step,
            event=input.event,
            sla=input.sla,
            step_outputs=dict(outputs),
            schedule=input.definition.schedule,
        )

    def _action_input(
        self,
        step: ActionStep,
        input: RunInput,
        run_id: str,
        outputs: dict[str, dict[str, Any]],
    ) -> ActionInput:
        return ActionInput(
            run_id=run_id,
            idempotency_scope=input.idempotency_scope,
            step=step,
            event=input.event,
            sla=input.sla,
            step_outputs=dict(outputs),
            schedule=input.definition.schedule,
            causal_chain=[*input.event.causal_chain, run_id],
        )

    # ------------------------------------------------------------ activities

    async def _attempts(
        self,
        trace: StepTrace,
        activity: str,
        arg: Any,
        result_type: type[Any],
        summary: str,
        made: int = 0,
    ) -> Any:
        """Run a local activity, retrying transient failures with exponential backoff. Raises
        StepFailure with the cause in words once it fails for good. `made`: attempts already
        made (by a guarded call), counted in the trace."""
        attempt = made
        while True:
            attempt += 1
            trace.attempts = attempt
            try:
                return await workflow.execute_local_activity(
                    activity,
                    arg,
                    result_type=result_type,
                    start_to_close_timeout=STEP_ATTEMPT_TIMEOUT,
                    retry_policy=_SINGLE_ATTEMPT,
                    summary=summary if attempt == 1 else f"{summary} (attempt {attempt})",
                )
            except (ActivityError, ApplicationError) as err:
                # A local activity's own failure arrives as the bare ApplicationError; timeouts
                # and cancellation as an ActivityError around the cause.
                if is_cancelled_exception(err):
                    raise
                message = _cause_message(err)
                if _is_permanent(err) or attempt >= STEP_MAX_ATTEMPTS:
                    if attempt > 1:
                        message = f"{message} (after {attempt} attempts)"
                    raise StepFailure(message) from err
                delay = _backoff(attempt)
                trace.note = _join(trace.note, f"attempt {attempt} failed: {message}; retrying")
                await workflow.sleep(delay, summary=f"retry {trace.step_id} in {delay}")

    async def _deliver(self, trace: StepTrace, delivery: WebhookDelivery) -> None:
        by_time = _time_bounded_retries()
        try:
            await workflow.execute_activity(
                ACT_DELIVER_WEBHOOK,
                delivery,
                start_to_close_timeout=WEBHOOK_TIMEOUT,
                schedule_to_close_timeout=OUTSIDE_RETRY_WINDOW if by_time else None,
                retry_policy=WEBHOOK_RETRY if by_time else WEBHOOK_RETRY_V1,
                summary=f"deliver {delivery.action} to the webhook",
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise
            raise StepFailure(
                f"the action took effect but webhook delivery failed: {_cause_message(err)}"
            ) from err
        trace.note = _join(trace.note, "delivered to the webhook")

    async def _dispatch(self, trace: StepTrace, event: Event, chain: list[str]) -> None:
        if not event.causal_chain:
            event = event.model_copy(update={"causal_chain": chain})
        by_time = _time_bounded_retries()
        try:
            dispatched: DispatchResult = await workflow.execute_activity(
                ACT_DISPATCH_EVENT,
                event,
                result_type=DispatchResult,
                start_to_close_timeout=DISPATCH_TIMEOUT,
                schedule_to_close_timeout=OUTSIDE_RETRY_WINDOW if by_time else None,
                retry_policy=DISPATCH_RETRY if by_time else DISPATCH_RETRY_V1,
                summary=f"dispatch {event.type} ({event.id})",
            )
        except ActivityError as err:
            if is_cancelled_exception(err):
                raise
            raise StepFailure(
                f"the action took effect but its event {event.id!r} could not be dispatched: "
                f"{_cause_message(err)}"
            ) from err
        started = ", ".join(dispatched.run_ids) or "none"
        trace.note = _join(
            trace.note, f"emitted {event.type} {event.id!r}; runs started: {started}"
        )

    # ------------------------------------------------------------ trace bookkeeping

    def _start(self, step: Any, position: str, summary: str) -> StepTrace:
        trace = StepTrace(
            step_id=step.id,
            step_type=step.type,
            action=getattr(step, "action", None),
            status="running",
            started_at=workflow.now(),
            path=self._where,
        )
        self._steps.append(trace)
        workflow.set_current_details(f"{position}: {summary}")
        return trace

    def _fail(self, message: str) -> NoReturn:
        running = next(
            (s for s in reversed(self._steps) if s.status in ("running", "waiting")), None
        )
        if running is not None:
            running.status = "error"
            running.error = message
            running.finished_at = workflow.now()
            label = f"step {running.step_id!r} ({running.action or running.step_type}) failed"
            message = f"{label}: {message}"
        self._outcome = "failed"
        self._error = message
        workflow.set_current_details(f"failed: {message}")
        raise ApplicationError(message, self._result(), type=ERR_STEP_FAILED, non_retryable=True)

    def _result(self) -> RunResult:
        return RunResult(
            outcome=self._outcome,
            steps=[step.model_copy() for step in self._steps],
            stopped_at=self._stopped_at,
            error=self._error,
        )

    def _details_done(self) -> str:
        if self._outcome == "stopped":
            return f"stopped at step {self._stopped_at!r}"
        return f"completed {len(self._steps)} step(s)"


async def _notify_failure(input: RunInput, reason: str) -> None:
    """`on_failure`: ONE local activity (desk notification + webhook event, idempotent per run).
    Its own failure never hides the run's: the run fails with its reason either way."""
    on_failure = input.definition.on_failure
    if on_failure is None or not workflow.patched("on-failure-notify"):
        return
    notice = FailureNotice(
        run_id=workflow.info().workflow_id,
        idempotency_scope=input.idempotency_scope,
        definition_id=input.definition_id,
        workflow_name=input.definition.name,
        on_failure=on_failure,
        event=input.event,
        reason=reason,
    )
    try:
        await workflow.execute_local_activity(
            ACT_NOTIFY_FAILURE,
            notice,
            start_to_close_timeout=WEBHOOK_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary="on_failure: notify",
        )
    except (ActivityError, ApplicationError) as err:
        workflow.logger.warning("on_failure notification failed: %s", _cause_message(err))


def _guarded_actions() -> bool:
    """A condition and the action it guards run in one local activity (one workflow activation
    and one database read fewer per pair); runs recorded before check them one at a time."""
    return workflow.patched("guarded-actions")


def _time_bounded_retries() -> bool:
    """Webhook delivery and dispatch retry for `OUTSIDE_RETRY_WINDOW` (unlimited attempts) rather
    than 10 times: new activity options, so runs recorded before keep theirs on replay."""
    return workflow.patched("time-bounded-retries")


def _mark_stopped() -> None:
    """Temporal sees a stopped run as completed; the `RunOutcome` search attribute lets
    visibility tell them apart (GET /runs?status=stopped, analytics)."""
    if workflow.patched("run-outcome-attribute"):
        workflow.upsert_search_attributes([SearchAttr.RUN_OUTCOME.key.value_set(OUTCOME_STOPPED)])


# ---------------------------------------------------------------- helpers (pure)

_ON_FALSE_NOTES = {
    "stop": "condition false: run stopped",
    "continue": "condition false: continued",
    "skip_next": "condition false: next step skipped",
}


def _skipped(step: Any, reason: str) -> StepTrace:
    now = workflow.now()
    return StepTrace(
        step_id=step.id,
        step_type=step.type,
        action=getattr(step, "action", None),
        status="skipped",
        started_at=now,
        finished_at=now,
        note=reason,
    )


def _steps_named(steps: list[ActionStep]) -> str:
    """`step 'route'`, `steps 'route', 'greet'`."""
    names = ", ".join(repr(step.id) for step in steps)
    return f"step {names}" if len(steps) == 1 else f"steps {names}"


def _as_action(step: Step) -> ActionStep:
    assert not isinstance(step, ConditionStep | BranchStep | WaitStep | WaitForStep | StopStep)
    return step


def _join(note: str | None, more: str) -> str:
    return more if not note else f"{note}; {more}"


def _backoff(attempt: int) -> timedelta:
    seconds = STEP_INITIAL_BACKOFF.total_seconds() * STEP_BACKOFF_COEFFICIENT ** (attempt - 1)
    return min(timedelta(seconds=seconds), STEP_MAX_BACKOFF)


def _cause(err: ActivityError | ApplicationError) -> BaseException | None:
    return err.cause if isinstance(err, ActivityError) else err


def _is_permanent(err: ActivityError | ApplicationError) -> bool:
    cause = _cause(err)
    return isinstance(cause, ApplicationError) and (
        cause.non_retryable or (cause.type or "") in PERMANENT_ERRORS
    )


def _cause_message(err: ActivityError | ApplicationError) -> str:
    """The useful message of an activity failure, for people."""
    cause = _cause(err)
    if isinstance(cause, TimeoutError):
        return f"timed out ({cause.type.name.lower() if cause.type else 'timeout'})"
    if isinstance(cause, ApplicationError):
        return cause.message or cause.type or "error"
    if cause is not None:
        return str(cause) or type(cause).__name__
    return str(err) or "activity failed"


def describe_condition(condition: Condition) -> str:
    """One line for the Temporal UI: `customer.segment equals 'vip'`, `all of 3 rules`."""
    if isinstance(condition, Rule):
        if condition.value is None:
            return f"{condition.field} {condition.operator.value}"
        return f"{condition.field} {condition.operator.value} {condition.value!r}"
    if isinstance(condition, AllGroup):
        return f"all of {len(condition.all)} conditions"
    if isinstance(condition, AnyGroup):
        return f"any of {len(condition.any)} conditions"
    assert_never(condition)


def describe_wait_for(step: WaitForStep) -> str:
    """What a wait_for waits for, in words: `customer_message`, `status_change → resolved`."""
    if step.to_statuses:
        return f"{step.event} → {', '.join(step.to_statuses)}"
    return step.event


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_action(step: ActionStep) -> str:
    """One line for the Temporal UI: `route → team vip-support`. Exhaustive over the actions."""
    match step:
        case AutoReplyStep():
            return f"auto_reply: {_short(step.params.message)}"
        case RouteStep():
            target = (
                f"team {step.params.team}" if step.params.team else f"agent {step.params.agent}"
            )
            strategy = "" if step.params.strategy == "direct" else f" ({step.params.strategy})"
            return f"route → {target}{strategy}"
        case AddTagStep():
            return f"add_tag: {', '.join(step.params.tags)}"
        case ChangeStatusStep():
            return f"change_status → {step.params.status}"
        case CreateTicketStep():
            return f"create_ticket: {_short(step.params.title)} ({step.params.priority})"
        case NotifyStep():
            target = (
                f"team {step.params.team}" if step.params.team else f"agent {step.params.agent}"
            )
            return f"notify → {target}"
        case EscalateStep():
            target = step.params.to or "supervisor of the assigned team"
            return f"escalate → {target} ({step.params.priority})"
        case RemoveTagStep():
            return f"remove_tag: {', '.join(step.params.tags)}"
        case SetPriorityStep():
            return f"set_priority → {step.params.priority or 'none'}"
        case AddNoteStep():
            return f"add_note: {_short(step.params.note)}"
        case SetAttributeStep():
            return f"set_attribute: {step.params.key} = {_short(step.params.value)}"
        case _:
            assert_never(step)
