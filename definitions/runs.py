"""Temporal-facing names and the models that cross the workflow/activity boundary.

One pure module (as shared.py in the money-transfer template), imported by the app, the worker
and the activities, so the names can never drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from definitions.context import SlaInfo
from definitions.cursor import Outcome
from definitions.evaluator import ConditionOutcome
from definitions.events import Event
from definitions.models import (
    ActionStep,
    ConditionStep,
    OnFailure,
    WaitEvent,
    WaitOutcome,
    WorkflowDefinitionIn,
)

WORKFLOW_RUN = "WorkflowRun"
CONVERSATION_SLA = "ConversationSla"
#: The query a WorkflowRun answers with its `RunResult` so far.
TRACE_QUERY = "trace"
# The search attributes are declared once, in `temporal_edge.SearchAttr`.

# Loop guard: no run starts for an event whose causal chain is deeper than this.
MAX_CAUSAL_DEPTH = 5

# Activity names (activities are called by name: the worker registers them under these).
ACT_EVALUATE_CONDITION = "evaluate_condition"
ACT_PERFORM_ACTION = "perform_action"
#: A condition and the action it guards in one local activity (`StepCursor.guarded_action`).
ACT_PERFORM_GUARDED_ACTION = "perform_guarded_action"
ACT_DELIVER_WEBHOOK = "deliver_webhook"
ACT_DISPATCH_EVENT = "dispatch_event"
ACT_CHECK_WAIT = "check_wait"
ACT_WAIT_DEADLINE = "wait_deadline"

#: The hint ingestion sends a run waiting in a `wait_for` (SPEC §2.3): "look again".
WAIT_HINT_SIGNAL = "wait_hint"
ACT_NOTIFY_FAILURE = "notify_failure"

# Stable ApplicationError types.
ERR_NOT_FOUND = "NotFound"  # unknown team/agent: permanent
ERR_INVALID_DEFINITION = "InvalidDefinition"
ERR_WEBHOOK_REJECTED = "WebhookRejected"  # 4xx from the webhook: permanent
ERR_STEP_FAILED = "StepFailed"


# Workflow ids. Pure, because ingestion (store) names the runs it starts; every start goes
# through `temporal_edge`. Breach runs: `definitions.sla.breach_run_id`.

RETRY_MARK = ":retry:"


def run_workflow_id(definition_id: str, event_id: str) -> str:
    return f"run:{definition_id}:{event_id}"


def sla_workflow_id(conversation_id: str) -> str:
    return f"sla:{conversation_id}"


def retry_base(run_id: str) -> str:
    """`run:wf:evt:retry:2` -> `run:wf:evt`: retries of retries are numbered on the first run."""
    return run_id.split(RETRY_MARK, 1)[0]


def retry_run_id(run_id: str, number: int) -> str:
    """The id of the `number`th retry of `run_id` (or of the run it retried)."""
    return f"{retry_base(run_id)}{RETRY_MARK}{number}"


def is_retry(run_id: str) -> bool:
    return RETRY_MARK in run_id


class RunInput(BaseModel):
    """Everything a WorkflowRun needs, frozen at start: the definition version and the event."""

    definition_id: str
    definition_version: int
    definition: WorkflowDefinitionIn
    event: Event
    sla: SlaInfo | None = None
    idempotency_scope: str = Field(
        description="Actions are idempotent per (scope, step id); a retry keeps the original's"
    )
    retry_of: str | None = None
    start_refused: str | None = Field(
        default=None,
        description=(
            "Set on the record of a run Temporal refused to start (`refused_run_input`): the run "
            "fails at once with this reason, so the refusal shows in the runs list and analytics"
        ),
    )


class StartRefused(Exception):
    """A start that no retry can fix (a payload the server refuses as too large, a definition
    that cannot be serialised): the other runs of the event still start."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: The one step of a refused run's record. It never runs (the run fails before its first step);
#: it is a condition, so even a worker that does not know `start_refused` only reads.
_REFUSED_PLACEHOLDER = {
    "id": "start-refused",
    "type": "condition",
    "field": "conversation.id",
    "operator": "is_not_set",
    "on_false": "stop",
}


