"""Which of the teams, agents and schedules a definition names do not exist (yet).

A draft may name them before they are created (the API answers with warnings); an active
definition may not (`store.definitions_repo` refuses it with a 422 at each missing reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from definitions.references import Kind, Reference, references
from store.models import AgentRow, ScheduleRow, TeamRow

_TABLES: dict[Kind, Any] = {"team": TeamRow, "agent": AgentRow, "schedule": ScheduleRow}


def missing_references(session: Session, body: Mapping[str, Any]) -> list[Reference]:
    """The references of `body` with no row in the directory or the schedules, in order."""
    named = references(body)
    existing: dict[Kind, set[str]] = {}
    for kind, table in _TABLES.items():
        ids = {ref.id for ref in named if ref.kind == kind}
        if ids:
            query = select(table.id).where(col(table.id).in_(ids))
            existing[kind] = set(session.exec(query).all())
    return [ref for ref in named if ref.id not in existing.get(ref.kind, set())]
