"""Request and response models of the HTTP API, in schema families as the FastAPI template does:
`WorkflowCreate` (the definition language itself), `WorkflowReplace`, `WorkflowUpdate` (all
optional, for PATCH), `WorkflowPublic` (the read model), `WorkflowCard`, `WorkflowsPublic(data,
count)`, `VersionPublic`... Table rows never appear in a response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from definitions.context import SlaInfo
from definitions.events import Event
from definitions.gallery import Template, TemplateCategory
from definitions.limits import MAX_STEPS, Name, Text
from definitions.models import OnFailure, Step, Trigger, WorkflowDefinitionIn
from definitions.references import Reference
from definitions.utc import as_utc
from definitions.version_changes import summarize_change
from definitions.vocabulary import TriggerType
from store import definitions_repo
from store.directory import AgentPublic, TeamPublic
from store.models import WorkflowDefinitionRow, WorkflowVersionRow

VIP_EXAMPLE: dict[str, Any] = {
    "name": "VIP Customer Auto-Route",
    "description": "Send VIP customers on WhatsApp straight to the VIP team",
    "status": "active",
    "trigger": {"type": "new_conversation", "channels": ["whatsapp"], "customer_segments": ["vip"]},
    "steps": [
        {
            "id": "is-customer",
            "type": "condition",
            "field": "customer.lifecycle",
            "operator": "equals",
            "value": "customer",
            "on_false": "stop",
        },
        {"id": "route", "type": "action", "action": "route", "params": {"team": "vip-support"}},
        {
            "id": "greet",
            "type": "action",
            "action": "auto_reply",
            "params": {
                "message": (
                    'Hi {{customer.name | default: "there"}}, a VIP specialist is on the way.'
                )
            },
        },
    ],
}

EVENT_EXAMPLE: dict[str, Any] = {
    "id": "evt-123",
    "type": "conversation.created",
    "occurred_at": "2026-11-27T10:00:00Z",
    "conversation": {"id": "c-9", "channel": "whatsapp", "status": "open", "subject": "Refund"},
    "customer": {"id": "u-4", "name": "Ada", "lifecycle": "customer", "segment": "vip"},
}

#: A conversation.updated event: the conversation as it is now, plus what changed.
UPDATED_EVENT_EXAMPLE: dict[str, Any] = {
    "id": "evt-124",
    "type": "conversation.updated",
    "occurred_at": "2026-11-27T10:05:00Z",
    "conversation": {
        "id": "c-9",
        "channel": "whatsapp",
        "tags": ["refund", "vip"],
        "priority": None,
        "assignee_team": None,
        "attributes": {"order_id": "A-1001"},
    },
    "changes": {
        "tags": {"from": ["refund"], "to": ["refund", "vip"]},
        "priority": {"from": "high", "to": None},
        "assignee_team": {"from": "billing", "to": None},
    },
}


# ---------------------------------------------------------------- workflows

#: Body of POST /workflows: the definition language itself (SPEC §2).
WorkflowCreate = WorkflowDefinitionIn

VersionField = Field(
    default=None,
    ge=1,
    description=(
        "Optimistic concurrency: the version this change is based on. If it is not the current "
        "version the request fails with 409 (the `If-Match` header does the same)."
    ),
    examples=[3],
)


class WorkflowReplace(WorkflowDefinitionIn):
    """Body of PUT /workflows/{id}: a whole definition, optionally with the version it replaces."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{**VIP_EXAMPLE, "version": 1}]}
    )

    version: int | None = VersionField

    def definition(self) -> WorkflowDefinitionIn:
        return WorkflowDefinitionIn.model_validate(
            self.model_dump(mode="json", by_alias=True, exclude={"version"}, exclude_none=True)
        )


