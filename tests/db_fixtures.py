"""Database fixtures for the desk-store, ingestion and activity tests.

`desk_engine` is an empty database per test with every table: a SQLite file in tmp_path, or, with
DATABASE_URL set (PostgreSQL in CI), a fresh schema selected through the connection's search_path
and dropped afterwards — so tests never see each other's rows.

Load it in a test module with `pytest_plugins = ["tests.db_fixtures"]` (and never import this
module directly, so pytest can rewrite its asserts).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine

from store.db import create_all, make_engine


@pytest.fixture
def desk_db_url(tmp_path: Path) -> Iterator[str]:
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'desk.db'}"
        return
    url = make_url(base)
    if not url.drivername.startswith("postgresql"):
        raise pytest.UsageError(f"DATABASE_URL must be PostgreSQL for tests, got {url.drivername}")
    schema = f"d_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def desk_engine(desk_db_url: str) -> Iterator[Engine]:
    engine = make_engine(desk_db_url)
    create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
