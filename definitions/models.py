"""The definition language (SPEC §2) as pydantic models: triggers, condition and action steps.

Every variant is tagged (`type`, `action`), inputs forbid unknown keys, and cross-field rules live
in validators that raise ValueError, so a bad definition is rejected at save time with the
location of the offending field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from definitions.durations import parse_duration
from definitions.errors import reject_at
from definitions.fields import describe_unknown, field_spec
from definitions.operators import Operator, check_operator, check_regex, normalise_value
from definitions.placeholders import STEP_PREFIX, Placeholder, check_field_placeholders
from definitions.vocabulary import Channel, Priority, SlaType, Status, TriggerSenderType


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- triggers


class NewConversationTrigger(Strict):
    """Fires when a conversation is created."""

    type: Literal["new_conversation"] = Field(description="Trigger type")
    channels: list[Channel] = Field(default=[], description="Channels to match; empty = any")
    customer_segments: list[str] = Field(
        default=[], description="Customer segments to match (e.g. vip); empty = any"
    )
    initiated_by: Literal["customer", "agent", "any"] | None = Field(
        default=None,
        description="Only conversations the customer started, or an agent started (outbound); "
        "any (or null, the default): both, and conversations whose initiator is not said",
        examples=["customer"],
    )


def _compiles(pattern: str) -> str:
    check_regex(pattern)
    return pattern


# A regular expression, checked when saved; an error's location names its index in the list.
Pattern = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_compiles)]


class NewMessageTrigger(Strict):
    """Fires when a message is received (never for messages written by automations)."""

    type: Literal["new_message"] = Field(description="Trigger type")
    sender_types: list[TriggerSenderType] = Field(
        default=[], description="customer, agent or ai; empty = any"
    )
    content_patterns: list[Pattern] = Field(
        default=[],
        description="RE2 regular expressions, case-insensitive; any one matching is enough",
        examples=[["refund|money back", "cancel(l)?ation"]],
    )
    channels: list[Channel] = Field(default=[], description="Channels to match; empty = any")


class SlaBreachTrigger(Strict):
    """Fires when an SLA clock passes the threshold without being satisfied."""

    type: Literal["sla_breach"] = Field(description="Trigger type")
    sla_type: SlaType = Field(description="first_response, resolution or reply")
    threshold: str = Field(
        description='How long the clock may run: "45s", "30m", "4h", "2d" or ISO-8601 "PT30M"',
        examples=["30m", "4h"],
    )

    @field_validator("threshold")
    @classmethod
    def _threshold_parses(cls, threshold: str) -> str:
        parse_duration(threshold)
        return threshold

    @property
    def threshold_seconds(self) -> int:
        return int(parse_duration(self.threshold).total_seconds())


class Transition(Strict):
    from_: Status = Field(alias="from", description="Status before the change")
    to: Status = Field(description="Status after the change")

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)


class StatusChangeTrigger(Strict):
    """Fires when a conversation's status changes."""

    type: Literal["status_change"] = Field(description="Trigger type")
    from_statuses: list[Status] = Field(default=[], description="Previous statuses; empty = any")
    to_statuses: list[Status] = Field(default=[], description="New statuses; empty = any")
    transitions: list[Transition] = Field(
        default=[], description="If given, only these exact {from, to} changes fire"
    )


