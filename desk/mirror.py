"""The mirror of every conversation supportflow has seen (SPEC §3): `mirror_event` upserts the
conversation, customer and message an event carries.

Merging rules (the desk is the source of truth for what it sends, supportflow for what its actions
did): a new conversation is taken from the event as is; for a known one, later events add their
tags (union), and replace priority, subject and assignment only when they carry them explicitly
(non-empty); the status changes only through `conversation.status_changed` events and
`change_status`. Customers take every field the event sets. Messages are inserted once (by id).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from definitions.events import CustomerIn, Event, MessageIn
from definitions.utc import as_utc
from definitions.vocabulary import ANSWERING_SENDERS
from desk import sentiment
from store.models import ConversationRow, CustomerRow, MessageRow, utcnow


def union_tags(current: Iterable[str], extra: Iterable[str]) -> list[str]:
    """`current` then the tags of `extra` it lacks, each once, in order; linear (a dict keeps
    insertion order)."""
    return list(dict.fromkeys([*current, *extra]))


def _mirror_customer(session: Session, customer: CustomerIn) -> None:
    row = session.get(CustomerRow, customer.id)
    given = customer.model_dump(include=customer.model_fields_set - {"id"})
    if row is None:
        row = CustomerRow(id=customer.id)
        for key, value in customer.model_dump(exclude={"id"}).items():
            setattr(row, key, value)
    else:
        for key, value in given.items():
            setattr(row, key, dict(value) if key == "attributes" else value)
    session.add(row)


def _mirror_conversation(session: Session, event: Event, now: datetime) -> ConversationRow:
    conv = event.conversation
    customer_id = event.customer.id if event.customer else None
    row = session.get(ConversationRow, conv.id)
    if row is None:
        row = ConversationRow(
            id=conv.id,
            channel=conv.channel,
            status=conv.status,
            priority=conv.priority,
            subject=conv.subject,
            tags=union_tags([], conv.tags),
            assignee_agent=conv.assignee_agent,
            assignee_team=conv.assignee_team,
            customer_id=customer_id,
            created_at=as_utc(conv.created_at) or as_utc(event.occurred_at) or now,
            updated_at=now,
        )
        if event.type == "conversation.status_changed" and event.to_status:
            row.status = event.to_status
        session.add(row)
        return row
    given = conv.model_fields_set
    if customer_id is not None:
        row.customer_id = customer_id
    if conv.tags:
        row.tags = union_tags(row.tags, conv.tags)
    if "priority" in given:
        row.priority = conv.priority
    if "subject" in given and conv.subject:
        row.subject = conv.subject
    if conv.assignee_agent:
        row.assignee_agent = conv.assignee_agent
    if conv.assignee_team:
        row.assignee_team = conv.assignee_team
    if event.type == "conversation.status_changed" and event.to_status:
        row.status = event.to_status
    row.updated_at = now
    session.add(row)
    return row


def _mirror_message(
    session: Session, conversation: ConversationRow, event: Event, message: MessageIn
) -> None:
    row = session.get(MessageRow, message.id)
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
    if message.sender_type == "customer":
        if conversation.awaiting_reply_since is None:
            conversation.awaiting_reply_since = created_at
    elif message.sender_type in ANSWERING_SENDERS:
        conversation.awaiting_reply_since = None
    session.add(conversation)


def mirror_event(session: Session, event: Event, *, now: datetime | None = None) -> None:
    """Upsert the conversation, customer and message of `event` (idempotent by their ids). Does not
    commit: the caller owns the transaction."""
    now = now or utcnow()
    if event.customer is not None:
        _mirror_customer(session, event.customer)
    conversation = _mirror_conversation(session, event, now)
    if event.message is not None:
        _mirror_message(session, conversation, event, event.message)
    session.flush()


def mirrored_conversation(session: Session, event: Event, now: datetime) -> ConversationRow:
    """The mirrored row of the event's conversation; mirrored now (without the message) if it
    never was (should not happen: ingestion mirrors first)."""
    row = session.get(ConversationRow, event.conversation.id)
    if row is None:
        mirror_event(session, event.model_copy(update={"message": None}), now=now)
        row = session.get(ConversationRow, event.conversation.id)
        assert row is not None
    return row
