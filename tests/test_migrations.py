"""Schema migrations (SPEC §6): the Alembic revisions build exactly the tables of the code, a
database made by `create_all` (every release before migrations) is adopted without losing data,
and a real release-0.1.0 database (tests/fixtures/release_0_1_0) upgrades through `supportflow api`
with its definitions, keys and conversations intact. SQLite, or PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli.main import app as cli_app
from store.db import make_engine, session_scope
from store.directory import AgentIn, put_agent
from store.keys import create_key, verify_key
from store.migrate import (
    BASELINE_REVISION,
    SchemaMismatch,
    UpgradeResult,
    alembic_config,
    current_revision,
    head_revision,
    schema_differences,
    upgrade_database,
)
from store.settings import get_settings
from tests.served import free_port

RELEASE = Path(__file__).parent / "fixtures" / "release_0_1_0"


@pytest.fixture
def fresh(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database (no tables: the migrations are what is tested)."""
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _create_all_of_release_0_1_0(engine: Engine) -> None:
    """What every release before migrations did at start: `create_all` of its own tables, which
    are exactly the baseline revision's (built here from it, then unmarked as migrated)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE_REVISION)
        connection.execute(text("DROP TABLE alembic_version"))


def test_there_is_one_head() -> None:
    """Two helpers' revisions on the same parent make two heads: upgrade would refuse them."""
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_migrations_build_exactly_the_tables_of_the_code(fresh: Engine) -> None:
    result = upgrade_database(fresh)
    assert result == UpgradeResult(before=None, after=head_revision(), adopted=False)
    with fresh.connect() as connection:
        assert schema_differences(connection) == []
        assert current_revision(connection) == head_revision()


def test_upgrade_again_changes_nothing(fresh: Engine) -> None:
    upgrade_database(fresh)
    again = upgrade_database(fresh)
    assert again.before == again.after == head_revision() and not again.adopted
    assert "up to date" in again.describe()


def test_a_create_all_database_is_adopted_with_its_rows(fresh: Engine) -> None:
    _create_all_of_release_0_1_0(fresh)
    key = create_key(fresh, "admin", name="kept")
    with session_scope(fresh) as session:
        put_agent(session, "ana", AgentIn(name="Ana"))
    result = upgrade_database(fresh)
    assert result.adopted and result.after == head_revision()
    with session_scope(fresh) as session:
        assert verify_key(session, key) is not None
    with fresh.connect() as connection:
        assert current_revision(connection) == head_revision()
        assert schema_differences(connection) == []
        assert connection.execute(text("SELECT name FROM agents")).scalars().all() == ["Ana"]


def test_a_pre_migration_database_that_does_not_match_is_left_untouched(fresh: Engine) -> None:
    _create_all_of_release_0_1_0(fresh)
    with fresh.begin() as connection:
        connection.execute(text("DROP TABLE agents"))
    with pytest.raises(SchemaMismatch, match="agents"):
        upgrade_database(fresh)
    assert "alembic_version" not in _tables(fresh)  # the stamp was rolled back


def test_concurrent_upgrades_migrate_once(fresh: Engine) -> None:
    """Two replicas starting at once: one migrates, the other waits and finds nothing to do."""
    results: list[UpgradeResult] = []
    errors: list[BaseException] = []

    def start() -> None:
        engine = make_engine(fresh.url.render_as_string(hide_password=False))
        try:
            results.append(upgrade_database(engine))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.before or "" for r in results) == ["", head_revision()]


# ------------------------------------------------------------------ a real release-0.1.0 database


def _load_release_database(db_url: str) -> dict[str, Any]:
    """Put the release-0.1.0 database where `db_url` points; its manifest (what to expect)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        shutil.copy(RELEASE / "supportflow.db", url.database)
    else:
        engine = make_engine(db_url)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql((RELEASE / "postgresql.sql").read_text())
        finally:
            engine.dispose()
    manifest: dict[str, Any] = json.loads((RELEASE / "manifest.json").read_text())
    return dict(manifest[url.get_backend_name()])


def test_the_release_fixture_predates_migrations(db_url: str) -> None:
    _load_release_database(db_url)
    engine = make_engine(db_url)
    try:
        tables = _tables(engine)
    finally:
        engine.dispose()
    assert "alembic_version" not in tables and "workflow_definitions" in tables


def test_supportflow_api_upgrades_a_release_0_1_0_database_and_finds_everything(
    db_url: str, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    expected = _load_release_database(db_url)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SUPPORTFLOW_DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "SUPPORTFLOW_WEBHOOK_URL": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                httpx.get(f"{base}/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "supportflow api did not start"
                time.sleep(0.2)
        keys = expected["keys"]

        def get(path: str, role: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {keys[role]}"}
            return httpx.get(f"{base}{path}", headers=headers, timeout=10)

        listed = get("/workflows", "admin")
        assert listed.status_code == 200, listed.text
        versions = {
            card["id"]: get(f"/workflows/{card['id']}", "viewer") for card in listed.json()["data"]
        }
        assert {i: r.json()["version"] for i, r in versions.items()} == expected["definitions"]
        history = get("/workflows/wf-release-draft/versions", "admin").json()
        assert history["count"] == 2
        conversation = get(f"/conversations/{expected['conversation_id']}", "viewer").json()
        assert conversation["subject"] == "Refund for order 42"
        assert conversation["tags"] == ["refund", "vip"]
        assert [m["content"] for m in conversation["messages"]] == ["I want a refund ✓"]
        assert get("/workflows", "integration").status_code == 403  # roles kept too
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
    assert "adopted as revision 0001" in output, output
    assert "Webhooks: off" in output, output
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            assert schema_differences(connection) == []
    finally:
        engine.dispose()


# ------------------------------------------------------------------ the command line

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SUPPORTFLOW_DATA_DIR", str(tmp_path / "data"))
    for name in ("SUPPORTFLOW_WEBHOOK_URL", "SUPPORTFLOW_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_db_upgrade_reports_what_it_did() -> None:
    first = runner.invoke(cli_app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"upgraded from empty to {head_revision()}" in first.output
    second = runner.invoke(cli_app, ["db", "upgrade"])
    assert second.exit_code == 0 and "up to date" in second.output


@pytest.mark.usefixtures("cli_env")
def test_db_upgrade_adopts_the_release_database(db_url: str) -> None:
    _load_release_database(db_url)
    result = runner.invoke(cli_app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"adopted as revision {BASELINE_REVISION}" in result.output


def test_db_upgrade_of_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens once the block ends
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://u:hidden@127.0.0.1:{port}/db")
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli_app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.output.startswith("Cannot prepare the database postgresql+psycopg://u:***@")
    assert "hidden" not in result.output and "Traceback" not in result.output
