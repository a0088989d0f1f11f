"""The field resolver: what the fields of a condition or a placeholder read, for a real run and for
a dry run alike.

A real run's condition step reads the conversation and customer as the desk store has them now
(ingestion mirrored the event before the run started) and the triggering message with its
sentiment. A dry run must read exactly that too, so it applies the sample event to the stored
conversation with the pure mirror rule ingestion uses (definitions/mirror_rule.py), sentiment
filled the same way: the same code, and nothing written.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from definitions.context import ConversationState, CustomerState
from definitions.errors import NotFound
from definitions.events import Event
from definitions.mirror_rule import apply_customer, apply_event, conversation_state
from definitions.utc import as_utc
from desk.mirror import message_count, mirrored, stored_customer
from desk.sentiment import event_for_context, fill_sentiment
from desk.state import load_state
from store.models import ConversationRow, MessageRow, utcnow


class FieldSource(NamedTuple):
    """What `build_context` needs besides the SLA and the step outputs."""

    conversation: ConversationState
    customer: CustomerState | None
    event: Event


def run_fields(session: Session, event: Event, now: datetime | None = None) -> FieldSource:
    """What a step of a real run reads: the desk store as it is now, and the triggering message
    with its sentiment (stored, or computed). A conversation never mirrored (ingestion mirrors
    first, so this should not happen) reads as `sample_fields` has it."""
    try:
        conversation, customer = load_state(session, event.conversation.id, now)
    except NotFound:
        return sample_fields(session, event, now)
    return FieldSource(conversation, customer, event_for_context(session, event))


def sample_fields(session: Session, event: Event, now: datetime | None = None) -> FieldSource:
    """What the first step of a run started by `event` would read: the event applied to the
    stored conversation (if any) by the same pure mirror rule ingestion applies, sentiment filled
    in the same way. Only reads."""
    now = as_utc(now) or utcnow()
    event = fill_sentiment(event)
    row = session.get(ConversationRow, event.conversation.id)
    new_message = event.message is not None and session.get(MessageRow, event.message.id) is None
    after = apply_event(
        mirrored(row) if row is not None else None, event, message_is_new=new_message
    )
    count = (message_count(session, row.id) if row is not None else 0) + int(new_message)
    customer = stored_customer(session, after.customer_id)
    if event.customer is not None:
        customer = apply_customer(customer, event.customer)
    return FieldSource(
        conversation_state(after, count, now), customer, event_for_context(session, event)
    )
