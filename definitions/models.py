"""The definition language (SPEC §2) as pydantic models: triggers, condition and action steps.

Every variant is tagged (`type`, `action`), inputs forbid unknown keys, and cross-field rules live
in validators that raise ValueError, so a bad definition is rejected at save time with the
location of the offending field. Decoded from Temporal (context `definitions.wire.WIRE`), the same
models drop unknown keys and skip the catalogue and limit checks: a run keeps the definition it was
started with, whatever today's code would say about it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
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
from definitions.fields import TIME_PREFIX, describe_unknown, field_spec, is_attribute_key
from definitions.limits import (
    LINE_PATTERN,
    MAX_ACTION_TAGS,
    MAX_CONDITION_DEPTH,
    MAX_DEFINITION_BYTES,
    MAX_ITEMS,
    MAX_STEPS,
    Name,
    Text,
    check_value,
    too_deep_group,
)
from definitions.operators import Operator, check_operator, check_regex, normalise_value
from definitions.placeholders import (
    STEP_PREFIX,
    Placeholder,
    check_field_placeholders,
    parse_placeholders,
)
from definitions.vocabulary import (
    IDLE_DEFAULT_STATUSES,
    Channel,
    Priority,
    SlaType,
    Status,
    TriggerSenderType,
    UpdatedField,
    WaitingOn,
)
from definitions.wire import Strict, on_the_wire

# ---------------------------------------------------------------- triggers


class NewConversationTrigger(Strict):
    """Fires when a conversation is created."""

    type: Literal["new_conversation"] = Field(description="Trigger type")
    channels: list[Channel] = Field(
        default=[], max_length=MAX_ITEMS, description="Channels to match; empty = any"
    )
    customer_segments: list[Name] = Field(
        default=[],
        max_length=MAX_ITEMS,
        description="Customer segments to match (e.g. vip); empty = any",
    )
    initiated_by: Literal["customer", "agent", "any"] | None = Field(
        default=None,
        description="Only conversations the customer started, or an agent started (outbound); "
        "any (or null, the default): both, and conversations whose initiator is not said",
        examples=["customer"],
    )


def _compiles(pattern: str, info: ValidationInfo) -> str:
    if not on_the_wire(info):
        check_regex(pattern)
    return pattern


# A regular expression, checked when saved; an error's location names its index in the list.
Pattern = Annotated[
    str, Field(min_length=1, max_length=1000, pattern=LINE_PATTERN), AfterValidator(_compiles)
]


class NewMessageTrigger(Strict):
    """Fires when a message is received (never for messages written by automations)."""

    type: Literal["new_message"] = Field(description="Trigger type")
    sender_types: list[TriggerSenderType] = Field(
        default=[], max_length=MAX_ITEMS, description="customer, agent or ai; empty = any"
    )
    content_patterns: list[Pattern] = Field(
        default=[],
        max_length=MAX_ITEMS,
        description="RE2 regular expressions, case-insensitive; any one matching is enough",
        examples=[["refund|money back", "cancel(l)?ation"]],
    )
    channels: list[Channel] = Field(
        default=[], max_length=MAX_ITEMS, description="Channels to match; empty = any"
    )


class SlaBreachTrigger(Strict):
    """Fires when an SLA clock passes the threshold without being satisfied."""

    type: Literal["sla_breach"] = Field(description="Trigger type")
    sla_type: SlaType = Field(description="first_response, resolution or reply")
    threshold: Name = Field(
        description='How long the clock may run: "45s", "30m", "4h", "2d" or ISO-8601 "PT30M"',
        examples=["30m", "4h"],
    )
    business_hours: bool = Field(
        default=False,
        description="Count only the open hours of the definition's schedule (needs `schedule`)",
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
    from_statuses: list[Status] = Field(
        default=[], max_length=MAX_ITEMS, description="Previous statuses; empty = any"
    )
    to_statuses: list[Status] = Field(
        default=[], max_length=MAX_ITEMS, description="New statuses; empty = any"
    )
    transitions: list[Transition] = Field(
        default=[],
        max_length=MAX_ITEMS,
        description="If given, only these exact {from, to} changes fire",
    )


TagName = Annotated[Name, Field(min_length=1)]


class ConversationUpdatedTrigger(Strict):
    """Fires when the desk or one of our actions changes tags, priority, assignment or custom
    attributes (a conversation.updated event)."""

    type: Literal["conversation_updated"] = Field(description="Trigger type")
    fields: list[UpdatedField] = Field(
        default=[],
        description="Changed fields to react to (tags, priority, assignee_team, assignee_agent, "
        "attributes); empty = any",
        examples=[["priority"]],
    )
    tags_added: list[TagName] = Field(
        default=[],
        description="Fire only when one of these tags was added (or, with tags_removed, removed)",
        examples=[["vip"]],
    )
    tags_removed: list[TagName] = Field(
        default=[],
        description="Fire only when one of these tags was removed (or, with tags_added, added)",
        examples=[["vip"]],
    )


class ConversationIdleTrigger(Strict):
    """Fires once per idle period: the conversation has waited on one side for `idle_for`."""

    type: Literal["conversation_idle"] = Field(description="Trigger type")
    waiting_on: WaitingOn = Field(
        description="customer: our (agent, AI or automation) message is unanswered; "
        "agent: the customer's message is unanswered by an agent or AI"
    )
    idle_for: str = Field(
        description='How long the conversation must stay idle: "30m", "24h", "2d" or "PT24H"',
        examples=["24h", "48h"],
    )
    business_hours: bool = Field(
        default=False,
        description="Count only the open hours of the definition's schedule (needs `schedule`)",
    )
    statuses: list[Status] = Field(
        default=list(IDLE_DEFAULT_STATUSES),
        description="Fires only while the conversation is in one of these; empty = any",
    )

    @field_validator("idle_for")
    @classmethod
    def _idle_for_parses(cls, idle_for: str) -> str:
        parse_duration(idle_for)
        return idle_for

    @property
    def idle_seconds(self) -> int:
        return int(parse_duration(self.idle_for).total_seconds())


Trigger = Annotated[
    NewConversationTrigger
    | NewMessageTrigger
    | SlaBreachTrigger
    | StatusChangeTrigger
    | ConversationUpdatedTrigger
    | ConversationIdleTrigger,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------- conditions


class Rule(Strict):
    """One comparison of a field of the run context with a value."""

    field: Name = Field(
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
    def _field_known(cls, path: str, info: ValidationInfo) -> str:
        if not on_the_wire(info) and field_spec(path) is None:
            raise ValueError(describe_unknown(path))
        return path

    @field_validator("operator")
    @classmethod
    def _operator_fits(cls, operator: Operator, info: ValidationInfo) -> Operator:
        spec = field_spec(info.data.get("field", ""))
        if spec is not None and not on_the_wire(info):
            check_operator(spec, operator)
        return operator

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        if on_the_wire(info):  # checked and normalised when saved
            return value
        check_value(value)
        spec = field_spec(info.data.get("field", ""))
        operator = info.data.get("operator")
        if spec is None or operator is None:
            return value
        return normalise_value(spec, operator, value)


class AllGroup(Strict):
    """True when every member is true."""

    all: list[Condition] = Field(
        min_length=1, max_length=MAX_ITEMS, description="Rules or groups that must all hold"
    )


class AnyGroup(Strict):
    """True when at least one member is true."""

    any: list[Condition] = Field(
        min_length=1, max_length=MAX_ITEMS, description="Rules or groups, one must hold"
    )


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
    field: Name | None = Field(default=None, description="Single rule: the field path")
    operator: Operator | None = Field(default=None, description="Single rule: the operator")
    value: Any = Field(default=None, description="Single rule: the value")
    all: list[Condition] | None = Field(
        default=None, min_length=1, max_length=MAX_ITEMS, description="Group: every member true"
    )
    any: list[Condition] | None = Field(
        default=None, min_length=1, max_length=MAX_ITEMS, description="Group: one member true"
    )
    on_false: OnFalse = Field(
        default="stop", description="stop the run, continue, or skip_next (skip the next step)"
    )

    @model_validator(mode="before")
    @classmethod
    def _shallow_enough(cls, raw: Any, info: ValidationInfo) -> Any:
        # Before the members are validated: a group nested hundreds deep is refused at once.
        if on_the_wire(info):
            return raw
        loc = too_deep_group(raw)
        if loc is not None:
            reject_at(
                loc,
                f"condition groups nest at most {MAX_CONDITION_DEPTH} deep",
                None,
                title="ConditionStep",
                kind="too_deep",
            )
        return raw

    @model_validator(mode="after")
    def _one_form(self, info: ValidationInfo) -> ConditionStep:
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
            if not on_the_wire(info):
                # Validate through Rule so the messages are the same everywhere.
                rule = Rule(field=self.field, operator=self.operator, value=self.value)
                self.value = rule.value
        return self

    @property
    def condition(self) -> Condition:
        # Built from parts validated already (`model_construct`: no catalogue check again, so a
        # run whose definition was saved under another catalogue still reads its condition).
        if self.all is not None:
            return AllGroup.model_construct(all=self.all)
        if self.any is not None:
            return AnyGroup.model_construct(any=self.any)
        assert self.field is not None and self.operator is not None
        return Rule.model_construct(field=self.field, operator=self.operator, value=self.value)


# ---------------------------------------------------------------- actions

Template = Annotated[Text, Field(max_length=5000)]


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
    agent: Name | None = Field(default=None, description="Agent id to assign")
    team: Name | None = Field(default=None, description="Team id to assign")
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
    tags: list[TagName] = Field(
        min_length=1,
        max_length=MAX_ACTION_TAGS,
        description="Tags to add",
        examples=[["refund", "billing"]],
    )


class RemoveTagParams(_Params):
    tags: list[TagName] = Field(
        min_length=1,
        max_length=MAX_ACTION_TAGS,
        description="Tags to remove (absent ones are ignored)",
        examples=[["vip"]],
    )


class SetPriorityParams(_Params):
    priority: Priority | None = Field(
        default=None,
        description="low, normal, high, urgent, or null (or omitted) for none",
        examples=["high", None],
    )


class AddNoteParams(_Params):
    note: Template = Field(
        min_length=1,
        description="Internal note for agents (the customer never sees it); placeholders allowed",
        examples=["Refund policy: full refund within 30 days of purchase."],
    )

    def templates(self) -> dict[str, str]:
        return {"note": self.note}


class SetAttributeParams(_Params):
    key: str = Field(
        min_length=1,
        max_length=64,
        description="Conversation attribute to set (letters, digits, _ and -)",
        examples=["refund_requested"],
    )
    value: Template = Field(
        description="The value; placeholders allowed", examples=["{{message.content}}", "yes"]
    )

    @field_validator("key")
    @classmethod
    def _key_is_attribute(cls, key: str, info: ValidationInfo) -> str:
        if not on_the_wire(info) and not is_attribute_key(key):
            raise ValueError(f"{key!r} is not an attribute key (letters, digits, _ and -)")
        return key

    def templates(self) -> dict[str, str]:
        return {"value": self.value}


class ChangeStatusParams(_Params):
    status: Status = Field(description="New status")


class CreateTicketParams(_Params):
    title: Template = Field(min_length=1, description="Ticket title; placeholders allowed")
    description: Template = Field(default="", description="Ticket body; placeholders allowed")
    priority: Priority = Field(
        default="normal", description="low, normal, high or urgent", examples=["high"]
    )
    team: Name | None = Field(default=None, description="Team owning the ticket")

    def templates(self) -> dict[str, str]:
        return {"title": self.title, "description": self.description}


class NotifyParams(_Params):
    team: Name | None = Field(default=None, description="Notify every member of this team")
    agent: Name | None = Field(default=None, description="Notify this agent")
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
    to: Name | None = Field(
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


class RemoveTagStep(_ActionStep):
    """Removes tags (idempotent)."""

    action: Literal["remove_tag"] = Field(description="Action name")
    params: RemoveTagParams = Field(description="Parameters of the action")


class SetPriorityStep(_ActionStep):
    """Sets the priority (null: none)."""

    action: Literal["set_priority"] = Field(description="Action name")
    params: SetPriorityParams = Field(description="Parameters of the action")


class AddNoteStep(_ActionStep):
    """Adds an internal note: agents see it, the customer never does, no trigger matches it."""

    action: Literal["add_note"] = Field(description="Action name")
    params: AddNoteParams = Field(description="Parameters of the action")


class SetAttributeStep(_ActionStep):
    """Sets a conversation attribute (readable as conversation.attributes.<key>)."""

    action: Literal["set_attribute"] = Field(description="Action name")
    params: SetAttributeParams = Field(description="Parameters of the action")


ActionStep = Annotated[
    AutoReplyStep
    | RouteStep
    | AddTagStep
    | ChangeStatusStep
    | CreateTicketStep
    | NotifyStep
    | EscalateStep
    | RemoveTagStep
    | SetPriorityStep
    | AddNoteStep
    | SetAttributeStep,
    Field(discriminator="action"),
]


# ---------------------------------------------------------------- time and flow (SPEC §2.3)

#: The longest a `wait` may last.
MAX_WAIT = timedelta(days=90)
#: Branches nest at most this deep (a branch inside a branch inside a branch).
MAX_BRANCH_DEPTH = 3

StepId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Unique in the whole definition (nested steps included)",
    ),
]
WaitEvent = Literal["customer_message", "agent_message", "status_change"]
WaitOutcome = Literal["event", "timeout"]
AfterWait = Literal["continue", "stop"]


def _wait_duration(text: str, info: ValidationInfo, *, limit: timedelta = MAX_WAIT) -> str:
    if parse_duration(text) > limit and not on_the_wire(info):
        raise ValueError(f"{text!r} is longer than the longest wait, {limit.days} days")
    return text


class WaitStep(Strict):
    """Pauses the run for a duration (durable, on a Temporal timer), or until the definition's
    schedule is next open."""

    model_config = ConfigDict(
        extra="forbid",
        validate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra={
            "examples": [
                {"id": "cool-off", "type": "wait", "for": "4h", "business_hours": False},
                {"id": "until-open", "type": "wait", "until": "open"},
            ]
        },
    )

    id: StepId
    type: Literal["wait"] = Field(description="A wait step")
    for_: str | None = Field(
        default=None,
        alias="for",
        description='How long: "30m", "4h", "2d" (at most 90 days)',
        examples=["4h"],
    )
    business_hours: bool = Field(
        default=False,
        description="Count only the open hours of the definition's schedule (needs `schedule`)",
    )
    until: Literal["open"] | None = Field(
        default=None,
        description='"open": resume when the schedule is next open, at once if it is open now '
        "(needs `schedule`)",
    )

    @field_validator("for_")
    @classmethod
    def _for_parses(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _wait_duration(value, info)

    @model_validator(mode="after")
    def _one_form(self) -> WaitStep:
        if (self.for_ is None) == (self.until is None):
            raise ValueError("a wait has either 'for' (a duration) or 'until': \"open\"")
        if self.until is not None and self.business_hours:
            raise ValueError("'business_hours' goes with 'for', not with 'until'")
        return self

    @property
    def seconds(self) -> int | None:
        return None if self.for_ is None else int(parse_duration(self.for_).total_seconds())

    @property
    def needs_schedule(self) -> bool:
        return self.business_hours or self.until is not None


class WaitForStep(Strict):
    """Waits until a customer message, an agent (or AI) message or a status change happens on the
    run's conversation after the wait began, or the timeout passes. Output
    `steps.<id>.outcome`: `event` or `timeout`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "reply",
                    "type": "wait_for",
                    "event": "customer_message",
                    "timeout": "48h",
                    "on_event": "stop",
                    "on_timeout": "continue",
                }
            ]
        },
    )

    id: StepId
    type: Literal["wait_for"] = Field(description="A wait for an event, with a timeout")
    event: WaitEvent = Field(
        description="customer_message, agent_message (includes AI) or status_change; automation "
        "messages never count"
    )
    to_statuses: list[Status] = Field(
        default=[], description="status_change only: the new statuses that count; empty = any"
    )
    timeout: str = Field(
        description='How long to wait at most: "30m", "48h", "2d" (at most 90 days)',
        examples=["48h"],
    )
    business_hours: bool = Field(
        default=False,
        description="Count the timeout in the schedule's open hours (needs `schedule`)",
    )
    on_event: AfterWait = Field(default="continue", description="What the event does to the run")
    on_timeout: AfterWait = Field(
        default="continue", description="What the timeout does to the run"
    )

    @field_validator("timeout")
    @classmethod
    def _timeout_parses(cls, value: str, info: ValidationInfo) -> str:
        return _wait_duration(value, info)

    @model_validator(mode="after")
    def _statuses_fit(self) -> WaitForStep:
        if self.to_statuses and self.event != "status_change":
            raise ValueError("'to_statuses' only goes with event 'status_change'")
        return self

    @property
    def seconds(self) -> int:
        return int(parse_duration(self.timeout).total_seconds())

    @property
    def needs_schedule(self) -> bool:
        return self.business_hours


