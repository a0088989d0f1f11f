"""The mirror of every conversation supportflow has seen (SPEC §3): `mirror_event` upserts the
conversation, customer and message an event carries.

What an event does to a conversation and its customer is the pure mirror rule
(definitions/mirror_rule.py), shared with the dry run; this module only reads the rows into it and
writes its result back. Messages are inserted once (by id).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from definitions.context import CustomerState
from definitions.events import CustomerIn, Event, MessageIn
from definitions.mirror_rule import (
    MirroredConversation,
    apply_customer,
    apply_event,
)
from definitions.utc import as_utc
from desk import sentiment
from store.models import ConversationRow, CustomerRow, MessageRow, utcnow

#: The columns of a conversation row that the mirror rule decides.
_MIRRORED = tuple(name for name in MirroredConversation.model_fields if name != "id")


def union_tags(current: Iterable[str], extra: Iterable[str]) -> list[str]:
    """`current` then the tags of `extra` it lacks, each once, in order; linear (a dict keeps
    insertion order)."""
    return list(dict.fromkeys([*current, *extra]))


def mirrored(row: ConversationRow) -> MirroredConversation:
    """A conversation row as the mirror rule reads it."""
    return MirroredConversation.model_validate(
        {"id": row.id, **{name: getattr(row, name) for name in _MIRRORED}}
    )


def store_mirrored(row: ConversationRow, conversation: MirroredConversation) -> None:
    """Write the mirror rule's result back into the row."""
    data: dict[str, Any] = conversation.model_dump(mode="python", exclude={"id"})
    data["changed_by_actions"] = {
        name: at.isoformat() for name, at in conversation.changed_by_actions.items()
    }
    for name, value in data.items():
        setattr(row, name, value)


def message_count(session: Session, conversation_id: str) -> int:
    query = (
        select(func.count())
        .select_from(MessageRow)
        .where(col(MessageRow.conversation_id) == conversation_id)
    )
    return int(session.exec(query).one())


def _customer_state(row: CustomerRow | None) -> CustomerState | None:
    return CustomerState.model_validate(row.model_dump()) if row is not None else None


def stored_customer(session: Session, customer_id: str | None) -> CustomerState | None:
    return _customer_state(session.get(CustomerRow, customer_id) if customer_id else None)


def _mirror_customer(session: Session, customer: CustomerIn) -> None:
    row = session.get(CustomerRow, customer.id)
    after = apply_customer(_customer_state(row), customer)
    if row is None:
        row = CustomerRow(id=customer.id)
    for name, value in after.model_dump(exclude={"id"}).items():
        setattr(row, name, dict(value) if name == "attributes" else value)
    session.add(row)


def _mirror_conversation(
    session: Session, event: Event, now: datetime, stored_message: MessageRow | None
) -> ConversationRow:
    row = session.get(ConversationRow, event.conversation.id)
    current = mirrored(row) if row is not None else None
    message_is_new = event.message is not None and stored_message is None
    after = apply_event(current, event, message_is_new=message_is_new)
    if row is None:
        row = ConversationRow(id=after.id, channel=after.channel)
    store_mirrored(row, after)
    row.updated_at = now
    session.add(row)
    return row


def _mirror_message(
    session: Session,
    conversation: ConversationRow,
    event: Event,
    message: MessageIn,
    row: MessageRow | None,
) -> None:
    if row is not None:  # already mirrored: idempotent, only fill a missing sentiment
        if row.sentiment is None and row.sender_type == "customer":
            row.sentiment, row.sentiment_score = sentiment.score(row.content)
            session.add(row)
        return
    label, value = message.sentiment, message.sentiment_score
    if label is None and message.sender_type == "customer":
        label, value = sentiment.score(message.content)
    created_at = as_utc(message.created_at) or as_utc(event.occurred_at) or utcnow()
    session.add(
        MessageRow(
            id=message.id,
            conversation_id=conversation.id,
            sender_type=message.sender_type,
            content=message.content,
            sentiment=label,
            sentiment_score=value,
            language=message.language,
            created_at=created_at,
        )
    )


def mirror_event(session: Session, event: Event, *, now: datetime | None = None) -> ConversationRow:
    """Upsert the conversation, customer and message of `event` (idempotent by their ids); the
    conversation's row. Does not commit: the caller owns the transaction."""
    now = now or utcnow()
    if event.customer is not None:
        _mirror_customer(session, event.customer)
    stored_message = session.get(MessageRow, event.message.id) if event.message else None
    # The conversation first: the rule needs to know whether the message is new.
    conversation = _mirror_conversation(session, event, now, stored_message)
    if event.message is not None:
        _mirror_message(session, conversation, event, event.message, stored_message)
    session.flush()
    return conversation


def mirrored_conversation(session: Session, event: Event, now: datetime) -> ConversationRow:
    """The mirrored row of the event's conversation; mirrored now (without the message) if it
    never was (should not happen: ingestion mirrors first)."""
    row = session.get(ConversationRow, event.conversation.id)
    if row is None:
        mirror_event(session, event.model_copy(update={"message": None}), now=now)
        row = session.get(ConversationRow, event.conversation.id)
        assert row is not None
    return row
