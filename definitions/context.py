"""The run context: the dictionary that conditions read and placeholders render from."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from definitions.events import CustomerIn, Event
from definitions.vocabulary import Priority, SlaType, Status


class ConversationState(BaseModel):
    """A conversation as the desk store has it when a step runs (fresh state)."""

    id: str
    channel: str
    status: Status = "open"
    inbox: str | None = None
    priority: Priority | None = "normal"
    subject: str = ""
    tags: list[str] = []
    assignee_agent: str | None = None
    assignee_team: str | None = None
    message_count: int = 0
    waiting_minutes: float | None = None
    created_at: datetime | None = None
    last_activity_at: datetime | None = None
    attributes: dict[str, Any] = {}


class CustomerState(BaseModel):
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    lifecycle: str | None = None
    segment: str | None = None
    plan: str | None = None
    language: str | None = None
    country: str | None = None
    attributes: dict[str, Any] = {}

    @classmethod
    def from_event(cls, customer: CustomerIn) -> CustomerState:
        return cls.model_validate(customer.model_dump())


class SlaInfo(BaseModel):
    """What an SLA breach run knows about the clock that fired."""

    type: SlaType
    elapsed_minutes: float
    threshold: str
    clock_started_at: datetime | None = None


def build_context(
    conversation: ConversationState,
    customer: CustomerState | None,
    event: Event,
    sla: SlaInfo | None = None,
    step_outputs: dict[str, dict[str, Any]] | None = None,
    time: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the nested dict behind every field path of the catalogue. `time`: the `time.*`
    fields (definitions/time_fields.py), computed by the caller from the schedule and instant."""
    customer_data: dict[str, Any] = customer.model_dump(mode="json") if customer else {}
    if customer_data and customer_data.get("plan") is None:
        # A plan sent as a custom attribute is the plan.
        customer_data["plan"] = customer_data.get("attributes", {}).get("plan")
    message = event.message.model_dump(mode="json") if event.message else {}
    return {
        "conversation": conversation.model_dump(mode="json"),
        "customer": customer_data,
        "message": message,
        "sla": sla.model_dump(mode="json") if sla else {},
        "event": {"type": event.type, "id": event.id},
        "steps": step_outputs or {},
        "time": dict(time or {}),
    }
