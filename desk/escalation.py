"""Escalation: find the target (the `to` agent, else the supervisor of the assigned team), apply
the escalation's changes (raise the priority, assign the target, tag `escalated`: the pure rule of
definitions/effects.py) and notify the target."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from definitions.errors import NotFound
from definitions.models import EscalateParams
from desk.directory import require_agent, require_team
from desk.effect import Effect
from desk.notifications import notify_agents
from store.models import ConversationRow


def escalation_target(session: Session, conversation: ConversationRow, to: str | None) -> str:
    """Who takes the escalation; NotFound when nobody can."""
    if to is not None:
        return require_agent(session, to).id
    if conversation.assignee_team is None:
        raise NotFound(
            "supervisor",
            conversation.id,
            f"escalate has no 'to' and conversation {conversation.id!r} has no assigned team "
            "whose supervisor could take it — set 'to' or route to a team first",
        )
    team = require_team(session, conversation.assignee_team)
    if team.supervisor is None:
        raise NotFound(
            "supervisor",
            team.id,
            f"team {team.id!r} has no supervisor to escalate to — set one with "
            f"PUT /teams/{team.id} or give the escalate step a 'to'",
        )
    return require_agent(session, team.supervisor, f"supervisor of team {team.id!r}").id


def escalate(effect: Effect, params: EscalateParams) -> dict[str, Any]:
    reason = effect.rendered["reason"]
    target = escalation_target(effect.session, effect.conversation, params.to)
    effect.change(picked=target)  # priority, assignee and the `escalated` tag
    notify_agents(effect, [target], f"Escalated to you: {reason}")
    return {"agent": target, "priority": params.priority, "reason": reason}