class WorkflowUpdate(BaseModel):
    """Body of PATCH /workflows/{id}: any subset of the definition's top-level keys. The merged
    definition is validated as a whole, e.g. `{"status": "active"}` toggles a workflow."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "active"}, {"name": "Renamed", "version": 2}]},
    )

    name: Name | None = Field(default=None, min_length=1, description="New name")
    description: Text | None = Field(default=None, max_length=2000, description="New description")
    status: Literal["draft", "active"] | None = Field(
        default=None, description="draft or active (only active workflows start runs)"
    )
    trigger: Trigger | None = Field(default=None, description="Replaces the whole trigger")
    steps: list[Step] | None = Field(
        default=None, max_length=MAX_STEPS, description="Replaces the whole list of steps"
    )
    schedule: str | None = Field(
        default=None, description="Business-hours schedule id; null removes it"
    )
    on_failure: OnFailure | None = Field(
        default=None, description="Who is notified when a run fails for good; null removes it"
    )
    version: int | None = VersionField

    def changes(self) -> dict[str, Any]:
        """The keys the client sent (JSON-shaped), without `version`."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude={"version"})


class ReferenceWarning(BaseModel):
    """A team, agent or schedule the workflow names that does not exist (yet). A draft saves with
    warnings; activating it is refused (422) until each one exists."""

    loc: list[str | int] = Field(
        description="Where in the definition", examples=[["steps", 1, "params", "team"]]
    )
    step_id: str | None = Field(description="The step naming it (null: the workflow itself)")
    kind: Literal["team", "agent", "schedule"] = Field(examples=["team"])
    id: str = Field(description="The missing id", examples=["vip-support"])
    message: str = Field(examples=["step 'route' names team 'vip-support', which does not exist"])

    @classmethod
    def of(cls, ref: Reference) -> ReferenceWarning:
        return cls(
            loc=list(ref.loc), step_id=ref.step_id, kind=ref.kind, id=ref.id, message=ref.describe()
        )


