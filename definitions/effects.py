"""What an action would do, as far as pure code can tell: its outputs and the conversation it
leaves behind. The dry run uses it so that a later step reads what it would read in a real run
(an escalation's new priority and tag, a route's team, an added tag, one more message).

The real effects are applied by the desk store (desk/actions.py); keep the two in step. What
only the store can decide (the agent a routing strategy picks, a team's supervisor and members,
generated ids) is a readable stand-in such as "<agent from step route>".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, assert_never

from definitions.context import ConversationState
from definitions.models import (
    ActionStep,
    AddTagStep,
    AutoReplyStep,
    ChangeStatusStep,
    CreateTicketStep,
    EscalateStep,
    NotifyStep,
    RouteStep,
)
from definitions.vocabulary import ESCALATED_TAG


def stand_in(step_id: str, output: str) -> str:
    """The readable stand-in for an output only a real run knows."""
    return f"<{output.replace('_', ' ')} from step {step_id}>"


def would_do(
    step: ActionStep, conversation: ConversationState, rendered: dict[str, str]
) -> tuple[dict[str, Any], ConversationState]:
    """The outputs of `step` (readable as steps.<id>.<output>) and the conversation after it.
    `rendered` holds the step's template params rendered for this run."""
    unknown = stand_in
    changes: dict[str, Any] = {}
    output: dict[str, Any]
    match step:
        case AutoReplyStep():
            output = {"message_id": unknown(step.id, "message_id"), "message": rendered["message"]}
            changes["message_count"] = conversation.message_count + 1
        case RouteStep():
            params = step.params
            if params.agent is not None:
                changes["assignee_agent"] = params.agent
            else:
                changes["assignee_team"] = params.team
                picked = params.strategy != "direct"
                changes["assignee_agent"] = unknown(step.id, "agent") if picked else None
            after = conversation.model_copy(update=changes)
            output = {"agent": after.assignee_agent, "team": after.assignee_team}
        case AddTagStep():
            added = list(dict.fromkeys(step.params.tags))
            changes["tags"] = _union(conversation.tags, added)
            output = {"tags": added}
        case ChangeStatusStep():
            changes["status"] = step.params.status
            output = {"status": step.params.status, "previous_status": conversation.status}
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
            agent = step.params.to or unknown(step.id, "agent")
            changes["assignee_agent"] = agent
            changes["priority"] = step.params.priority
            changes["tags"] = _union(conversation.tags, [ESCALATED_TAG])
            output = {
                "agent": agent,
                "priority": step.params.priority,
                "reason": rendered["reason"],
            }
        case _:
            assert_never(step)
    return output, conversation.model_copy(update=changes)


def _union(current: Iterable[str], extra: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*current, *extra]))