Trigger = Annotated[
    NewConversationTrigger | NewMessageTrigger | SlaBreachTrigger | StatusChangeTrigger,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------- conditions


class Rule(Strict):
    """One comparison of a field of the run context with a value."""

    field: str = Field(
        description="Dotted field path, e.g. customer.segment", examples=["customer.segment"]
    )
    operator: Operator = Field(description="How to compare")
    value: Any = Field(
        default=None,
        validate_default=True,
        description="What to compare with (a list for in/not_in; none for is_set/is_not_set)",
    )

    @field_validator("field")
    @classmethod
    def _field_known(cls, path: str) -> str:
        if field_spec(path) is None:
            raise ValueError(describe_unknown(path))
        return path

    @field_validator("operator")
    @classmethod
    def _operator_fits(cls, operator: Operator, info: ValidationInfo) -> Operator:
        spec = field_spec(info.data.get("field", ""))
        if spec is not None:
            check_operator(spec, operator)
        return operator

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        spec = field_spec(info.data.get("field", ""))
        operator = info.data.get("operator")
        if spec is None or operator is None:
            return value
        return normalise_value(spec, operator, value)


class AllGroup(Strict):
    """True when every member is true."""

    all: list[Condition] = Field(min_length=1, description="Rules or groups that must all hold")


class AnyGroup(Strict):
    """True when at least one member is true."""

    any: list[Condition] = Field(min_length=1, description="Rules or groups, one must hold")


def _condition_kind(raw: Any) -> str:
    if isinstance(raw, dict):
        return "all" if "all" in raw else "any" if "any" in raw else "rule"
    return "all" if isinstance(raw, AllGroup) else "any" if isinstance(raw, AnyGroup) else "rule"


Condition = Annotated[
    Annotated[Rule, Tag("rule")]
    | Annotated[AllGroup, Tag("all")]
    | Annotated[AnyGroup, Tag("any")],
    Discriminator(_condition_kind),
]

OnFalse = Literal["stop", "continue", "skip_next"]


class ConditionStep(Strict):
    """A condition: a single rule (field/operator/value) or a group (all/any), and what to do
    when it is false."""

    id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Unique in the definition; later steps read outputs as steps.<id>.<output>",
        examples=["is-vip"],
    )
    type: Literal["condition"] = Field(description="A condition step")
    field: str | None = Field(default=None, description="Single rule: the field path")
    operator: Operator | None = Field(default=None, description="Single rule: the operator")
    value: Any = Field(default=None, description="Single rule: the value")
    all: list[Condition] | None = Field(
        default=None, min_length=1, description="Group: every member true"
    )
    any: list[Condition] | None = Field(
        default=None, min_length=1, description="Group: one member true"
    )
    on_false: OnFalse = Field(
        default="stop", description="stop the run, continue, or skip_next (skip the next step)"
    )

    @model_validator(mode="after")
    def _one_form(self) -> ConditionStep:
        single = self.field is not None or self.operator is not None or self.value is not None
        forms = [single, self.all is not None, self.any is not None]
        if sum(forms) != 1:
            raise ValueError(
                "a condition is either a single rule (field, operator, value) or one group "
                "('all' or 'any'), exactly one of them"
            )
        if forms[0]:
            if self.field is None or self.operator is None:
                raise ValueError("a single-rule condition needs both 'field' and 'operator'")
            # Validate through Rule so the messages are the same everywhere.
            rule = Rule(field=self.field, operator=self.operator, value=self.value)
            self.value = rule.value
        return self

    @property
    def condition(self) -> Condition:
        if self.all is not None:
            return AllGroup(all=self.all)
        if self.any is not None:
            return AnyGroup(any=self.any)
        assert self.field is not None and self.operator is not None
        return Rule(field=self.field, operator=self.operator, value=self.value)


# ---------------------------------------------------------------- actions

Template = Annotated[str, Field(max_length=5000)]


class _Params(Strict):
    def templates(self) -> dict[str, str]:
        """The params that are templates (rendered with placeholders at run time)."""
        return {}


class AutoReplyParams(_Params):
    message: Template = Field(
        min_length=1,
        description="Reply text; placeholders allowed",
        examples=['Hi {{customer.name | default: "there"}}, thanks for writing!'],
    )

    def templates(self) -> dict[str, str]:
        return {"message": self.message}


class RouteParams(_Params):
    agent: str | None = Field(default=None, description="Agent id to assign")
    team: str | None = Field(default=None, description="Team id to assign")
    strategy: Literal["direct", "round_robin", "least_busy"] = Field(
        default="direct", description="direct, or pick a team member: round_robin / least_busy"
    )

    @model_validator(mode="after")
    def _exactly_one_target(self) -> RouteParams:
        if (self.agent is None) == (self.team is None):
            raise ValueError("route needs exactly one of 'agent' or 'team'")
        if self.agent is not None and self.strategy != "direct":
            raise ValueError(f"strategy {self.strategy!r} needs a 'team', not an 'agent'")
        return self