class BranchStep(Strict):
    """If/else: the `then` steps when the condition holds, else the `else` steps (either may be
    empty); afterwards the run goes on with the step after the branch."""

    model_config = ConfigDict(
        extra="forbid",
        validate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "still-pending",
                    "type": "branch",
                    "if": {
                        "field": "conversation.status",
                        "operator": "equals",
                        "value": "pending",
                    },
                    "then": [
                        {
                            "id": "nudge",
                            "type": "action",
                            "action": "auto_reply",
                            "params": {"message": "Anything else we can help with?"},
                        }
                    ],
                    "else": [],
                }
            ]
        },
    )

    id: StepId
    type: Literal["branch"] = Field(description="An if/else branch")
    if_: Condition = Field(
        alias="if",
        description="A rule {field, operator, value} or a group {all: [...]} / {any: [...]}",
    )
    then: list[Step] = Field(default=[], description="Steps run when the condition holds")
    else_: list[Step] = Field(default=[], alias="else", description="Steps run otherwise")

    def as_condition(self) -> ConditionStep:
        """The branch's test as a condition step (how conditions are evaluated and traced),
        built from parts validated already (see `ConditionStep.condition`)."""
        condition = self.if_
        if isinstance(condition, AllGroup):
            return ConditionStep.model_construct(id=self.id, type="condition", all=condition.all)
        if isinstance(condition, AnyGroup):
            return ConditionStep.model_construct(id=self.id, type="condition", any=condition.any)
        return ConditionStep.model_construct(
            id=self.id,
            type="condition",
            field=condition.field,
            operator=condition.operator,
            value=condition.value,
        )