class WorkflowPublic(WorkflowDefinitionIn):
    """A stored workflow: the definition plus its id, version, timestamps and counts."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    **VIP_EXAMPLE,
                    "id": "wf_3f9a1c2b7d4e5f60",
                    "version": 1,
                    "created_at": "2026-11-27T10:00:00Z",
                    "updated_at": "2026-11-27T10:00:00Z",
                    "steps_count": 3,
                    "execution_count": 0,
                }
            ]
        },
    )

    id: str = Field(description="Workflow id", examples=["wf_3f9a1c2b7d4e5f60"])
    version: int = Field(description="Bumped on every change", examples=[1])
    created_at: datetime = Field(description="When the workflow was created")
    updated_at: datetime = Field(description="When the current version was saved")
    steps_count: int = Field(description="Number of steps", examples=[3])
    execution_count: int | None = Field(
        default=None,
        description="Runs ever started for this workflow (Temporal visibility); null if down",
        examples=[12],
    )
    warnings: list[ReferenceWarning] = Field(
        default=[],
        description="Teams, agents or schedules it names that do not exist (drafts only: an "
        "active workflow with one is refused)",
    )

    @classmethod
    def from_row(cls, row: WorkflowDefinitionRow, execution_count: int | None) -> WorkflowPublic:
        return cls.model_validate(
            {
                **row.body,
                "id": row.id,
                "version": row.version,
                "created_at": as_utc(row.created_at),
                "updated_at": as_utc(row.updated_at),
                "steps_count": definitions_repo.steps_count(row),
                "execution_count": execution_count,
            }
        )


class WorkflowCard(BaseModel):
    """One workflow in the list."""

    id: str = Field(description="Workflow id", examples=["wf_3f9a1c2b7d4e5f60"])
    name: str = Field(description="Name", examples=["VIP Customer Auto-Route"])
    description: str = Field(
        description="Description", examples=["Send VIP customers to the VIP team"]
    )
    status: Literal["draft", "active"] = Field(description="draft or active", examples=["active"])
    trigger_type: TriggerType = Field(
        description="The trigger's type", examples=["new_conversation"]
    )
    steps_count: int = Field(description="Number of steps", examples=[3])
    execution_count: int | None = Field(
        description="Runs ever started (Temporal visibility); null if Temporal is unreachable",
        examples=[12],
    )
    failed_24h: int | None = Field(
        default=None,
        description="Runs that failed in the last 24 hours; null if Temporal is unreachable",
        examples=[2],
    )
    waiting: int | None = Field(
        default=None,
        description="Runs waiting now (in a wait or wait_for, SPEC §2.3); null if Temporal is "
        "unreachable",
        examples=[3],
    )
    version: int = Field(description="Current version", examples=[2])
    updated_at: datetime = Field(description="When the current version was saved")

    @classmethod
    def from_row(cls, row: WorkflowDefinitionRow, execution_count: int | None) -> WorkflowCard:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            status=row.status,  # type: ignore[arg-type]
            trigger_type=row.trigger_type,  # type: ignore[arg-type]
            steps_count=definitions_repo.steps_count(row),
            execution_count=execution_count,
            version=row.version,
            updated_at=as_utc(row.updated_at),
        )


class WorkflowsPublic(BaseModel):
    """A page of workflow cards and the number of workflows matching the filters."""

    data: list[WorkflowCard] = Field(description="This page of cards")
    count: int = Field(
        description="How many workflows match the filters (all pages)", examples=[42]
    )


class WorkflowsSummary(BaseModel):
    """Totals for the top of the Workflows page."""

    total_workflows: int = Field(description="Stored workflows", examples=[12])
    active_workflows: int = Field(description="Workflows with status active", examples=[7])
    total_executions: int | None = Field(
        description="Runs ever started on this deployment (Temporal visibility); null if down",
        examples=[1534],
    )


class VersionPublic(BaseModel):
    """One saved version of a workflow."""

    version: int = Field(description="Version number", examples=[2])
    created_at: datetime = Field(description="When this version was saved")
    changed_by: str | None = Field(
        description="Name of the API key that saved it (its id when unnamed; null before 0.2)",
        examples=["ops admin"],
    )
    summary: str = Field(
        description="What changed since the previous version, in one line",
        examples=["status draft → active; step 'route' changed"],
    )
    restored_from: int | None = Field(
        default=None, description="The version this one restored, if it is a restore"
    )
    definition: WorkflowDefinitionIn = Field(description="The full definition of this version")

    @classmethod
    def from_row(
        cls, row: WorkflowVersionRow, previous: WorkflowVersionRow | None
    ) -> VersionPublic:
        return cls(
            version=row.version,
            created_at=as_utc(row.created_at),
            changed_by=row.changed_by,
            summary=summarize_change(
                previous.body if previous else None, row.body, restored_from=row.restored_from
            ),
            restored_from=row.restored_from,
            definition=WorkflowDefinitionIn.model_validate(row.body),
        )


class VersionsPublic(BaseModel):
    """Every version of a workflow, oldest first."""

    data: list[VersionPublic] = Field(description="The versions, oldest first")
    count: int = Field(description="Number of versions", examples=[3])


# ---------------------------------------------------------------- events


class EventAccepted(BaseModel):
    """Answer of POST /events."""

    event_id: str = Field(description="The event's id (its idempotency key)", examples=["evt-123"])
    run_ids: list[str] = Field(
        description=(
            "Runs the event starts (deterministic ids, known even when queued; the same ids again "
            "for a repeated event). A run Temporal refused for good is among them, as a failed run "
            "with the reason"
        ),
        examples=[["run:wf_3f9a1c2b7d4e5f60:evt-123"]],
    )
    duplicate: bool = Field(
        description="True when this event id was already received: nothing new was started",
        examples=[False],
    )
    queued: bool = Field(
        default=False,
        description=(
            "True when Temporal could not take some of the event's runs now: they wait in the "
            "outbox and start as soon as it is back, without a resend"
        ),
        examples=[False],
    )


# ---------------------------------------------------------------- health


class Health(BaseModel):
    """Whether the API can reach its database and Temporal."""

    status: Literal["ok", "unavailable"] = Field(description="ok when both are reachable")
    database: Literal["ok", "unavailable"] = Field(description="The supportflow database")
    temporal: Literal["ok", "unavailable"] = Field(description="The Temporal frontend")
    live_workers: int | None = Field(
        default=None,
        description="Worker processes that wrote their heartbeat in the last 2 minutes "
        "(null when the database is unreachable)",
    )
    workflow_task_failures: int | None = Field(
        default=None,
        description="Workflow tasks that failed in those workers since they started: a bug or a "
        "payload a worker cannot read. The runs stay open and go on once a fixed worker runs; "
        "alert when it grows (README §Operating it). Null when the database is unreachable",
    )
    last_workflow_task_failure: str | None = Field(
        default=None, description="The log message of the latest one"
    )


# ---------------------------------------------------------------- conversations


class ConversationPublic(BaseModel):
    """The desk mirror of one conversation (SPEC §3)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="Conversation id", examples=["c-9"])
    channel: str = Field(description="Channel", examples=["whatsapp"])
    status: str = Field(description="open, pending, snoozed, resolved or closed", examples=["open"])
    inbox: str | None = Field(default=None, description="Inbox", examples=["support-en"])
    priority: str | None = Field(
        description="low, normal, high or urgent; null for none", examples=["normal"]
    )
    subject: str = Field(default="", description="Subject line")
    tags: list[str] = Field(default=[], description="Tags", examples=[["vip"]])
    attributes: dict[str, Any] = Field(
        default={}, description="Custom attributes", examples=[{"order_id": "A-1001"}]
    )
    last_activity_at: str | None = Field(default=None, description="Last activity (ISO-8601)")
    assignment: dict[str, str | None] = Field(
        default={},
        description="Assigned agent and team",
        examples=[{"agent": None, "team": "vip-support"}],
    )
    customer: dict[str, Any] | None = Field(default=None, description="The customer, if known")
    messages: list[dict[str, Any]] = Field(default=[], description="Messages, oldest first")
    tickets: list[dict[str, Any]] = Field(default=[], description="Tickets created for it")
    notifications: list[dict[str, Any]] = Field(
        default=[], description="Notifications sent about it"
    )


