"""What an action would do, as far as pure code can tell: its outputs and the conversation it
leaves behind. The dry run uses it so that a later step reads what it would read in a real run
(an escalation's new priority and tag, a route's team, an added tag, one more message).

What an action does to the conversation's fields (tags, status, priority, assignment, attributes)
is written once, in `conversation_changes`: the real run (desk/actions.py) applies the same
changes to the desk store. What only the store can decide (the agent a routing strategy picks, a
team's supervisor and members, generated ids) the real run passes in as `picked`; the dry run
passes a readable stand-in such as "<agent from step route>".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, assert_never

from definitions.context import ConversationState
from definitions.models import (
    ActionStep,
    AddNoteStep,
    AddTagStep,
    AutoReplyStep,
    ChangeStatusStep,
    CreateTicketStep,
    EscalateStep,
    NotifyStep,
    RemoveTagStep,
    RouteStep,
    SetAttributeStep,
    SetPriorityStep,
)
from definitions.vocabulary import ESCALATED_TAG


def stand_in(step_id: str, output: str) -> str:
    """The readable stand-in for an output only a real run knows."""
    return f"<{output.replace('_', ' ')} from step {step_id}>"


def conversation_changes(
    step: ActionStep, conversation: ConversationState, rendered: dict[str, Any], picked: str | None
) -> dict[str, Any]:
    """The fields of `conversation` that `step` changes, with their new values. `picked` is the
    agent the store chose: a routing strategy's pick (None for the team's queue) or the
    escalation's target."""
    match step:
        case RouteStep(params=params):
            if params.agent is not None:
                return {"assignee_agent": params.agent}
            return {"assignee_team": params.team, "assignee_agent": picked}
        case AddTagStep(params=params):
            return {"tags": _union(conversation.tags, params.tags)}
        case RemoveTagStep(params=params):
            gone = {tag.casefold() for tag in params.tags}
            return {"tags": [tag for tag in conversation.tags if tag.casefold() not in gone]}
        case ChangeStatusStep(params=params):
            return {"status": params.status}
        case SetPriorityStep(params=params):
            return {"priority": params.priority}
        case EscalateStep(params=params):
            return {
                "assignee_agent": picked,
                "priority": params.priority,
                "tags": _union(conversation.tags, [ESCALATED_TAG]),
            }
        case SetAttributeStep(params=params):
            return {"attributes": {**conversation.attributes, params.key: rendered["value"]}}
        case AutoReplyStep() | CreateTicketStep() | NotifyStep() | AddNoteStep():
            return {}
        case _:
            assert_never(step)


def would_do(
    step: ActionStep, conversation: ConversationState, rendered: dict[str, str]
) -> tuple[dict[str, Any], ConversationState]:
    """The outputs of `step` (readable as steps.<id>.<output>) and the conversation after it.
    `rendered` holds the step's template params rendered for this run."""
    unknown = stand_in
    picked: str | None = None
    if isinstance(step, RouteStep) and step.params.strategy != "direct":
        picked = unknown(step.id, "agent")
    elif isinstance(step, EscalateStep):
        picked = step.params.to or unknown(step.id, "agent")
    changes = conversation_changes(step, conversation, rendered, picked)
    after = conversation.model_copy(update=changes)
    output: dict[str, Any]
    match step:
        case AutoReplyStep():
            output = {"message_id": unknown(step.id, "message_id"), "message": rendered["message"]}
            after.message_count += 1
        case AddNoteStep():
            output = {"message_id": unknown(step.id, "message_id"), "note": rendered["note"]}
            after.message_count += 1
        case RouteStep():
            output = {"agent": after.assignee_agent, "team": after.assignee_team}
        case AddTagStep() | RemoveTagStep():
            output = {"tags": list(dict.fromkeys(step.params.tags))}
        case ChangeStatusStep():
            output = {"status": step.params.status, "previous_status": conversation.status}
        case SetPriorityStep():
            output = {"priority": step.params.priority, "previous_priority": conversation.priority}
        case SetAttributeStep():
            output = {"key": step.params.key, "value": rendered["value"]}
        case CreateTicketStep():
            output = {"ticket_id": unknown(step.id, "ticket_id"), "title": rendered["title"]}
        case NotifyStep():
            agent = step.params.agent
            recipients = [agent] if agent is not None else unknown(step.id, "recipients")
            output = {
                "recipients": recipients,
                "notification_ids": unknown(step.id, "notification_ids"),
            }
        case EscalateStep():
            output = {
                "agent": picked,
                "priority": step.params.priority,
                "reason": rendered["reason"],
            }
        case _:
            assert_never(step)
    return output, after


def _union(current: Iterable[str], extra: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*current, *extra]))