class StopStep(Strict):
    """Ends the run, outcome `stopped`."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"id": "done", "type": "stop"}]}
    )

    id: StepId
    type: Literal["stop"] = Field(description="Stop the run")


STEP_TYPES = ("condition", "action", "wait", "wait_for", "branch", "stop")


def _step_kind(raw: Any) -> str | None:
    value = raw.get("type") if isinstance(raw, dict) else getattr(raw, "type", None)
    return value if value in STEP_TYPES else None


# Tagged by a function rather than Field(discriminator=...): a string discriminator over a nested
# tagged union makes pydantic emit an OpenAPI mapping that is not a $ref, which breaks /docs.
Step = Annotated[
    Annotated[ConditionStep, Tag("condition")]
    | Annotated[ActionStep, Tag("action")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[WaitForStep, Tag("wait_for")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[StopStep, Tag("stop")],
    Discriminator(
        _step_kind,
        custom_error_type="invalid_step_type",
        custom_error_message=(
            "a step's 'type' must be one of: condition, action, wait, wait_for, branch, stop"
        ),
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
    "remove_tag": ("tags",),
    "set_priority": ("priority", "previous_priority"),
    "add_note": ("message_id", "note"),
    "set_attribute": ("key", "value"),
}
#: What the other step types expose (keyed by step type).
STEP_OUTPUTS: dict[str, tuple[str, ...]] = {"wait_for": ("outcome",)}

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

    name: Name = Field(min_length=1, description="Name", examples=["VIP Customer Auto-Route"])
    description: Text = Field(
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
        min_length=1,
        max_length=MAX_STEPS,
        description="Steps, run in order: condition, action, wait, wait_for, branch, stop",
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
    def _small_enough(self, info: ValidationInfo) -> WorkflowDefinitionIn:
        if on_the_wire(info):
            return self
        definition = self.model_dump_json(include=set(WorkflowDefinitionIn.model_fields))
        size = len(definition.encode())
        if size > MAX_DEFINITION_BYTES:
            reject_at(
                (),
                f"a definition is at most {MAX_DEFINITION_BYTES // 1024} KiB of JSON, "
                f"this one is {size // 1024} KiB",
                None,
                title=TITLE,
                kind="too_large",
            )
        return self

    @model_validator(mode="after")
    def _business_time_has_a_schedule(self, info: ValidationInfo) -> WorkflowDefinitionIn:
        if on_the_wire(info):
            return self
        trigger = self.trigger
        business = getattr(trigger, "business_hours", False)  # sla_breach, conversation_idle
        if business and self.schedule is None:
            reject_at(
                ("trigger", "business_hours"),
                "business_hours needs the definition's 'schedule' (the business hours to count)",
                True,
                title=TITLE,
                kind="invalid_definition",
            )
        return self

    @model_validator(mode="after")
    def _steps_consistent(self, info: ValidationInfo) -> WorkflowDefinitionIn:
        if on_the_wire(info):
            return self
        seen: dict[str, str] = {}  # step id -> what it outputs: action name, "wait_for" or ""
        for loc, step, depth in walk_steps(self.steps):
            if step.id in seen:
                reject_at(
                    (*loc, "id"),
                    f"duplicate step id {step.id!r} (ids are unique across nested steps too)",
                    step.id,
                    title=TITLE,
                    kind="invalid_definition",
                )
            if isinstance(step, BranchStep) and depth >= MAX_BRANCH_DEPTH:
                reject_at(
                    (*loc, "type"),
                    f"branches nest at most {MAX_BRANCH_DEPTH} deep",
                    step.type,
                    title=TITLE,
                    kind="invalid_definition",
                )
            self._check_schedule_needs(loc, step)
            for rule_loc, rule in _rules_of(loc, step):
                if rule.field.startswith(STEP_PREFIX):
                    try:
                        _check_outcome_ref(rule.field, seen)
                    except ValueError as exc:
                        reject_at(
                            (*rule_loc, "field"),
                            str(exc),
                            rule.field,
                            title=TITLE,
                            kind="invalid_definition",
                        )
            if step.type == "action":
                for param, template in step.params.templates().items():
                    param_loc = (*loc, "params", param)
                    try:
                        for ref in check_field_placeholders(template):
                            _check_step_ref(ref, seen)
                    except ValueError as exc:
                        reject_at(
                            param_loc, str(exc), template, title=TITLE, kind="invalid_definition"
                        )
            seen[step.id] = (
                step.action
                if step.type == "action"
                else step.type
                if step.type in STEP_OUTPUTS
                else ""
            )
        return self

    def _check_schedule_needs(self, loc: tuple[Any, ...], step: Any) -> None:
        """Business time and the time.* fields need the definition's `schedule`."""
        if getattr(self, "schedule", None):
            return
        if isinstance(step, WaitStep | WaitForStep) and step.needs_schedule:
            where = "until" if isinstance(step, WaitStep) and step.until else "business_hours"
            reject_at(
                (*loc, where),
                "business time needs the definition's 'schedule' (a schedule id)",
                getattr(step, where),
                title=TITLE,
                kind="invalid_definition",
            )
        for rule_loc, rule in _rules_of(loc, step):
            if rule.field.startswith(TIME_PREFIX):
                reject_at(
                    (*rule_loc, "field"),
                    f"{rule.field} needs the definition's 'schedule' (a schedule id)",
                    rule.field,
                    title=TITLE,
                    kind="invalid_definition",
                )
        if step.type == "action":
            for param, template in step.params.templates().items():
                try:
                    placeholders = parse_placeholders(template)
                except ValueError:
                    continue  # malformed: reported at its location by the placeholder check
                for placeholder in placeholders:
                    if placeholder.path.startswith(TIME_PREFIX):
                        reject_at(
                            (*loc, "params", param),
                            f"{{{{{placeholder.path}}}}} needs the definition's 'schedule' "
                            "(a schedule id)",
                            template,
                            title=TITLE,
                            kind="invalid_definition",
                        )


