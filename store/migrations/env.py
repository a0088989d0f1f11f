"""Alembic environment of supportflow (STYLE §15, after fastapi/full-stack-fastapi-template).

The target metadata is SQLModel's, filled by importing `store.db` (the module that registers every
table, the same one `create_all` uses). The database comes from the caller: `store.migrate` passes
an open connection in `config.attributes["connection"]`; the `alembic` command line (developers
writing a revision, see README §Migrations) uses DATABASE_URL through the settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, pool
from sqlmodel import SQLModel

import store.db  # noqa: F401  (registers every table on SQLModel.metadata)
from store.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from sqlalchemy import create_engine

    engine = create_engine(get_settings().database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as fresh:
            _run(fresh)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("supportflow migrations run online only (supportflow db upgrade).")
run_migrations_online()
