"""Is a conversation still idle? The desk store's answer, which the idle fire activity trusts
over the tracker's view (SPEC §2.3: the desk state is the truth).

A period waiting on the agent is still idle while the conversation has an unanswered customer
message no later than the one that started the period (`awaiting_reply_since`); one waiting on the
customer while no customer message came after the one of ours that started it. The period's start
is the desk's own time of that message (its `created_at`), or the tracker's when the desk lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from definitions.utc import as_utc
from definitions.vocabulary import WaitingOn
from store.models import ConversationRow, MessageRow


@dataclass(frozen=True)
class Idleness:
    idle: bool
    status: str | None
    reason: str = ""


def idleness(
    session: Session,
    conversation_id: str,
    side: WaitingOn,
    message_id: str | None,
    period_start: datetime,
) -> Idleness:
    """Whether the conversation still waits on `side` in the period started by `message_id`."""
    conversation = session.get(ConversationRow, conversation_id)
    if conversation is None:
        return Idleness(False, None, "the conversation is not in the desk store")
    status = conversation.status
    started = session.get(MessageRow, message_id) if message_id else None
    since = as_utc(started.created_at) if started is not None else as_utc(period_start)
    assert since is not None
    if side == "agent":
        waiting = as_utc(conversation.awaiting_reply_since)
        if waiting is None:
            return Idleness(False, status, "an agent or AI answered")
        if waiting > since:
            return Idleness(False, status, "an agent answered; the customer wrote again since")
        return Idleness(True, status)
    # The latest customer message, compared in Python (SQLite keeps naive datetimes).
    latest = session.exec(
        select(MessageRow.created_at)
        .where(col(MessageRow.conversation_id) == conversation_id)
        .where(col(MessageRow.sender_type) == "customer")
        .order_by(col(MessageRow.created_at).desc())
        .limit(1)
    ).first()
    answered = as_utc(latest)
    if answered is not None and answered > since:
        return Idleness(False, status, "the customer answered")
    return Idleness(True, status)
