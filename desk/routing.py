"""Routing a conversation: to an agent directly, or to a team — its queue (direct), the next
available member (round_robin) or the available member with the fewest open conversations
(least_busy)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from definitions.models import RouteParams
from desk.directory import available_members, require_agent, require_team
from store.models import ConversationRow, TeamRow

# Statuses in which a conversation counts towards an agent's load (least_busy).
OPEN_STATUSES = ("open", "pending", "snoozed")


def pick_round_robin(session: Session, team: TeamRow) -> str | None:
    """The next available member from the team's cursor; advances the cursor past it."""
    members = list(team.members)
    available = set(available_members(session, members))
    for offset in range(len(members)):
        index = (team.round_robin_cursor + offset) % len(members)
        if members[index] in available:
            team.round_robin_cursor = (index + 1) % len(members)
            session.add(team)
            return members[index]
    return None


def pick_least_busy(session: Session, team: TeamRow, conversation_id: str) -> str | None:
    """The available member with the fewest open conversations (ties: team order)."""
    candidates = available_members(session, list(team.members))
    if not candidates:
        return None
    rows = session.exec(
        select(ConversationRow.assignee_agent, func.count())
        .where(
            col(ConversationRow.assignee_agent).in_(candidates),
            col(ConversationRow.status).in_(OPEN_STATUSES),
            col(ConversationRow.id) != conversation_id,
        )
        .group_by(col(ConversationRow.assignee_agent))
    ).all()
    load = {agent: int(count) for agent, count in rows}
    return min(candidates, key=lambda member: (load.get(member, 0), candidates.index(member)))


def pick_assignee(
    session: Session, conversation: ConversationRow, params: RouteParams
) -> str | None:
    """Check the target of a route (NotFound for a missing one) and pick the agent a team
    strategy chooses (None: the team's queue). What the route then changes is the pure rule of
    definitions/effects.py."""
    if params.agent is not None:
        return require_agent(session, params.agent).id
    assert params.team is not None  # RouteParams guarantees exactly one target
    team = require_team(session, params.team, lock=params.strategy == "round_robin")
    if params.strategy == "round_robin":
        return pick_round_robin(session, team)
    if params.strategy == "least_busy":
        return pick_least_busy(session, team, conversation.id)
    return None
