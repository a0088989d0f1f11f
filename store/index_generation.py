"""The trigger index's generation: a token replaced in the same transaction as every change of the
index (`store.trigger_index.index_definition` / `unindex_definition`).

Processes that ingest events (the API, the worker's `dispatch_event`) keep the candidates of each
(trigger type, channel) in memory and read only this counter per event: one primary-key read
instead of the index join, and a save is seen by the next event after its commit.

The token is random, not a count: a cache that outlives its database (tests recreate one at the
same path) must not take a fresh database's "3" for the old one's.

It lives in the one-row-per-counter table of the SLA definitions version (`sla_definitions_version`,
row 1 there; this is row 2), so it needs no migration.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from store.models import SlaDefinitionsVersionRow

_ROW_ID = 2


def current(session: Session) -> int:
    """The generation now (0 before the index first changed); compare for equality only."""
    row = session.get(SlaDefinitionsVersionRow, _ROW_ID)
    return row.version if row is not None else 0


def bump(session: Session) -> None:
    """A new token, one upsert in the caller's transaction (concurrent savers queue on the row
    lock). 31 bits: the column is a 32-bit integer on PostgreSQL."""
    token = secrets.randbits(31) or 1
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = SlaDefinitionsVersionRow.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(id=_ROW_ID, version=token)
        .on_conflict_do_update(index_elements=[table.c.id], set_={"version": token})
    )
    session.exec(statement)
