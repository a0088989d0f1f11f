"""Shared test fixtures: real Temporal servers, a fresh task queue, a fresh database.

Imported by `tests/conftest.py`. Modelled on temporalio/samples-python `tests/conftest.py` (one
session-wide environment, or an existing server) and sdk-python `tests/helpers/__init__.py`
(a fresh task queue per test, `assert_eventually` for visibility, which lags a moment behind).

- `dev_env`   — the Temporal CLI dev server (full server, real visibility, search attributes).
                Set SUPPORTFLOW_TEST_TEMPORAL_ADDRESS=host:port to use a running server instead.
- `time_env`  — the time-skipping test server: timers (SLA clocks) fire as soon as nothing else
                can happen. No visibility queries there. What a test leaves open is terminated.
- `task_queue` — a fresh task queue name per test (workers of other tests never steal tasks).
- `db_url`    — an empty database per test: SQLite in tmp_path, or, when DATABASE_URL is set
                (PostgreSQL in CI), a fresh schema in that database, dropped after the test.
- `engine`    — `store.db.make_engine(db_url)` with the tables created.
- `settings`  — `Settings` pointing at db_url, the dev server and the fresh task queue.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import pytest_asyncio
from sqlalchemy import create_engine, make_url, text
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import ListOpenWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from cli.temporal_server import DYNAMIC_CONFIG, find_binary
from store.settings import Settings
from temporal_edge import SearchAttr, data_converter

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

T = TypeVar("T")

EXISTING_SERVER_ENV = "SUPPORTFLOW_TEST_TEMPORAL_ADDRESS"

_INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def search_attribute_keys() -> list[SearchAttributeKey[Any]]:
    """The supportflow search attributes as SDK keys."""
    return [attribute.key for attribute in SearchAttr]


async def register_search_attributes(client: Client, *, check_existing: bool = True) -> None:
    """Add the supportflow search attributes the server does not have yet."""
    existing: set[str] = set()
    if check_existing:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    missing = {
        attribute.value: _INDEXED_TYPES[attribute.kind]
        for attribute in SearchAttr
        if attribute.value not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )


async def assert_eventually(
    fn: Callable[[], Awaitable[T]],
    *,
    timeout: float = 10.0,
    interval: float = 0.2,
) -> T:
    """Call `fn` until it stops raising AssertionError (then return its result) or `timeout`
    seconds pass (then re-raise the last AssertionError). For visibility queries, which see a
    run a moment after it changes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await fn()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(interval)


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A full Temporal dev server for the whole session (or the server at
    SUPPORTFLOW_TEST_TEMPORAL_ADDRESS), with the pydantic data converter and the supportflow search
    attributes. Use `dev_env.client`."""
    address = os.environ.get(EXISTING_SERVER_ENV)
    if address:
        client = await Client.connect(address, data_converter=data_converter)
        await register_search_attributes(client)
        yield WorkflowEnvironment.from_client(client)
        return
    extra_args: list[str] = []
    for key, value in DYNAMIC_CONFIG.items():
        extra_args += ["--dynamic-config-value", f"{key}={value}"]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(find_binary("temporal")),
        data_converter=data_converter,
        search_attributes=search_attribute_keys(),
        dev_server_extra_args=extra_args,
        dev_server_startup_timeout=timedelta(seconds=60),
    )
    try:
        yield env
    finally:
        await env.shutdown()


class TimeServer:
    """The time-skipping test server, with the pydantic data converter and the supportflow search
    attributes (registered through the operator service: the test server has no list API for them,
    and rejects unknown ones on start)."""

    env: WorkflowEnvironment

    async def start(self) -> None:
        self.env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(find_binary("temporal-test-server")),
            data_converter=data_converter,
            test_server_startup_timeout=timedelta(seconds=60),
        )
        await register_search_attributes(self.env.client, check_existing=False)

    async def skips_time(self) -> bool:
        """A healthy server skips an idle minute at once (a few ms); a stuck one waits, or gives up
        with "Timeout expired"."""
        try:
            await asyncio.wait_for(self.env.sleep(60), timeout=30)
        except (TimeoutError, RPCError):
            return False
        return True

    async def clean_up_after_test(self) -> None:
        """Terminate what the test left open, and start a fresh server if this one no longer skips
        time: a test that fails while a tracker is mid continue-as-new can leave the test server
        stuck in real time, which would hang every later test."""
        await terminate_open_workflows(self.env.client)
        if not await self.skips_time():
            await self.env.shutdown()
            await self.start()


@pytest_asyncio.fixture(scope="session")
async def time_server() -> AsyncIterator[TimeServer]:
    """The session's time-skipping server. Tests use `time_env`."""
    server = TimeServer()
    await server.start()
    try:
        yield server
    finally:
        await server.env.shutdown()


@pytest_asyncio.fixture
async def time_env(time_server: TimeServer) -> AsyncIterator[WorkflowEnvironment]:
    """The session's time-skipping server for one test, healthy and with nothing left open by
    earlier tests."""
    yield time_server.env
    await time_server.clean_up_after_test()


def history_replayer(workflows: Sequence[type]) -> Replayer:
    """A replayer for recorded histories, without the SDK's 2 s deadlock detector: replay tests
    check determinism, and that timer measured the machine instead (an activation with 232
    signals met a garbage-collection pass of the suite's heap under CI load)."""
    return Replayer(workflows=workflows, data_converter=data_converter, debug_mode=True)


async def terminate_open_workflows(client: Client) -> None:
    request = ListOpenWorkflowExecutionsRequest(namespace=client.namespace, maximum_page_size=1000)
    while True:
        page = await client.workflow_service.list_open_workflow_executions(request)
        for info in page.executions:
            handle = client.get_workflow_handle(
                info.execution.workflow_id, run_id=info.execution.run_id
            )
            try:
                await handle.terminate("test finished")
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:  # closed meanwhile
                    raise
        if not page.next_page_token:
            return
        request.next_page_token = page.next_page_token


@pytest.fixture
def task_queue() -> str:
    """A task queue name nobody else uses."""
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """An empty database for one test. SQLite file in tmp_path by default; with DATABASE_URL set
    (PostgreSQL), a fresh schema in that database selected through the connection's search_path
    (every engine built from the URL lands in it), dropped with everything in it afterwards."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'supportflow.db'}"
        return
    url = make_url(base)
    if not url.drivername.startswith("postgresql"):
        raise pytest.UsageError(f"DATABASE_URL must be PostgreSQL for tests, got {url.drivername}")
    schema = f"t_{uuid.uuid4().hex[:16]}"
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
def engine(db_url: str) -> Iterator[Engine]:
    """`store.db.make_engine(db_url)` with every table created."""
    from store.db import create_all, make_engine

    eng = make_engine(db_url)
    create_all(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def settings(
    db_url: str, task_queue: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> Settings:
    """Settings for one test: its own database and task queue, the session's dev server."""
    return Settings(
        data_dir=tmp_path,
        database_url=db_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
        task_queue=task_queue,
        webhook_url=None,
        webhook_secret=None,
        api_base_url=None,
    )


__all__ = [
    "assert_eventually",
    "db_url",
    "dev_env",
    "engine",
    "register_search_attributes",
    "search_attribute_keys",
    "settings",
    "task_queue",
    "time_env",
]
