"""The SLA definitions version: one counter, bumped in the same transaction as every save, toggle
or delete of an sla_breach or conversation_idle definition (the triggers the conversation
tracker fires).

SLA trackers (`ConversationSla`) read it when they look thresholds up and the breach activity reads
it at fire time; a tracker that sees a newer version looks the definitions up again. So a save
costs one row update instead of one signal (and one workflow task) per running tracker.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from definitions.vocabulary import TRACKER_TRIGGERS
from store.models import SlaDefinitionsVersionRow

SLA_TRIGGER = "sla_breach"
_ROW_ID = 1


def current(session: Session) -> int:
    """The version now (0 before the first SLA definition was ever saved)."""
    row = session.get(SlaDefinitionsVersionRow, _ROW_ID)
    return row.version if row is not None else 0


def bump_if_sla(session: Session, *trigger_types: str | None) -> None:
    """Bump the version, in the caller's transaction, when any of the trigger types a write sees
    (before and after it) is one the tracker fires (sla_breach, conversation_idle). One upsert:
    the first bump creates the row, and concurrent savers queue on the row lock until the first
    one commits."""
    if not TRACKER_TRIGGERS.intersection(t for t in trigger_types if t is not None):
        return
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = SlaDefinitionsVersionRow.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(id=_ROW_ID, version=1)
        .on_conflict_do_update(index_elements=[table.c.id], set_={"version": table.c.version + 1})
    )
    session.exec(statement)
