"""Schema migrations (SPEC §6): Alembic revisions in `store/migrations/versions/`, applied by
`supportflow db upgrade` and at the start of `supportflow dev` / `supportflow api`.

`upgrade_database(engine)` brings any supportflow database to the newest revision in one
transaction: an empty one gets every table, one created by a release before migrations (tables made
by `create_all`, no `alembic_version`) is adopted as the baseline and then upgraded, one already
migrated gets only what is pending. On PostgreSQL an advisory lock lets several replicas start at
once: the first migrates, the others wait and find nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import store.db  # noqa: F401  (registers every table on SQLModel.metadata)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"
# A table every release has had: its presence without alembic_version means "made by create_all".
LEGACY_MARKER_TABLE = "workflow_definitions"


class SchemaMismatch(RuntimeError):
    """The database does not match the code's tables after migrating (e.g. a database created by
    a release older than the baseline): nothing was changed."""


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None  # revision before (None: empty database or a pre-migration one)
    after: str
    adopted: bool  # a pre-migration database was stamped as the baseline

    def describe(self) -> str:
        if self.adopted:
            return (
                f"database schema adopted as revision {BASELINE_REVISION} (created before "
                f"migrations) and upgraded to {self.after}"
            )
        if self.before == self.after:
            return f"database schema is up to date (revision {self.after})"
        return f"database schema upgraded from {self.before or 'empty'} to {self.after}"


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the baseline always exists
        raise RuntimeError("no migration revisions found")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def schema_differences(connection: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the code's tables ([] = none)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _lock(connection: Connection) -> None:
    """Serialise concurrent upgrades of one PostgreSQL schema (released at commit)."""
    if connection.dialect.name == "postgresql":
        key = "hashtext('supportflow.migrate.' || current_schema())"
        connection.execute(text(f"SELECT pg_advisory_xact_lock({key})"))


def _is_pre_migration(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return "alembic_version" not in tables and LEGACY_MARKER_TABLE in tables


def upgrade_database(engine: Engine) -> UpgradeResult:
    """Apply every pending revision (adopting a pre-migration database first), all or nothing."""
    with engine.begin() as connection:
        _lock(connection)
        config = alembic_config(connection)
        adopted = _is_pre_migration(connection)
        before = current_revision(connection)
        if adopted and not schema_differences(connection):
            command.stamp(config, "head")  # made by `create_all` of this very code: nothing to do
        elif adopted:
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, "head")
        after = current_revision(connection) or ""
        if adopted:
            differences = schema_differences(connection)
            if differences:
                # Raising rolls the stamp back: the database is left as it was.
                raise SchemaMismatch(
                    "the database was created without migrations but does not match revision "
                    f"{BASELINE_REVISION}; differences: {differences}"
                )
    return UpgradeResult(before=before, after=after, adopted=adopted)
