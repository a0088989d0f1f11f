"""Events sent by the help desk to POST /events (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from definitions.vocabulary import Channel, EventType, Priority, SenderType, Sentiment, Status


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConversationIn(_In):
    id: str = Field(min_length=1, max_length=200, examples=["c-9"])
    channel: Channel = Field(examples=["whatsapp"])
    status: Status = "open"
    priority: Priority = "normal"
    subject: str = ""
    tags: list[str] = []
    assignee_agent: str | None = None
    assignee_team: str | None = None
    created_at: datetime | None = None


class CustomerIn(_In):
    id: str = Field(min_length=1, max_length=200, examples=["u-4"])
    name: str | None = None
    email: str | None = None
    lifecycle: str | None = Field(default=None, examples=["customer"])
    segment: str | None = Field(default=None, examples=["vip"])
    plan: str | None = None
    language: str | None = None
    country: str | None = None
    attributes: dict[str, str | int | float | bool | None] = {}


class MessageIn(_In):
    id: str = Field(min_length=1, max_length=200, examples=["m-1"])
    sender_type: SenderType = Field(examples=["customer"])
    content: str = Field(default="", max_length=100_000)
    sentiment: Sentiment | None = Field(
        default=None, description="Computed by the service when absent"
    )
    sentiment_score: float | None = Field(default=None, ge=-1, le=1)
    language: str | None = None
    created_at: datetime | None = None


class Event(_In):
    """One help-desk event. `id` is the idempotency key."""

    id: str = Field(min_length=1, max_length=300, examples=["evt-123"])
    type: EventType
    occurred_at: datetime
    conversation: ConversationIn
    customer: CustomerIn | None = None
    message: MessageIn | None = None
    from_status: Status | None = None
    to_status: Status | None = None
    causal_chain: list[str] = Field(
        default=[],
        description="Run ids that caused this event, oldest first (set by supportflow itself)",
    )

    @model_validator(mode="after")
    def _shape_fits_type(self) -> Event:
        if self.type == "message.created" and self.message is None:
            raise ValueError("a message.created event needs a 'message'")
        if self.type == "conversation.status_changed":
            if self.to_status is None:
                raise ValueError("a conversation.status_changed event needs 'to_status'")
        return self

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "conversation": self.conversation.id}