# ---------------------------------------------------------------- directory


class TeamsPublic(BaseModel):
    """Every team."""

    data: list[TeamPublic] = Field(description="The teams, by id")
    count: int = Field(description="Number of teams", examples=[3])


class AgentsPublic(BaseModel):
    """Every agent."""

    data: list[AgentPublic] = Field(description="The agents, by id")
    count: int = Field(description="Number of agents", examples=[8])


# ---------------------------------------------------------------- dry run


class DryRunRequest(BaseModel):
    """Body of POST /workflows/{id}/test: a sample event. Conditions and placeholders read what
    a real run would: the event applied to the desk store as ingestion applies it (sentiment
    computed, the conversation's stored messages, tags and wait counted), then rolled back.
    Nothing is written anywhere."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"event": EVENT_EXAMPLE}]}
    )

    event: Event = Field(description="The sample event to test the workflow against")
    sla: SlaInfo | None = Field(
        default=None,
        description=(
            "For sla_breach workflows: the SLA clock that fired (type, elapsed_minutes, "
            "threshold); the trigger matches when it fits the workflow's sla_type and threshold"
        ),
        examples=[{"type": "first_response", "elapsed_minutes": 35, "threshold": "30m"}],
    )
    assume: dict[str, Literal["event", "timeout"]] = Field(
        default={},
        description=(
            "How each wait_for step ends in the dry run, by step id: `event` (what it waits for "
            "happens) or `timeout`; a wait_for not named times out. Naming a step that is not a "
            "wait_for of this workflow answers 422 at `assume.<id>`"
        ),
        examples=[{"reply": "event"}],
    )


# ---------------------------------------------------------------- templates


class TemplateCard(BaseModel):
    """One template in the gallery."""

    id: str = Field(description="Template id", examples=["refund-request-ticket"])
    category: TemplateCategory = Field(description="customer_service, sales or operations")
    name: str = Field(description="Name", examples=["Refund Request to Ticket"])
    summary: str = Field(description="What it does and what to adapt")
    trigger_type: TriggerType = Field(description="The trigger's type", examples=["new_message"])
    steps_count: int = Field(description="Number of steps", examples=[4])

    @classmethod
    def from_template(cls, template: Template) -> TemplateCard:
        return cls(
            id=template.id,
            category=template.category,
            name=template.name,
            summary=template.summary,
            trigger_type=template.definition.trigger.type,
            steps_count=len(template.definition.steps),
        )


class TemplatesPublic(BaseModel):
    """Templates of the gallery."""

    data: list[TemplateCard] = Field(description="The templates, by category then name")
    count: int = Field(description="Number of templates", examples=[12])


class TemplateUse(BaseModel):
    """Optional body of POST /templates/{id}/use."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(
        default=None,
        min_length=1,
        description="Name of the draft (default: the template's)",
    )
