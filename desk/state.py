"""What the desk knows about a conversation now.

- `load_state(session, conversation_id, now)` is the fresh state conditions and templates read.
- `conversation_view(session, conversation_id)` is what GET /conversations/{id} shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from definitions.context import ConversationState, CustomerState
from definitions.errors import NotFound
from definitions.mirror_rule import conversation_state
from definitions.utc import as_utc
from desk.mirror import message_count, mirrored, stored_customer
from store.models import (
    ConversationRow,
    CustomerRow,
    MessageRow,
    NotificationRow,
    TicketRow,
    utcnow,
)


def _iso(value: datetime | None) -> str | None:
    aware = as_utc(value)
    return aware.isoformat() if aware else None


def state_of(
    session: Session, row: ConversationRow, now: datetime
) -> tuple[ConversationState, CustomerState | None]:
    """The fresh state of a mirrored conversation row and its customer."""
    conversation = conversation_state(mirrored(row), message_count(session, row.id), now)
    return conversation, stored_customer(session, row.customer_id)


def load_state(
    session: Session, conversation_id: str, now: datetime | None = None
) -> tuple[ConversationState, CustomerState | None]:
    """The conversation and its customer as the desk store has them now (fresh state).

    Raises NotFound when the conversation was never mirrored."""
    row = session.get(ConversationRow, conversation_id)
    if row is None:
        raise NotFound(
            "conversation",
            conversation_id,
            f"conversation {conversation_id!r} is not in the desk store",
        )
    return state_of(session, row, as_utc(now) or utcnow())


def conversation_view(session: Session, conversation_id: str) -> dict[str, Any] | None:
    """GET /conversations/{id}: the mirror of one conversation as JSON-ready data, or None."""
    row = session.get(ConversationRow, conversation_id)
    if row is None:
        return None
    customer = session.get(CustomerRow, row.customer_id) if row.customer_id else None
    messages = session.exec(
        select(MessageRow)
        .where(col(MessageRow.conversation_id) == conversation_id)
        .order_by(col(MessageRow.created_at), col(MessageRow.id))
    ).all()
    tickets = session.exec(
        select(TicketRow)
        .where(col(TicketRow.conversation_id) == conversation_id)
        .order_by(col(TicketRow.created_at), col(TicketRow.id))
    ).all()
    notifications = session.exec(
        select(NotificationRow)
        .where(col(NotificationRow.conversation_id) == conversation_id)
        .order_by(col(NotificationRow.created_at), col(NotificationRow.id))
    ).all()
    return {
        "id": row.id,
        "channel": row.channel,
        "inbox": row.inbox,
        "status": row.status,
        "priority": row.priority,
        "subject": row.subject,
        "tags": list(row.tags),
        "attributes": dict(row.attributes),
        "assignment": {"agent": row.assignee_agent, "team": row.assignee_team},
        "customer": customer.model_dump(mode="json") if customer else None,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "last_activity_at": _iso(row.last_activity_at),
        "awaiting_reply_since": _iso(row.awaiting_reply_since),
        "message_count": len(messages),
        "messages": [
            {
                "id": m.id,
                "sender_type": m.sender_type,
                "content": m.content,
                "sentiment": m.sentiment,
                "sentiment_score": m.sentiment_score,
                "language": m.language,
                "created_at": _iso(m.created_at),
                "source": m.source,
            }
            for m in messages
        ],
        "tickets": [
            {
                "id": t.id,
                "title": t.title,
                "description": t.description,
                "priority": t.priority,
                "team": t.team,
                "created_at": _iso(t.created_at),
                "source": t.source,
            }
            for t in tickets
        ],
        "notifications": [
            {
                "id": n.id,
                "recipient_agent": n.recipient_agent,
                "message": n.message,
                "created_at": _iso(n.created_at),
                "source": n.source,
            }
            for n in notifications
        ],
    }
