"""The directory that actions use (SPEC §4): teams and agents.

A team has a `name`, `members` (agent ids, in round-robin order) and an optional `supervisor`
(an agent id); an agent has a `name`, an `email` and `available` (only available agents are picked
by the round_robin / least_busy strategies). Members and supervisors may be created before or after
their team: the check happens when an action uses them.

Writes commit (as the crud module of the FastAPI template does); reads only read. Functions return
the public models below, never the table rows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, select

from definitions.limits import MAX_ITEMS, Line, Name
from store.models import AgentRow, TeamRow


class TeamIn(BaseModel):
    """Body of PUT /teams/{id}."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(min_length=1, description="Team name", examples=["VIP support"])
    members: list[Name] = Field(
        default=[],
        max_length=MAX_ITEMS,
        description="Agent ids, in round-robin order",
        examples=[["ana", "bo"]],
    )
    supervisor: Name | None = Field(
        default=None, description="Agent id that escalations go to", examples=["sam"]
    )

    @field_validator("members")
    @classmethod
    def _unique_members(cls, members: list[str]) -> list[str]:
        seen: list[str] = []
        for member in members:
            if not member:
                raise ValueError("member ids must not be empty")
            if member not in seen:
                seen.append(member)
        return seen


class TeamPublic(TeamIn):
    id: str = Field(description="Team id, as routing and notify steps name it", examples=["vip"])


class AgentIn(BaseModel):
    """Body of PUT /agents/{id}."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(min_length=1, description="Agent name", examples=["Ana"])
    email: Line | None = Field(
        default=None, max_length=320, description="Email", examples=["ana@example.com"]
    )
    available: bool = Field(default=True, description="Picked by round_robin / least_busy")


class AgentPublic(AgentIn):
    id: str = Field(
        description="Agent id, as route/notify/escalate steps name it", examples=["ana"]
    )


def _team(row: TeamRow) -> TeamPublic:
    return TeamPublic(
        id=row.id, name=row.name, members=list(row.members), supervisor=row.supervisor
    )


def _agent(row: AgentRow) -> AgentPublic:
    return AgentPublic(id=row.id, name=row.name, email=row.email, available=row.available)


def put_team(session: Session, team_id: str, team: TeamIn) -> tuple[TeamPublic, bool]:
    """Create or replace a team; returns it and whether it was created. Keeps the round-robin
    cursor of an existing team."""
    row = session.get(TeamRow, team_id)
    created = row is None
    if row is None:
        row = TeamRow(id=team_id, name=team.name)
    row.name = team.name
    row.members = list(team.members)
    row.supervisor = team.supervisor
    session.add(row)
    session.commit()
    return _team(row), created


def get_team(session: Session, team_id: str) -> TeamPublic | None:
    row = session.get(TeamRow, team_id)
    return _team(row) if row else None


def list_teams(session: Session) -> list[TeamPublic]:
    return [_team(row) for row in session.exec(select(TeamRow).order_by(col(TeamRow.id)))]


def delete_team(session: Session, team_id: str) -> bool:
    """Delete a team; False when it did not exist."""
    row = session.get(TeamRow, team_id)
    if row is None:
        return False
    session.delete(row)
    session.commit()
    return True


def put_agent(session: Session, agent_id: str, agent: AgentIn) -> tuple[AgentPublic, bool]:
    """Create or replace an agent; returns it and whether it was created."""
    row = session.get(AgentRow, agent_id)
    created = row is None
    if row is None:
        row = AgentRow(id=agent_id, name=agent.name)
    row.name = agent.name
    row.email = agent.email
    row.available = agent.available
    session.add(row)
    session.commit()
    return _agent(row), created


def get_agent(session: Session, agent_id: str) -> AgentPublic | None:
    row = session.get(AgentRow, agent_id)
    return _agent(row) if row else None


def list_agents(session: Session, *, available: bool | None = None) -> list[AgentPublic]:
    query = select(AgentRow).order_by(col(AgentRow.id))
    if available is not None:
        query = query.where(col(AgentRow.available) == available)
    return [_agent(row) for row in session.exec(query)]


def delete_agent(session: Session, agent_id: str) -> bool:
    """Delete an agent; False when it did not exist. Teams keep the id (routing skips it)."""
    row = session.get(AgentRow, agent_id)
    if row is None:
        return False
    session.delete(row)
    session.commit()
    return True
