"""Events our actions cause: a `change_status` that changed the status is itself a
`conversation.status_changed` event, dispatched through ingestion like any other."""

from __future__ import annotations

import hashlib

from definitions.events import ConversationIn, CustomerIn, Event
from definitions.utc import as_utc
from desk.effect import Effect
from store.models import CustomerRow

MAX_EVENT_ID = 300


def emitted_event_id(run_id: str, step_id: str) -> str:
    """`{run_id}:{step_id}`, or a digest of it when that would be longer than an event id may be."""
    plain = f"{run_id}:{step_id}"
    if len(plain) <= MAX_EVENT_ID:
        return plain
    return f"evt-{hashlib.sha256(plain.encode()).hexdigest()}"


def status_changed_event(effect: Effect, previous: str) -> Event:
    """The event of the step's status change, from `previous` to the conversation's status now."""
    row, args = effect.conversation, effect.args
    customer = effect.session.get(CustomerRow, row.customer_id) if row.customer_id else None
    return Event(
        id=emitted_event_id(args.run_id, args.step.id),
        type="conversation.status_changed",
        occurred_at=effect.now,
        conversation=ConversationIn.model_validate(
            {
                "id": row.id,
                "channel": row.channel,
                "status": row.status,
                "priority": row.priority,
                "subject": row.subject,
                "tags": list(row.tags),
                "assignee_agent": row.assignee_agent,
                "assignee_team": row.assignee_team,
                "created_at": as_utc(row.created_at),
            }
        ),
        customer=CustomerIn.model_validate(customer.model_dump()) if customer else None,
        from_status=previous,  # type: ignore[arg-type]
        to_status=row.status,  # type: ignore[arg-type]
        causal_chain=list(args.causal_chain),
    )
