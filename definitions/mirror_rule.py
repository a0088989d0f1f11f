"""The mirror rule (SPEC §3): what an event does to the stored copy of a conversation and its
customer. Pure, so ingestion (desk/mirror.py) and the dry run (desk/field_values.py) apply a
sample event in exactly the same way, and the dry run writes nothing.

- A new conversation is taken from the event; `created_at` defaults to the event's `occurred_at`.
- For a known one, a field the event carries replaces the stored value (`tags: []` clears the
  tags, `assignee_team: null` unassigns, `priority: null` means none) and a field it omits is
  kept — except a field one of our actions changed after the event's `occurred_at`: the desk
  could not have known that change yet, so the action's value stays. Custom attributes follow the
  rule per key.
- A `conversation.status_changed` event sets the status to its `to_status` (same exception).
- `last_activity_at` is the latest event or message seen, unless the event says otherwise.
- A new customer message starts the wait for a reply; an agent or AI message ends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from definitions.context import ConversationState, CustomerState
from definitions.events import CustomerIn, Event
from definitions.utc import as_utc
from definitions.vocabulary import ANSWERING_SENDERS, Priority, Status

#: Conversation fields an event may carry that the mirror stores as given.
CARRIED_FIELDS = (
    "channel",
    "inbox",
    "status",
    "priority",
    "subject",
    "tags",
    "assignee_agent",
    "assignee_team",
    "created_at",
    "last_activity_at",
)
#: Fields our actions change, tracked in `changed_by_actions` (attributes per key, below).
ACTION_FIELDS = ("status", "priority", "tags", "assignee_agent", "assignee_team")
ATTRIBUTE_MARK = "attributes."


class MirroredConversation(BaseModel):
    """A conversation as the desk store keeps it (one row of `conversations`)."""

    id: str
    channel: str
    inbox: str | None = None
    status: Status = "open"
    priority: Priority | None = "normal"
    subject: str = ""
    tags: list[str] = []
    assignee_agent: str | None = None
    assignee_team: str | None = None
    attributes: dict[str, Any] = {}
    customer_id: str | None = None
    created_at: datetime
    last_activity_at: datetime | None = None
    awaiting_reply_since: datetime | None = None
    #: When one of our actions last changed a field (`tags`, ..., `attributes.<key>`).
    changed_by_actions: dict[str, datetime] = {}


def unique(tags: list[str]) -> list[str]:
    """Each tag once, first occurrence first."""
    return list(dict.fromkeys(tags))


def _ours_since(current: MirroredConversation, name: str, occurred_at: datetime) -> bool:
    """Did one of our actions change `name` after `occurred_at` (so the event cannot know)?"""
    changed = as_utc(current.changed_by_actions.get(name))
    return changed is not None and changed > occurred_at


def apply_event(
    current: MirroredConversation | None, event: Event, *, message_is_new: bool
) -> MirroredConversation:
    """The conversation after `event` (see the module docstring). `message_is_new`: the event's
    message is not stored yet (a message counts once, however often its event arrives)."""
    conv = event.conversation
    occurred_at = as_utc(event.occurred_at)
    assert occurred_at is not None
    if current is None:
        fields = conv.model_dump(include=set(CARRIED_FIELDS) | {"attributes"})
        fields["created_at"] = as_utc(conv.created_at) or occurred_at
        current = MirroredConversation(id=conv.id, **fields)
        given: set[str] = set()
    else:
        given = conv.model_fields_set
    updates: dict[str, Any] = {}
    for name in given & set(CARRIED_FIELDS):
        value = getattr(conv, name)
        if name == "created_at" and value is None:
            continue
        if not _ours_since(current, name, occurred_at):
            updates[name] = value
    if "attributes" in given:
        kept = {
            key: value
            for key, value in current.attributes.items()
            if _ours_since(current, ATTRIBUTE_MARK + key, occurred_at)
        }
        updates["attributes"] = {**conv.attributes, **kept}
    if event.type == "conversation.status_changed" and event.to_status is not None:
        if not _ours_since(current, "status", occurred_at):
            updates["status"] = event.to_status
    if event.customer is not None:
        updates["customer_id"] = event.customer.id
    if "tags" in updates:
        updates["tags"] = unique(updates["tags"])
    after = current.model_copy(update=updates)
    message_at = _message_time(event)
    if "last_activity_at" not in given or conv.last_activity_at is None:
        seen = [t for t in (as_utc(after.last_activity_at), occurred_at, message_at) if t]
        after.last_activity_at = max(seen)
    if event.message is not None and message_is_new:
        sender = event.message.sender_type
        if sender == "customer" and after.awaiting_reply_since is None:
            after.awaiting_reply_since = message_at
        elif sender in ANSWERING_SENDERS:
            after.awaiting_reply_since = None
    return after


def _message_time(event: Event) -> datetime | None:
    if event.message is None:
        return None
    return as_utc(event.message.created_at) or as_utc(event.occurred_at)


def apply_customer(current: CustomerState | None, customer: CustomerIn) -> CustomerState:
    """The customer after an event: a new one as the event has it; for a known one, the fields
    the event carries replace the stored ones."""
    if current is None:
        return CustomerState.from_event(customer)
    given = customer.model_dump(include=customer.model_fields_set - {"id"})
    return current.model_copy(update=given)


def conversation_state(
    mirrored: MirroredConversation, message_count: int, now: datetime
) -> ConversationState:
    """What conditions and templates read of a mirrored conversation at `now`."""
    waiting = as_utc(mirrored.awaiting_reply_since)
    return ConversationState(
        id=mirrored.id,
        channel=mirrored.channel,
        inbox=mirrored.inbox,
        status=mirrored.status,
        priority=mirrored.priority,
        subject=mirrored.subject,
        tags=list(mirrored.tags),
        assignee_agent=mirrored.assignee_agent,
        assignee_team=mirrored.assignee_team,
        message_count=message_count,
        waiting_minutes=(
            round(max((now - waiting).total_seconds(), 0.0) / 60, 2) if waiting else None
        ),
        created_at=as_utc(mirrored.created_at),
        last_activity_at=as_utc(mirrored.last_activity_at),
        attributes=dict(mirrored.attributes),
    )


def state_from_event(event: Event) -> tuple[ConversationState, CustomerState | None]:
    """The conversation and customer a conversation never seen before has after `event`, read at
    the event's time."""
    mirrored = apply_event(None, event, message_is_new=True)
    now = as_utc(event.occurred_at)
    assert now is not None
    count = 1 if event.message is not None else 0
    customer = apply_customer(None, event.customer) if event.customer else None
    return conversation_state(mirrored, count, now), customer
