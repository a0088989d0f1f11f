"""Builders shared by the desk-store, ingestion and activity tests (events, action inputs, the
directory, stored definitions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session

from definitions.events import Event
from definitions.models import ActionStep, WorkflowDefinitionIn
from definitions.runs import ActionInput
from store.directory import AgentIn, TeamIn, put_agent, put_team
from store.models import WorkflowDefinitionRow
from store.parsed_definitions import parsed_definitions

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


# ---------------------------------------------------------------- builders


def make_event(
    event_id: str = "evt-1",
    type: str = "message.created",
    *,
    conversation: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    occurred_at: datetime = T0,
    **extra: Any,
) -> Event:
    conv = {"id": "c-9", "channel": "whatsapp", "subject": "Refund"}
    conv.update(conversation or {})
    cust = {
        "id": "u-4",
        "name": "Ada",
        "email": "ada@example.com",
        "lifecycle": "customer",
        "segment": "vip",
        "attributes": {"plan": "gold"},
    }
    cust.update(customer or {})
    body: dict[str, Any] = {
        "id": event_id,
        "type": type,
        "occurred_at": occurred_at.isoformat(),
        "conversation": conv,
        "customer": cust,
        **extra,
    }
    if type == "message.created":
        msg = {"id": f"m-{event_id}", "sender_type": "customer", "content": "I want a refund"}
        msg.update(message or {})
        body["message"] = msg
    elif message is not None:
        body["message"] = message
    return Event.model_validate(body)


_STEP: TypeAdapter[Any] = TypeAdapter(ActionStep)


def action_input(
    step: dict[str, Any],
    event: Event,
    *,
    scope: str = "run:def-1:evt-1",
    step_outputs: dict[str, dict[str, Any]] | None = None,
    causal_chain: list[str] | None = None,
) -> ActionInput:
    return ActionInput(
        run_id=scope,
        idempotency_scope=scope,
        step=_STEP.validate_python({"type": "action", **step}),
        event=event,
        step_outputs=step_outputs or {},
        causal_chain=causal_chain if causal_chain is not None else [scope],
    )


def seed_directory(engine: Engine) -> None:
    """Agents ana, bo, cy (cy unavailable), sam (supervisor); teams vip-support and billing."""
    with Session(engine) as session:
        put_agent(session, "ana", AgentIn(name="Ana", email="ana@example.com"))
        put_agent(session, "bo", AgentIn(name="Bo"))
        put_agent(session, "cy", AgentIn(name="Cy", available=False))
        put_agent(session, "sam", AgentIn(name="Sam"))
        put_team(
            session,
            "vip-support",
            TeamIn(name="VIP support", members=["ana", "cy", "bo"], supervisor="sam"),
        )
        put_team(session, "billing", TeamIn(name="Billing", members=["bo"]))


def store_definition(
    session: Session, definition_id: str, body: dict[str, Any], *, version: int = 1
) -> WorkflowDefinitionRow:
    """Save a definition row the way the API does (validated body), not yet indexed."""
    definition = WorkflowDefinitionIn.model_validate(body)
    row = WorkflowDefinitionRow(
        id=definition_id,
        name=definition.name,
        description=definition.description,
        status=definition.status,
        trigger_type=definition.trigger.type,
        version=version,
        body=definition.model_dump(mode="json", by_alias=True),
    )
    session.add(row)
    session.flush()
    parsed_definitions.forget(definition_id)  # as every save does: no other test's body cached
    return row
