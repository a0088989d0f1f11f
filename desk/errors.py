"""What the desk reports when something an action or a lookup needs does not exist: the shared
`NotFound`, with a sentence that tells the admin how to add it."""

from __future__ import annotations

from definitions.errors import NotFound


def team_not_found(team_id: str) -> NotFound:
    return NotFound(
        "team", team_id, f"team {team_id!r} does not exist — create it with PUT /teams/{team_id}"
    )


def agent_not_found(agent_id: str, role: str = "") -> NotFound:
    who = f"agent {agent_id!r}{f' ({role})' if role else ''}"
    return NotFound(
        "agent", agent_id, f"{who} does not exist — create it with PUT /agents/{agent_id}"
    )
