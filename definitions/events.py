"""Events sent by the help desk to POST /events (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from definitions.errors import reject_at
from definitions.vocabulary import Channel, EventType, Priority, SenderType, Sentiment, Status


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationIn(_In):
    """The conversation as the help desk has it when the event happens."""

    id: str = Field(min_length=1, max_length=200, description="Conversation id", examples=["c-9"])
    channel: Channel = Field(description="Channel it came in on", examples=["whatsapp"])
    status: Status = Field(default="open", description="Current status", examples=["open"])
    priority: Priority = Field(default="normal", description="Current priority", examples=["high"])
    subject: str = Field(default="", description="Subject line", examples=["Refund"])
    tags: list[str] = Field(default=[], description="Tags on it", examples=[["billing"]])
    assignee_agent: str | None = Field(
        default=None, description="Assigned agent id", examples=["agent-ana"]
    )
    assignee_team: str | None = Field(
        default=None, description="Assigned team id", examples=["billing"]
    )
    created_at: datetime | None = Field(
        default=None,
        description="When it was created (default: the event's occurred_at)",
        examples=["2026-11-27T10:00:00Z"],
    )
    initiated_by: Literal["customer", "agent"] | None = Field(
        default=None,
        description="Who started it: the customer, or an agent (outbound); null when not said",
        examples=["customer"],
    )


class CustomerIn(_In):
    """The customer of the conversation."""

    id: str = Field(min_length=1, max_length=200, description="Customer id", examples=["u-4"])
    name: str | None = Field(default=None, description="Full name", examples=["Ada Lovelace"])
    email: str | None = Field(default=None, description="Email", examples=["ada@example.com"])
    lifecycle: str | None = Field(
        default=None, description="Lifecycle stage", examples=["customer", "lead"]
    )
    segment: str | None = Field(default=None, description="Segment", examples=["vip"])
    plan: str | None = Field(
        default=None, description="Plan (else the 'plan' attribute)", examples=["gold"]
    )
    language: str | None = Field(default=None, description="Preferred language", examples=["en"])
    country: str | None = Field(default=None, description="Country", examples=["GB"])
    attributes: dict[str, str | int | float | bool | None] = Field(
        default={},
        description="Custom attributes, readable as customer.attributes.<key>",
        examples=[{"plan": "gold", "mrr": 1200}],
    )


class MessageIn(_In):
    """The message a message.created event is about."""

    id: str = Field(min_length=1, max_length=200, description="Message id", examples=["m-1"])
    sender_type: SenderType = Field(
        description="customer, agent, ai, or automation (written by supportflow; never fires "
        "new_message)",
        examples=["customer"],
    )
    content: str = Field(
        default="", max_length=100_000, description="Text", examples=["I want a refund"]
    )
    sentiment: Sentiment | None = Field(
        default=None,
        description="positive, neutral or negative; computed by the service when absent",
        examples=["negative"],
    )
    sentiment_score: float | None = Field(
        default=None, ge=-1, le=1, description="Score in [-1, 1]", examples=[-0.6]
    )
    language: str | None = Field(default=None, description="Language", examples=["en"])
    created_at: datetime | None = Field(
        default=None, description="When it was sent", examples=["2026-11-27T10:00:00Z"]
    )


class Event(_In):
    """One help-desk event. `id` is the idempotency key."""

    id: str = Field(
        min_length=1,
        max_length=300,
        description="Idempotency key: the same id again starts nothing new",
        examples=["evt-123"],
    )
    type: EventType = Field(
        description="conversation.created, message.created or conversation.status_changed",
        examples=["message.created"],
    )
    occurred_at: datetime = Field(
        description="When it happened in the help desk", examples=["2026-11-27T10:00:00Z"]
    )
    conversation: ConversationIn = Field(description="The conversation")
    customer: CustomerIn | None = Field(default=None, description="Its customer")
    message: MessageIn | None = Field(
        default=None, description="The message (required for message.created)"
    )
    from_status: Status | None = Field(
        default=None, description="Status before (conversation.status_changed)", examples=["open"]
    )
    to_status: Status | None = Field(
        default=None,
        description="Status after (required for conversation.status_changed)",
        examples=["resolved"],
    )
    causal_chain: list[str] = Field(
        default=[],
        description="Run ids that caused this event, oldest first (set by supportflow itself)",
    )

    @model_validator(mode="after")
    def _shape_fits_type(self) -> Event:
        if self.type == "message.created" and self.message is None:
            reject_at(
                ("message",), "a message.created event needs a 'message'", None, title="Event"
            )
        if self.type == "conversation.status_changed" and self.to_status is None:
            reject_at(
                ("to_status",),
                "a conversation.status_changed event needs 'to_status'",
                None,
                title="Event",
            )
        return self

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "conversation": self.conversation.id}
