"""The field resolver: what the fields of a condition or a placeholder read, for a real run and for
a dry run alike.

A real run's condition step reads the conversation and customer as the desk store has them now
(ingestion mirrored the event before the run started) and the triggering message with its
sentiment. A dry run must read exactly that too, so it applies the sample event the way ingestion
does (sentiment filled, then mirrored) inside a transaction that is rolled back: the same code,
nothing written. `conversation.message_count`, `waiting_minutes` and the rest then come from the
store, whether the conversation was already there or is derived from the event.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from definitions.context import ConversationState, CustomerState
from definitions.errors import NotFound
from definitions.events import Event
from desk.mirror import mirror_event
from desk.sentiment import event_for_context, fill_sentiment
from desk.state import load_state


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
    """What the first step of a run started by `event` would read: the event applied to the desk
    store as ingestion applies it, read back, then rolled back with the rest of `session`'s
    transaction (so give it a session with nothing to keep). Writes nothing."""
    event = fill_sentiment(event)
    try:
        mirror_event(session, event, now=now)
        conversation, customer = load_state(session, event.conversation.id, now)
        return FieldSource(conversation, customer, event_for_context(session, event))
    finally:
        session.rollback()
