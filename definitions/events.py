"""Events sent by the help desk to POST /events (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from definitions.errors import reject_at
from definitions.limits import MAX_ITEMS, Line, Name, Text
from definitions.vocabulary import (
    Channel,
    EventType,
    Priority,
    SenderType,
    Sentiment,
    Status,
    UpdatedField,
)
from definitions.wire import Strict

#: A custom attribute's value.
AttributeValue = Text | int | float | bool | None


class _In(Strict):
    """Forbids unknown fields when received; drops them on the wire (`definitions.wire`)."""


class ConversationIn(_In):
    """The conversation as the help desk has it when the event happens. For a conversation the
    service already knows, a field the event carries replaces the stored one (`tags: []` clears
    the tags, `assignee_team: null` unassigns) and a field it omits is kept."""

    id: Name = Field(min_length=1, description="Conversation id", examples=["c-9"])
    channel: Channel = Field(description="Channel it came in on", examples=["whatsapp"])
    status: Status = Field(default="open", description="Current status", examples=["open"])
    inbox: Name | None = Field(
        default=None, description="Inbox it arrived in", examples=["support-en"]
    )
    priority: Priority | None = Field(
        default="normal", description="Current priority; null for none", examples=["high"]
    )
    subject: Line = Field(default="", description="Subject line", examples=["Refund"])
    tags: list[Name] = Field(
        default=[], max_length=MAX_ITEMS, description="Tags on it", examples=[["billing"]]
    )
    assignee_agent: Name | None = Field(
        default=None, description="Assigned agent id", examples=["agent-ana"]
    )
    assignee_team: Name | None = Field(
        default=None, description="Assigned team id", examples=["billing"]
    )
    attributes: dict[Name, AttributeValue] = Field(
        default={},
        max_length=MAX_ITEMS,
        description="Custom attributes, readable as conversation.attributes.<key>",
        examples=[{"order_id": "A-1001", "refund_amount": 40}],
    )
    created_at: datetime | None = Field(
        default=None,
        description="When it was created (default: the event's occurred_at)",
        examples=["2026-11-27T10:00:00Z"],
    )
    last_activity_at: datetime | None = Field(
        default=None,
        description="Last activity (default: the latest event or message seen)",
        examples=["2026-11-27T10:05:00Z"],
    )
    initiated_by: Literal["customer", "agent"] | None = Field(
        default=None,
        description="Who started it: the customer, or an agent (outbound); null when not said",
        examples=["customer"],
    )


class CustomerIn(_In):
    """The customer of the conversation."""

    id: Name = Field(min_length=1, description="Customer id", examples=["u-4"])
    name: Name | None = Field(default=None, description="Full name", examples=["Ada Lovelace"])
    email: Line | None = Field(
        default=None, max_length=320, description="Email", examples=["ada@example.com"]
    )
    phone: Name | None = Field(
        default=None, description="Phone number", examples=["+44 20 7946 0000"]
    )
    lifecycle: Name | None = Field(
        default=None, description="Lifecycle stage", examples=["customer", "lead"]
    )
    segment: Name | None = Field(default=None, description="Segment", examples=["vip"])
    plan: Name | None = Field(
        default=None, description="Plan (else the 'plan' attribute)", examples=["gold"]
    )
    language: Name | None = Field(default=None, description="Preferred language", examples=["en"])
    country: Name | None = Field(default=None, description="Country", examples=["GB"])
    attributes: dict[Name, Text | int | float | bool | None] = Field(
        default={},
        max_length=MAX_ITEMS,
        description="Custom attributes, readable as customer.attributes.<key>",
        examples=[{"plan": "gold", "mrr": 1200}],
    )


class MessageIn(_In):
    """The message a message.created event is about."""

    id: Name = Field(min_length=1, description="Message id", examples=["m-1"])
    sender_type: SenderType = Field(
        description="customer, agent, ai, automation (written by supportflow; never fires "
        "new_message), or note (internal: agents see it, no trigger matches it, no SLA clock "
        "counts it)",
        examples=["customer"],
    )
    content: Text = Field(default="", description="Text", examples=["I want a refund"])
    sentiment: Sentiment | None = Field(
        default=None,
        description="positive, neutral or negative; computed by the service when absent",
        examples=["negative"],
    )
    sentiment_score: float | None = Field(
        default=None, ge=-1, le=1, description="Score in [-1, 1]", examples=[-0.6]
    )
    language: Name | None = Field(default=None, description="Language", examples=["en"])
    created_at: datetime | None = Field(
        default=None, description="When it was sent", examples=["2026-11-27T10:00:00Z"]
    )


class FieldChange(_In):
    """How one field changed (conversation.updated)."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    from_: Any = Field(default=None, alias="from", description="The value before")
    to: Any = Field(default=None, description="The value after (default: the conversation's)")


class Event(_In):
    """One help-desk event. `id` is the idempotency key."""

    id: Name = Field(
        min_length=1,
        description="Idempotency key: the same id again starts nothing new",
        examples=["evt-123"],
    )
    type: EventType = Field(
        description="conversation.created, message.created, conversation.status_changed or "
        "conversation.updated",
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
    changes: dict[UpdatedField, FieldChange] = Field(
        default={},
        description="What changed (conversation.updated): field -> {from, to}",
        examples=[{"tags": {"from": ["billing"], "to": ["billing", "vip"]}}],
    )
    causal_chain: list[Line] = Field(
        default=[],
        max_length=MAX_ITEMS,
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
        if self.type == "conversation.updated" and not self.changes:
            reject_at(
                ("changes",),
                "a conversation.updated event needs 'changes' (the fields that changed)",
                None,
                title="Event",
            )
        return self

    def tags_added(self) -> list[str]:
        """The tags a conversation.updated event added (its `changes.tags`)."""
        before, after = self._tag_change()
        return [tag for tag in after if tag not in before]

    def tags_removed(self) -> list[str]:
        before, after = self._tag_change()
        return [tag for tag in before if tag not in after]

    def _tag_change(self) -> tuple[list[str], list[str]]:
        change = self.changes.get("tags")
        if change is None:
            return [], []
        after = change.to if change.to is not None else self.conversation.tags
        return list(change.from_ or []), list(after)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "conversation": self.conversation.id}