Loc = tuple[Any, ...]


def walk_steps(
    steps: Sequence[Any], loc: Loc = ("steps",), depth: int = 0
) -> Iterator[tuple[Loc, Any, int]]:
    """Every step in run order (a branch, then its then-steps, then its else-steps), with its
    location (as pydantic reports it) and how many branches it is nested in."""
    for index, step in enumerate(steps):
        here = (*loc, index)
        yield here, step, depth
        if isinstance(step, BranchStep):
            yield from walk_steps(step.then, (*here, "then"), depth + 1)
            yield from walk_steps(step.else_, (*here, "else"), depth + 1)


def _rules_of(loc: Loc, step: Any) -> Iterator[tuple[Loc, Rule]]:
    """The rules a condition or branch step reads, with their locations."""
    if isinstance(step, ConditionStep):
        if step.field is not None:
            yield loc, step.condition  # type: ignore[misc]
            return
        yield from _rules_in(loc, step.condition)
    elif isinstance(step, BranchStep):
        yield from _rules_in((*loc, "if"), step.if_)


def _rules_in(loc: Loc, condition: Condition) -> Iterator[tuple[Loc, Rule]]:
    if isinstance(condition, Rule):
        yield loc, condition
        return
    if isinstance(condition, AllGroup):
        key, members = "all", condition.all
    else:
        key, members = "any", condition.any
    for index, member in enumerate(members):
        yield from _rules_in((*loc, key, index), member)


