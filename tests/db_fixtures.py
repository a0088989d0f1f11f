"""Database fixtures for the desk-store, ingestion and activity tests: the names those tests use,
over the suite's own `db_url` / `engine` fixtures (tests/temporal_fixtures.py), so every test gets
an empty database (a SQLite file, or a fresh PostgreSQL schema with DATABASE_URL set).

Load it in a test module with `pytest_plugins = ["tests.db_fixtures"]`.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine


@pytest.fixture
def desk_db_url(db_url: str) -> str:
    return db_url


@pytest.fixture
def desk_engine(engine: Engine) -> Engine:
    return engine
