"""The desk's one error: something an action or a lookup needs does not exist."""

from __future__ import annotations


class DeskNotFound(LookupError):
    """A team, agent or conversation an action needs does not exist (a permanent failure).

    `str(exc)` is a sentence meant for the admin, e.g. "team 'vip-support' does not exist — create
    it with PUT /teams/vip-support"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def team_not_found(team_id: str) -> DeskNotFound:
    return DeskNotFound(f"team {team_id!r} does not exist — create it with PUT /teams/{team_id}")


def agent_not_found(agent_id: str, role: str = "") -> DeskNotFound:
    who = f"agent {agent_id!r}{f' ({role})' if role else ''}"
    return DeskNotFound(f"{who} does not exist — create it with PUT /agents/{agent_id}")