def _check_outcome_ref(path: str, earlier: dict[str, str]) -> None:
    step_id = path[len(STEP_PREFIX) :].split(".")[0]
    if earlier.get(step_id) != "wait_for":
        raise ValueError(f"{path} refers to {step_id!r}, which is not an earlier wait_for step")


def _check_step_ref(ref: Placeholder, earlier: dict[str, str]) -> None:
    parts = ref.path[len(STEP_PREFIX) :].split(".")
    if len(parts) != 2:
        raise ValueError(f"placeholder {{{{{ref.path}}}}} must be steps.<step id>.<output>")
    step_id, output = parts
    if step_id not in earlier or not earlier[step_id]:
        raise ValueError(
            f"placeholder {{{{{ref.path}}}}} refers to {step_id!r}, which is not an earlier "
            "action step (nor an earlier wait_for step)"
        )
    outputs = ACTION_OUTPUTS.get(earlier[step_id]) or STEP_OUTPUTS[earlier[step_id]]
    if output not in outputs:
        raise ValueError(
            f"step {step_id!r} ({earlier[step_id]}) has no output {output!r}; "
            f"it has: {', '.join(outputs)}"
        )


AllGroup.model_rebuild()
BranchStep.model_rebuild()
AnyGroup.model_rebuild()
ConditionStep.model_rebuild()
