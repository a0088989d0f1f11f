"""Builders shared by the SLA tests and the SLA benchmark: events, stored sla_breach definitions,
and a recording stand-in for `WorkflowRun` (returns its input), for tests that check which breach
runs start without running the interpreter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from definitions.events import Event
    from definitions.models import WorkflowDefinitionIn
    from definitions.runs import WORKFLOW_RUN, RunInput
    from store import sla_version
    from store.models import WorkflowDefinitionRow, utcnow


def event(
    event_id: str,
    kind: str,
    conversation_id: str,
    at: datetime,
    *,
    sender: str | None = None,
    status: str = "open",
    from_status: str | None = None,
    to_status: str | None = None,
) -> Event:
    """One help-desk event of a conversation (`kind`: created, message, status)."""
    body: dict[str, Any] = {
        "id": event_id,
        "type": {
            "created": "conversation.created",
            "message": "message.created",
            "status": "conversation.status_changed",
        }[kind],
        "occurred_at": at.isoformat(),
        "conversation": {"id": conversation_id, "channel": "live_chat", "status": status},
        "customer": {"id": f"cust-{conversation_id}", "name": "Ada"},
    }
    if kind == "message":
        assert sender is not None
        body["message"] = {"id": f"m-{event_id}", "sender_type": sender, "content": "hello"}
    if kind == "status":
        body["from_status"] = from_status
        body["to_status"] = to_status
    return Event.model_validate(body)


def sla_definition(
    name: str,
    sla_type: str,
    threshold: str,
    *,
    status: str = "active",
    schedule: str | None = None,
) -> WorkflowDefinitionIn:
    """An sla_breach definition; with a `schedule`, its threshold counts business hours."""
    trigger: dict[str, Any] = {"type": "sla_breach", "sla_type": sla_type, "threshold": threshold}
    if schedule is not None:
        trigger["business_hours"] = True
    return WorkflowDefinitionIn.model_validate(
        {
            "name": name,
            "status": status,
            "schedule": schedule,
            "trigger": trigger,
            "steps": [
                {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["sla"]}}
            ],
        }
    )


def idle_definition(
    name: str,
    waiting_on: str,
    idle_for: str,
    *,
    statuses: list[str] | None = None,
    business_hours: bool = False,
    schedule: str | None = None,
) -> WorkflowDefinitionIn:
    trigger: dict[str, Any] = {
        "type": "conversation_idle",
        "waiting_on": waiting_on,
        "idle_for": idle_for,
        "business_hours": business_hours,
    }
    if statuses is not None:
        trigger["statuses"] = statuses
    return WorkflowDefinitionIn.model_validate(
        {
            "name": name,
            "status": "active",
            "trigger": trigger,
            "schedule": schedule,
            "steps": [
                {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["idle"]}}
            ],
        }
    )


def store_definition(
    engine: Engine,
    definition_id: str,
    definition: WorkflowDefinitionIn,
    *,
    version: int = 1,
) -> None:
    """Insert or replace a stored definition row, bumping the SLA definitions version (as the
    definitions API would)."""
    with Session(engine) as session:
        row = session.get(WorkflowDefinitionRow, definition_id)
        sla_version.bump_if_sla(session, row.trigger_type if row else None, definition.trigger.type)
        if row is None:
            row = WorkflowDefinitionRow(
                id=definition_id,
                name=definition.name,
                status=definition.status,
                trigger_type=definition.trigger.type,
                version=version,
                body=definition.model_dump(mode="json", by_alias=True),
            )
        else:
            row.name = definition.name
            row.status = definition.status
            row.trigger_type = definition.trigger.type
            row.version = version
            row.body = definition.model_dump(mode="json", by_alias=True)
            row.updated_at = utcnow()
        session.add(row)
        session.commit()


@workflow.defn(name=WORKFLOW_RUN)
class RecordingRun:
    """Stands in for the interpreter: completes at once with its input."""

    @workflow.run
    async def run(self, run_input: RunInput) -> dict[str, Any]:
        return run_input.model_dump(mode="json")
