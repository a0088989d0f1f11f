"""Events our actions cause, dispatched through ingestion like any other (the run feeds them to
the `dispatch_event` activity, with its causal chain for the loop guard):

- a `change_status` that changed the status is a `conversation.status_changed` event;
- an action that changed tags, priority, assignment or an attribute is a `conversation.updated`
  event — emitted only when an active `conversation_updated` definition on the conversation's
  channel would fire on it, so without one it costs one indexed lookup and no activity.

`record_changes` also remembers when our actions changed each field, for the mirror rule.
"""

from __future__ import annotations

import hashlib
from typing import Any

from definitions.events import ConversationIn, CustomerIn, Event, FieldChange
from definitions.mirror_rule import ACTION_FIELDS, ATTRIBUTE_MARK
from definitions.utc import as_utc
from definitions.vocabulary import UPDATED_FIELDS
from desk.effect import Effect
from store.models import CustomerRow
from store.trigger_index import candidate_matcher, has_listener

MAX_EVENT_ID = 300
UPDATED_TRIGGER = "conversation_updated"


def emitted_event_id(run_id: str, step_id: str, suffix: str = "") -> str:
    """`{run_id}:{step_id}{suffix}`, or a digest of it when that would be longer than an event id
    may be."""
    plain = f"{run_id}:{step_id}{suffix}"
    if len(plain) <= MAX_EVENT_ID:
        return plain
    return f"evt-{hashlib.sha256(plain.encode()).hexdigest()}"


def _event(effect: Effect, event_id: str, **fields: Any) -> Event:
    """An event about the step's conversation as it is now, carrying its customer and the
    causal chain."""
    row, args = effect.conversation, effect.args
    customer = effect.session.get(CustomerRow, row.customer_id) if row.customer_id else None
    return Event(
        id=event_id,
        occurred_at=effect.now,
        conversation=ConversationIn.model_validate(
            {
                "id": row.id,
                "channel": row.channel,
                "inbox": row.inbox,
                "status": row.status,
                "priority": row.priority,
                "subject": row.subject,
                "tags": list(row.tags),
                "assignee_agent": row.assignee_agent,
                "assignee_team": row.assignee_team,
                "attributes": dict(row.attributes),
                "created_at": as_utc(row.created_at),
            }
        ),
        customer=CustomerIn.model_validate(customer.model_dump()) if customer else None,
        causal_chain=list(args.causal_chain),
        **fields,
    )


def status_changed_event(effect: Effect, previous: str) -> Event:
    """The event of the step's status change, from `previous` to the conversation's status now."""
    args = effect.args
    return _event(
        effect,
        emitted_event_id(args.run_id, args.step.id),
        type="conversation.status_changed",
        from_status=previous,
        to_status=effect.conversation.status,
    )


def _changes(effect: Effect) -> dict[str, FieldChange]:
    before, row = effect.before, effect.conversation
    changes: dict[str, FieldChange] = {}
    for name in UPDATED_FIELDS:
        old, new = getattr(before, name), getattr(row, name)
        if old != new:
            changes[name] = FieldChange.model_validate({"from": old, "to": new})
    return changes


def record_changes(effect: Effect) -> None:
    """Note when this step changed each field (the mirror rule keeps those against older desk
    events) and emit `conversation.updated` when something listens for it."""
    before, row = effect.before, effect.conversation
    changed = [name for name in ACTION_FIELDS if getattr(before, name) != getattr(row, name)]
    changed += [
        ATTRIBUTE_MARK + key
        for key in {*before.attributes, *row.attributes}
        if before.attributes.get(key) != row.attributes.get(key)
    ]
    if not changed:
        return
    row.changed_by_actions = {
        **row.changed_by_actions,
        **{name: effect.now.isoformat() for name in changed},
    }
    changes = _changes(effect)
    if not changes or not has_listener(effect.session, UPDATED_TRIGGER, row.channel):
        return
    args = effect.args
    event_id = emitted_event_id(args.run_id, args.step.id, ":updated")
    event = _event(effect, event_id, type="conversation.updated", changes=changes)
    # Only an event some definition's trigger would fire on is worth a dispatch: a rule on
    # priority does not make every tag an action adds cost an activity and a workflow task.
    if candidate_matcher(effect.session, UPDATED_TRIGGER, row.channel).matching(event):
        effect.emitted.append(event)