def refused_run_input(run_input: RunInput, reason: str) -> RunInput:
    """The small record of a run that could not be started: same ids, definition name, version
    and trigger (so its search attributes and listing are the real run's), no real steps."""
    definition = run_input.definition
    placeholder = WorkflowDefinitionIn.model_validate(
        {
            "name": definition.name,
            "status": definition.status,
            "trigger": definition.trigger.model_dump(mode="json"),
            "steps": [_REFUSED_PLACEHOLDER],
        }
    )
    return run_input.model_copy(update={"definition": placeholder, "start_refused": reason[:2000]})


class FailureNotice(BaseModel):
    """Input of the `notify_failure` local activity: a run failed for good and its definition
    has `on_failure`. Idempotent per run (its scope): a repeat notifies nobody twice."""

    run_id: str
    idempotency_scope: str
    definition_id: str
    workflow_name: str
    on_failure: OnFailure
    event: Event
    reason: str


StepStatus = Literal[
    "running", "waiting", "passed", "failed", "completed", "skipped", "cancelled", "error"
]
StepType = Literal["condition", "action", "wait", "wait_for", "branch", "stop"]
WokenBy = Literal["timer", "event", "cancelled"]


class WaitTrace(BaseModel):
    """One wait of a run: what it waits for, from when until when, and what ended it."""

    kind: Literal["wait", "wait_for"] = Field(description="A timed wait, or a wait for an event")
    waiting_for: str = Field(
        description="In words: `4h`, `customer_message`, `status_change → resolved, closed`",
        examples=["customer_message"],
    )
    event: WaitEvent | None = Field(default=None, description="wait_for: the awaited event")
    to_statuses: list[str] = Field(default=[], description="wait_for status_change: which")
    started_at: datetime = Field(description="When the wait began (the watermark)")
    deadline: datetime = Field(description="When the timer fires (absolute, fixed at the start)")
    woken_by: WokenBy | None = Field(
        default=None, description="timer, event or cancelled; null while waiting"
    )
    outcome: WaitOutcome | None = Field(default=None, description="wait_for: event or timeout")
    matched: str | None = Field(
        default=None, description="wait_for: the message or status change that ended it"
    )
    ended_at: datetime | None = Field(default=None, description="When the wait ended")
    hints: int = Field(default=0, description="Wake-up signals received while waiting")


class StepTrace(BaseModel):
    """What one step did in a run: the trace that explains it."""

    step_id: str = Field(description="The step's id in the definition", examples=["route"])
    step_type: StepType = Field(description="condition, action, wait, wait_for, branch or stop")
    action: str | None = Field(default=None, description="The action's name (action steps)")
    status: StepStatus = Field(
        description="running; waiting (waits); passed/failed (conditions, branches); completed "
        "(actions, waits); skipped; cancelled (a wait cancelled with its run); error"
    )
    started_at: datetime | None = Field(default=None, description="When the step started")
    finished_at: datetime | None = Field(default=None, description="When it finished")
    attempts: int = Field(default=0, description="Attempts made (retries included)")
    condition: ConditionOutcome | None = Field(
        default=None, description="Each rule's resolved value and result (conditions)"
    )
    on_false: str | None = Field(default=None, description="What a false condition did")
    output: dict[str, Any] | None = Field(
        default=None, description="The action's outputs, readable as steps.<id>.<output>"
    )
    rendered: dict[str, Any] | None = Field(
        default=None, description="Template params as rendered for this run"
    )
    error: str | None = Field(default=None, description="Why the step failed, in words")
    note: str | None = Field(default=None, description="Anything else worth knowing")
    wait: WaitTrace | None = Field(default=None, description="wait and wait_for steps")
    branch_taken: Literal["then", "else"] | None = Field(
        default=None, description="branch steps: the list the run entered"
    )
    path: str | None = Field(
        default=None,
        description="Where the step sits when nested: `<branch id>.then` / `<branch id>.else`",
    )


class RunResult(BaseModel):
    outcome: Outcome
    steps: list[StepTrace]
    stopped_at: str | None = None
    error: str | None = None


class ConditionInput(BaseModel):
    run_id: str
    step: ConditionStep
    event: Event
    sla: SlaInfo | None = None
    step_outputs: dict[str, dict[str, Any]] = {}
    schedule: str | None = Field(
        default=None, description="The definition's schedule id: what time.* fields read"
    )


