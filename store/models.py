"""SQLModel tables: stored definitions, the desk mirror, the directory, schedules, events and API
keys.

Imported by the app and the activities, never importing them. JSON columns hold lists and
documents so the same schema works on SQLite and PostgreSQL.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(default: Any = None) -> Any:
    return Field(
        default_factory=lambda: [] if default is None else default,
        sa_column=Column(JSON, nullable=False),
    )


# ---------------------------------------------------------------- definitions


class WorkflowDefinitionRow(SQLModel, table=True):
    __tablename__ = "workflow_definitions"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True, max_length=200)
    description: str = ""
    status: str = Field(index=True, max_length=16)
    trigger_type: str = Field(index=True, max_length=32)
    version: int = 1
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # WorkflowDefinitionIn
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SlaDefinitionsVersionRow(SQLModel, table=True):
    """One row: bumped with every save of an sla_breach definition (store/sla_version.py), so SLA
    trackers notice changes by reading it instead of being signalled."""

    __tablename__ = "sla_definitions_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


class WorkerHeartbeatRow(SQLModel, table=True):
    """One row per worker process, rewritten every `HEARTBEAT_EVERY` (store/worker_heartbeats.py):
    when it was last alive and how many workflow tasks failed in it since it started."""

    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(primary_key=True, max_length=200)
    started_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
    workflow_task_failures: int = 0
    last_failure: str | None = Field(default=None, max_length=2000)


class WorkflowVersionRow(SQLModel, table=True):
    __tablename__ = "workflow_versions"

    definition_id: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    changed_by: str | None = Field(default=None, max_length=200)  # the API key's name (or id)
    restored_from: int | None = None  # the version whose body this one restored


class TriggerIndexRow(SQLModel, table=True):
    """Active definitions by (trigger type, channel), so an event only loads the ones that can
    match. channel "*" means any channel."""

    __tablename__ = "trigger_index"
    __table_args__ = (Index("ix_trigger_lookup", "trigger_type", "channel"),)

    definition_id: str = Field(primary_key=True, max_length=64)
    channel: str = Field(primary_key=True, max_length=32)
    trigger_type: str = Field(max_length=32)


# ---------------------------------------------------------------- events


class EventRow(SQLModel, table=True):
    """Every accepted event, with its full payload, kept for the retention period
    (`SUPPORTFLOW_EVENT_RETENTION`); its id is the idempotency key of POST /events meanwhile."""

    __tablename__ = "events"

    id: str = Field(primary_key=True, max_length=300)
    type: str = Field(max_length=64)
    conversation_id: str = Field(index=True, max_length=200)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    run_ids: list[str] = _json()
    # When it arrived: arrival order, backtest windows and retention (store/events_repo.py).
    received_at: datetime = Field(default_factory=utcnow, index=True)


class OutboxRow(SQLModel, table=True):
    """Temporal work an accepted event still owes (SPEC §3.1, the transactional outbox): written
    in the event's own transaction, deleted once done. Drained per conversation in id order
    (`store.outbox`, `desk.outbox`).

    kind "start_run": `payload` is the RunInput without its event (the event is in `events`);
    kind "signal_sla": the event for the conversation's tracker (payload empty). Room for more
    kinds (e.g. wake-up hints for waiting runs)."""

    __tablename__ = "outbox"
    # AUTOINCREMENT: SQLite would otherwise give a new row the id of the last one deleted, which
    # the API may still hold as delivered (`desk.outbox`: deletes deferred to the relay's round).
    __table_args__ = (
        Index("ix_outbox_conversation", "conversation_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    event_id: str = Field(index=True, max_length=300)
    conversation_id: str = Field(max_length=200)
    workflow_id: str = Field(max_length=600)  # the run or tracker it starts/signals
    payload: dict[str, Any] = _json({})
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- desk mirror


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customers"

    id: str = Field(primary_key=True, max_length=200)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    lifecycle: str | None = None
    segment: str | None = None
    plan: str | None = None
    language: str | None = None
    country: str | None = None
    attributes: dict[str, Any] = _json({})


class ConversationRow(SQLModel, table=True):
    __tablename__ = "conversations"

    id: str = Field(primary_key=True, max_length=200)
    channel: str = Field(max_length=32)
    inbox: str | None = None
    status: str = Field(default="open", max_length=16)
    # None: no priority. No column default: SQLAlchemy would put it in place of an explicit None.
    priority: str | None = Field(default=None, max_length=16)
    subject: str = ""
    tags: list[str] = _json()
    assignee_agent: str | None = None
    assignee_team: str | None = None
    attributes: dict[str, Any] = _json({})  # custom conversation attributes
    customer_id: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    last_activity_at: datetime | None = None
    awaiting_reply_since: datetime | None = None  # oldest unanswered customer message
    # field (or "attributes.<key>") -> ISO time one of our actions last changed it (mirror rule)
    changed_by_actions: dict[str, Any] = _json({})
    sla_tracked: bool = False  # its ConversationSla tracker has been fed (see desk.ingestion)


class MessageRow(SQLModel, table=True):
    __tablename__ = "messages"

    id: str = Field(primary_key=True, max_length=300)
    conversation_id: str = Field(index=True, max_length=200)
    sender_type: str = Field(max_length=16)
    content: str = ""
    sentiment: str | None = None
    sentiment_score: float | None = None
    language: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    source: str | None = None  # "<scope>:<step id>" for automated messages


class TicketRow(SQLModel, table=True):
    __tablename__ = "tickets"

    id: str = Field(primary_key=True, max_length=64)
    conversation_id: str = Field(index=True, max_length=200)
    title: str
    description: str = ""
    priority: str = "normal"
    team: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    source: str | None = None


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notifications"

    id: str = Field(primary_key=True, max_length=64)
    conversation_id: str = Field(index=True, max_length=200)
    recipient_agent: str = Field(max_length=200)
    message: str
    created_at: datetime = Field(default_factory=utcnow)
    source: str | None = None


class ActionEffectRow(SQLModel, table=True):
    """The idempotency ledger: one row per (scope, step) that took effect, with its output.

    Written in the same transaction as the effect, so an action either happened and is
    recorded, or neither."""

    __tablename__ = "action_effects"

    scope: str = Field(primary_key=True, max_length=400)
    step_id: str = Field(primary_key=True, max_length=64)
    action: str = Field(max_length=32)
    conversation_id: str = Field(index=True, max_length=200)
    output: dict[str, Any] = _json({})
    # The whole ActionResult (rendered params, emitted events, webhook delivery), so a retry after
    # the effect returns exactly what the first attempt would have.
    result: dict[str, Any] = _json({})
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- directory


class TeamRow(SQLModel, table=True):
    __tablename__ = "teams"

    id: str = Field(primary_key=True, max_length=200)
    name: str
    members: list[str] = _json()
    supervisor: str | None = None
    round_robin_cursor: int = 0


class AgentRow(SQLModel, table=True):
    __tablename__ = "agents"

    id: str = Field(primary_key=True, max_length=200)
    name: str
    email: str | None = None
    available: bool = True


# ---------------------------------------------------------------- schedules


class ScheduleRow(SQLModel, table=True):
    """A business-hours schedule (SPEC §2.3); `body` is a `definitions.schedules.Schedule`."""

    __tablename__ = "schedules"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- auth


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_hash"),)

    id: str = Field(primary_key=True, max_length=64)
    name: str | None = None
    role: str = Field(max_length=16)
    key_hash: str = Field(max_length=128)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


# ---------------------------------------------------------------- waits (SPEC §2.3)


class ConversationChangeRow(SQLModel, table=True):
    """What a `wait_for` can wait for, journaled by ingestion in the mirror's transaction:
    customer and agent/AI messages and status changes, stamped with when supportflow learned of
    them (`recorded_at`), which is what a wait's watermark is compared with."""

    __tablename__ = "conversation_changes"
    __table_args__ = (Index("ix_conversation_changes_lookup", "conversation_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=200)
    kind: str = Field(max_length=32)  # customer_message | agent_message | status_change
    event_id: str = Field(max_length=300, index=True)
    message_id: str | None = Field(default=None, max_length=300)
    to_status: str | None = Field(default=None, max_length=16)
    recorded_at: datetime = Field(default_factory=utcnow)


class RunWaitRow(SQLModel, table=True):
    """A run waiting in a `wait_for`: written and deleted by the run's `check_wait` activity,
    read by ingestion to know which runs to wake (SPEC §2.3; docs/DESIGN.md "Waking a run")."""

    __tablename__ = "run_waits"

    workflow_id: str = Field(primary_key=True, max_length=400)
    step_id: str = Field(primary_key=True, max_length=64)
    conversation_id: str = Field(index=True, max_length=200)
    event: str = Field(max_length=32)
    to_statuses: list[str] = _json()
    watermark: datetime
    deadline: datetime
    created_at: datetime = Field(default_factory=utcnow)