class AddTagParams(_Params):
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, description="Tags to add", examples=[["refund", "billing"]]
    )


class ChangeStatusParams(_Params):
    status: Status = Field(description="New status")


class CreateTicketParams(_Params):
    title: Template = Field(min_length=1, description="Ticket title; placeholders allowed")
    description: Template = Field(default="", description="Ticket body; placeholders allowed")
    priority: Priority = Field(
        default="normal", description="low, normal, high or urgent", examples=["high"]
    )
    team: str | None = Field(default=None, description="Team owning the ticket")

    def templates(self) -> dict[str, str]:
        return {"title": self.title, "description": self.description}


class NotifyParams(_Params):
    team: str | None = Field(default=None, description="Notify every member of this team")
    agent: str | None = Field(default=None, description="Notify this agent")
    message: Template = Field(min_length=1, description="Notification text; placeholders allowed")

    @model_validator(mode="after")
    def _exactly_one_target(self) -> NotifyParams:
        if (self.agent is None) == (self.team is None):
            raise ValueError("notify needs exactly one of 'agent' or 'team'")
        return self

    def templates(self) -> dict[str, str]:
        return {"message": self.message}


class EscalateParams(_Params):
    reason: Template = Field(min_length=1, description="Why; placeholders allowed")
    priority: Priority = Field(
        default="urgent", description="Priority to raise the conversation to", examples=["urgent"]
    )
    to: str | None = Field(
        default=None, description="Agent to escalate to; default: supervisor of the assigned team"
    )

    def templates(self) -> dict[str, str]:
        return {"reason": self.reason}


class _ActionStep(Strict):
    id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Unique in the definition; later steps read outputs as steps.<id>.<output>",
        examples=["route"],
    )
    type: Literal["action"] = Field(description="An action step")


class AutoReplyStep(_ActionStep):
    """Adds an automated message to the conversation and delivers it."""

    action: Literal["auto_reply"] = Field(description="Action name")
    params: AutoReplyParams = Field(description="Parameters of the action")


class RouteStep(_ActionStep):
    """Assigns the conversation to an agent or a team."""

    action: Literal["route"] = Field(description="Action name")
    params: RouteParams = Field(description="Parameters of the action")


class AddTagStep(_ActionStep):
    """Adds tags (idempotent)."""

    action: Literal["add_tag"] = Field(description="Action name")
    params: AddTagParams = Field(description="Parameters of the action")


class ChangeStatusStep(_ActionStep):
    """Changes the status (itself a status change event)."""

    action: Literal["change_status"] = Field(description="Action name")
    params: ChangeStatusParams = Field(description="Parameters of the action")


class CreateTicketStep(_ActionStep):
    """Creates a ticket linked to the conversation."""

    action: Literal["create_ticket"] = Field(description="Action name")
    params: CreateTicketParams = Field(description="Parameters of the action")


class NotifyStep(_ActionStep):
    """Notifies each member of a team, or one agent."""

    action: Literal["notify"] = Field(description="Action name")
    params: NotifyParams = Field(description="Parameters of the action")


class EscalateStep(_ActionStep):
    """Raises priority, assigns the supervisor, notifies them and tags `escalated`."""

    action: Literal["escalate"] = Field(description="Action name")
    params: EscalateParams = Field(description="Parameters of the action")


ActionStep = Annotated[
    AutoReplyStep
    | RouteStep
    | AddTagStep
    | ChangeStatusStep
    | CreateTicketStep
    | NotifyStep
    | EscalateStep,
    Field(discriminator="action"),
]


def _step_kind(raw: Any) -> str | None:
    value = raw.get("type") if isinstance(raw, dict) else getattr(raw, "type", None)
    return value if value in ("condition", "action") else None


# Tagged by a function rather than Field(discriminator=...): a string discriminator over a nested
# tagged union makes pydantic emit an OpenAPI mapping that is not a $ref, which breaks /docs.
Step = Annotated[
    Annotated[ConditionStep, Tag("condition")] | Annotated[ActionStep, Tag("action")],
    Discriminator(
        _step_kind,
        custom_error_type="invalid_step_type",
        custom_error_message="a step's 'type' must be 'condition' or 'action'",
    ),
]

