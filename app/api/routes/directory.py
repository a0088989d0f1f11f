"""/teams and /agents: the directory that route, notify and escalate use (SPEC §4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import CanRead, CanWrite, SessionDep
from app.api.params import AgentId, TeamId
from app.errors import responses
from app.schemas import AgentsPublic, TeamsPublic
from definitions.errors import NotFound
from store import directory
from store.directory import AgentIn, AgentPublic, TeamIn, TeamPublic

router = APIRouter(tags=["directory"])


@router.get(
    "/teams", response_model=TeamsPublic, dependencies=[CanRead], responses=responses(401, 403)
)
def list_teams(*, session: SessionDep) -> TeamsPublic:
    """List every team."""
    teams = directory.list_teams(session)
    return TeamsPublic(data=teams, count=len(teams))


@router.get(
    "/teams/{team_id}",
    response_model=TeamPublic,
    dependencies=[CanRead],
    responses=responses(401, 403, 404),
)
def read_team(*, session: SessionDep, team_id: TeamId) -> TeamPublic:
    """Read one team."""
    team = directory.get_team(session, team_id)
    if team is None:
        raise NotFound("team", team_id)
    return team


@router.put(
    "/teams/{team_id}",
    response_model=TeamPublic,
    dependencies=[CanWrite],
    responses={**responses(401, 403, 422), 201: {"model": TeamPublic, "description": "Created"}},
)
def put_team(
    *, session: SessionDep, response: Response, team_id: TeamId, team_in: TeamIn
) -> TeamPublic:
    """Create or replace a team (201 when created, 200 when replaced)."""
    team, created = directory.put_team(session, team_id, team_in)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return team


@router.delete(
    "/teams/{team_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404),
)
def delete_team(*, session: SessionDep, team_id: TeamId) -> Response:
    """Delete a team."""
    if not directory.delete_team(session, team_id):
        raise NotFound("team", team_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/agents", response_model=AgentsPublic, dependencies=[CanRead], responses=responses(401, 403)
)
def list_agents(
    *,
    session: SessionDep,
    available: Annotated[bool | None, Query(description="Only (un)available agents")] = None,
) -> AgentsPublic:
    """List every agent."""
    agents = directory.list_agents(session, available=available)
    return AgentsPublic(data=agents, count=len(agents))


@router.get(
    "/agents/{agent_id}",
    response_model=AgentPublic,
    dependencies=[CanRead],
    responses=responses(401, 403, 404),
)
def read_agent(*, session: SessionDep, agent_id: AgentId) -> AgentPublic:
    """Read one agent."""
    agent = directory.get_agent(session, agent_id)
    if agent is None:
        raise NotFound("agent", agent_id)
    return agent


@router.put(
    "/agents/{agent_id}",
    response_model=AgentPublic,
    dependencies=[CanWrite],
    responses={**responses(401, 403, 422), 201: {"model": AgentPublic, "description": "Created"}},
)
def put_agent(
    *, session: SessionDep, response: Response, agent_id: AgentId, agent_in: AgentIn
) -> AgentPublic:
    """Create or replace an agent (201 when created, 200 when replaced)."""
    agent, created = directory.put_agent(session, agent_id, agent_in)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return agent


@router.delete(
    "/agents/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[CanWrite],
    responses=responses(401, 403, 404),
)
def delete_agent(*, session: SessionDep, agent_id: AgentId) -> Response:
    """Delete an agent."""
    if not directory.delete_agent(session, agent_id):
        raise NotFound("agent", agent_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