class ActionInput(BaseModel):
    run_id: str
    idempotency_scope: str
    step: ActionStep
    event: Event
    sla: SlaInfo | None = None
    step_outputs: dict[str, dict[str, Any]] = {}
    schedule: str | None = Field(
        default=None, description="The definition's schedule id: what time.* fields read"
    )
    causal_chain: list[str] = Field(description="Run ids that led here, this run last")


class GuardedActionInput(BaseModel):
    """A condition step and the action step right after it, which runs only if it holds, and
    the action steps that follow that one (`then`, in run order), which run with it."""

    condition: ConditionInput
    action: ActionInput
    #: Their `step_outputs` lack the outputs of the actions before them in this call: the
    #: activity adds each output as it goes, as the workflow would between two steps.
    then: list[ActionInput] = []


class WebhookDelivery(BaseModel):
    """One action delivered to the outbound webhook; `idempotency_key` is (scope, step)."""

    idempotency_key: str
    action: str
    conversation_id: str
    payload: dict[str, Any]


class ActionResult(BaseModel):
    output: dict[str, Any]
    rendered: dict[str, Any] = {}
    replayed: bool = Field(
        default=False, description="True when the effect already existed (retry or re-run)"
    )
    emitted_events: list[Event] = Field(
        default=[], description="Events the action caused, e.g. a status change"
    )
    delivery: WebhookDelivery | None = None

    @property
    def followed_up(self) -> bool:
        """The workflow has more to do for it (deliver it, dispatch its events) before the next
        step may run."""
        return self.delivery is not None or bool(self.emitted_events)


class GuardedActionResult(BaseModel):
    """The condition's outcome and, when it held, the action's result (also when the action
    had taken effect already, in an attempt whose result was lost: then the condition held)."""

    condition: ConditionOutcome
    action: ActionResult | None = None
    #: The results of the first steps of `then`, in order. The call stops after an action whose
    #: result the workflow must follow up (a webhook delivery, emitted events) before the next
    #: one runs; the workflow runs the steps left one at a time.
    then: list[ActionResult] = []


class DispatchResult(BaseModel):
    run_ids: list[str]


WaitMode = Literal["check", "final", "cancel"]


class WaitCheck(BaseModel):
    """The `check_wait` activity's input: upsert the wait row (mode `check`) and look for a
    matching desk change newer than the watermark; a match, `final` (the deadline) or `cancel`
    delete the row instead."""

    workflow_id: str
    step_id: str
    conversation_id: str
    event: WaitEvent
    to_statuses: list[str] = []
    watermark: datetime
    deadline: datetime
    mode: WaitMode = "check"


class DeadlineInput(BaseModel):
    """The `wait_deadline` activity's input: a business-time deadline from the definition's
    schedule as it is now (computed once, so tz data and holidays never enter replay)."""

    schedule_id: str
    start: datetime
    business_seconds: int | None = Field(
        default=None, description="Business time to add; None: until the schedule is next open"
    )
    jitter_seconds: int = Field(
        default=0, description="Added to an `until open` deadline so 09:00 is not a stampede"
    )


class Deadline(BaseModel):
    deadline: datetime
    local: str = Field(
        description="The deadline on the schedule's clock: `Tue 10:00 Europe/Berlin`"
    )


class WaitFound(BaseModel):
    """What `check_wait` found: the desk change that ends the wait_for (what it was and when
    supportflow learned of it), or nothing yet."""

    found: bool = False
    description: str | None = None
    recorded_at: datetime | None = None


# ---------------------------------------------------------------- SLA tracker (ConversationSla)

SLA_EVENT_SIGNAL = "conversation_event"  # every event of the conversation, via signal-with-start
SLA_REFRESH_SIGNAL = "definitions_changed"  # sla_breach definitions were created/changed/deleted


class SlaTrackerInput(BaseModel):
    conversation_id: str
    carried_state: dict[str, Any] | None = Field(
        default=None, description="State handed over by continue-as-new"
    )


class SlaSignal(BaseModel):
    event: Event
    accepted_at: datetime | None = Field(
        default=None,
        description="When ingestion accepted the event: bounds its occurred_at for the tracker "
        "(None: the tracker's clock at receipt)",
    )
