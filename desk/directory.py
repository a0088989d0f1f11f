"""The teams and agents actions need, or a `NotFound` that tells the admin how to add them."""

from __future__ import annotations

from sqlmodel import Session, col, select

from desk.errors import agent_not_found, team_not_found
from store.models import AgentRow, TeamRow


def require_team(session: Session, team_id: str, *, lock: bool = False) -> TeamRow:
    """The team; `lock` holds its row until commit (round robin advances its cursor)."""
    query = select(TeamRow).where(col(TeamRow.id) == team_id)
    if lock:
        query = query.with_for_update()
    team = session.exec(query).first()
    if team is None:
        raise team_not_found(team_id)
    return team


def require_agent(session: Session, agent_id: str, role: str = "") -> AgentRow:
    agent = session.get(AgentRow, agent_id)
    if agent is None:
        raise agent_not_found(agent_id, role)
    return agent


def available_members(session: Session, members: list[str]) -> list[str]:
    """The members marked available, in team order."""
    if not members:
        return []
    rows = session.exec(
        select(AgentRow).where(col(AgentRow.id).in_(members), col(AgentRow.available))
    ).all()
    available = {row.id for row in rows}
    return [member for member in members if member in available]