# What each action exposes to later steps as {{steps.<id>.<output>}}.
ACTION_OUTPUTS: dict[str, tuple[str, ...]] = {
    "auto_reply": ("message_id", "message"),
    "route": ("agent", "team"),
    "add_tag": ("tags",),
    "change_status": ("status", "previous_status"),
    "create_ticket": ("ticket_id", "title"),
    "notify": ("recipients", "notification_ids"),
    "escalate": ("agent", "priority", "reason"),
}

# ---------------------------------------------------------------- the definition


TITLE = "WorkflowDefinitionIn"


class FailureTarget(Strict):
    """Who hears about a run that failed for good: a team (each member) or one agent."""

    team: str | None = Field(default=None, min_length=1, max_length=200, examples=["ops"])
    agent: str | None = Field(default=None, min_length=1, max_length=200, examples=["sam"])

    @model_validator(mode="after")
    def _exactly_one_target(self) -> FailureTarget:
        if (self.agent is None) == (self.team is None):
            raise ValueError("on_failure.notify needs exactly one of 'agent' or 'team'")
        return self


class OnFailure(Strict):
    """What happens when a run fails for good (SPEC §2): a desk notification and a webhook event
    naming the workflow, the conversation and the reason."""

    notify: FailureTarget = Field(description="The team or agent to notify")


class WorkflowDefinitionIn(Strict):
    """A workflow definition: one trigger, then steps run in order."""

    name: str = Field(
        min_length=1, max_length=200, description="Name", examples=["VIP Customer Auto-Route"]
    )
    description: str = Field(
        default="",
        max_length=2000,
        description="What it is for",
        examples=["Send VIP customers on WhatsApp straight to the VIP team"],
    )
    status: Literal["draft", "active"] = Field(
        default="draft", description="Only active definitions start runs"
    )
    trigger: Trigger = Field(description="When it runs: exactly one trigger")
    steps: list[Step] = Field(
        min_length=1, max_length=50, description="Condition and action steps, run in order"
    )
    schedule: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Id of the business-hours schedule that business-time steps use (SPEC §2.3)",
        examples=["support-hours"],
    )
    on_failure: OnFailure | None = Field(
        default=None,
        description="Who is notified when a run fails for good",
        examples=[{"notify": {"team": "ops"}}],
    )

    @model_validator(mode="after")
    def _steps_consistent(self) -> WorkflowDefinitionIn:
        seen: dict[str, str] = {}  # step id -> action name ("" for conditions)
        for index, step in enumerate(self.steps):
            if step.id in seen:
                reject_at(
                    ("steps", index, "id"),
                    f"duplicate step id {step.id!r}",
                    step.id,
                    title=TITLE,
                    kind="invalid_definition",
                )
            if not isinstance(step, ConditionStep):
                for param, template in step.params.templates().items():
                    loc = ("steps", index, "params", param)
                    try:
                        for ref in check_field_placeholders(template):
                            _check_step_ref(ref, seen)
                    except ValueError as exc:
                        reject_at(loc, str(exc), template, title=TITLE, kind="invalid_definition")
            seen[step.id] = "" if isinstance(step, ConditionStep) else step.action
        return self


def _check_step_ref(ref: Placeholder, earlier: dict[str, str]) -> None:
    parts = ref.path[len(STEP_PREFIX) :].split(".")
    if len(parts) != 2:
        raise ValueError(f"placeholder {{{{{ref.path}}}}} must be steps.<step id>.<output>")
    step_id, output = parts
    if step_id not in earlier or not earlier[step_id]:
        raise ValueError(
            f"placeholder {{{{{ref.path}}}}} refers to {step_id!r}, which is not an earlier "
            "action step"
        )
    outputs = ACTION_OUTPUTS[earlier[step_id]]
    if output not in outputs:
        raise ValueError(
            f"step {step_id!r} ({earlier[step_id]}) has no output {output!r}; "
            f"it has: {', '.join(outputs)}"
        )


AllGroup.model_rebuild()
AnyGroup.model_rebuild()
ConditionStep.model_rebuild()
