"""The fault suite (issue 11): supportflow as real processes (Temporal dev server on a file,
`supportflow api`, `supportflow worker`), each one killed while events arrive. Each case counts
the runs in Temporal and the tickets (one effect per run) in the desk store: 0 lost, 0 duplicated.

One stack for the module (starting it is the slow part); each case has its own event ids,
conversations and definition.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.fault_stack import BLOB_LIMIT, FaultStack, Tally, message_events, ticket_definition

BURST = 60


@pytest.fixture(scope="module")
def fault_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite file, or (DATABASE_URL set) a fresh PostgreSQL schema, for the module."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('faults-db') / 'supportflow.db'}"
        return
    url = make_url(base)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest_asyncio.fixture(scope="module")
async def stack(
    fault_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FaultStack]:
    root: Path = tmp_path_factory.mktemp("faults")
    async with FaultStack(root, fault_db_url) as running:
        yield running


async def _burst_with(
    stack: FaultStack, name: str, fault: Any, at: int = BURST // 3
) -> tuple[Tally, list[dict[str, Any]]]:
    """Send a burst; when `at` events were accepted, run `fault` (once) alongside."""
    definition_id = await stack.create_definition(ticket_definition(name))
    events = message_events(name, BURST)
    injected: list[asyncio.Task[None]] = []

    async def on_accepted(accepted: int) -> None:
        if accepted == at and not injected:
            injected.append(asyncio.create_task(fault()))

    answers = await stack.send(events, on_accepted=on_accepted)
    if injected:
        await injected[0]
    ids = [e["id"] for e in events]
    tally = await stack.settle(definition_id, ids, f"{name}-", f"{name}-c")
    return tally, answers


def _assert_exact(tally: Tally, stack: FaultStack) -> None:
    logs = "\n".join(p.log_tail(15) for p in stack.procs.values())
    assert tally.runs == tally.expected, (tally, logs)
    assert tally.completed == tally.expected, (tally, logs)
    assert tally.lost == 0 and tally.duplicated == 0, (tally, logs)


async def test_worker_killed_mid_burst(stack: FaultStack) -> None:
    async def kill_worker() -> None:
        stack.kill("worker-0")
        await asyncio.sleep(2)
        stack.spawn_worker(0)

    tally, _ = await _burst_with(stack, "wk", kill_worker)
    _assert_exact(tally, stack)


async def test_temporal_killed_and_restarted_on_its_file(stack: FaultStack) -> None:
    async def bounce_temporal() -> None:
        await stack.kill_temporal()
        await asyncio.sleep(2)
        await stack.restart_temporal()

    tally, _ = await _burst_with(stack, "tk", bounce_temporal)
    _assert_exact(tally, stack)


async def test_api_killed_while_the_sender_resends(stack: FaultStack) -> None:
    async def kill_api() -> None:
        stack.kill("api-0")
        await asyncio.sleep(1)
        stack.spawn_api(0)
        await stack.wait_api(0)

    tally, _ = await _burst_with(stack, "ak", kill_api)
    _assert_exact(tally, stack)


async def test_a_30s_temporal_outage_queues_every_event_and_starts_them_after(
    stack: FaultStack,
) -> None:
    definition_id = await stack.create_definition(ticket_definition("out"))
    events = message_events("out", BURST)
    await stack.kill_temporal()
    down_at = time.monotonic()
    answers = await stack.send(events, concurrency=4)
    assert len(answers) == BURST
    assert all(a["queued"] for a in answers), [a for a in answers if not a["queued"]]
    assert all(f"run:{definition_id}:{a['event_id']}" in a["run_ids"] for a in answers)
    await asyncio.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
    await stack.restart_temporal()
    back_at = time.monotonic()
    # SPEC §3.1 promises 10 s on an idle machine (measured by `make chaos`); a test is no
    # stopwatch, so it only bounds a hang.
    while await stack.count_runs(definition_id, "out-") < BURST:
        assert time.monotonic() - back_at < 120, "runs not all started 2 minutes after the restart"
        await asyncio.sleep(0.25)
    tally = await stack.settle(definition_id, [e["id"] for e in events], "out-", "out-c")
    _assert_exact(tally, stack)


async def test_a_refused_start_is_a_failed_run_and_never_blocks_the_others(
    stack: FaultStack,
) -> None:
    small = await stack.create_definition(ticket_definition("small"))
    # Within the definition limits, over this stack's blob limit: Temporal refuses its runs.
    big = ticket_definition("big")
    reply = {"type": "action", "action": "auto_reply", "params": {"message": "x" * 5000}}
    big["steps"] = [{"id": f"reply{n}", **reply} for n in range(BLOB_LIMIT // 5000 + 5)]
    big_id = await stack.create_definition(big)

    [answer] = await stack.send(message_events("rf", 1))
    assert {f"run:{small}:rf-0", f"run:{big_id}:rf-0"} <= set(answer["run_ids"])
    _assert_exact(await stack.settle(small, ["rf-0"], "rf-", "rf-c"), stack)
    deadline = time.monotonic() + 30
    while await stack.count_runs(big_id, "rf-", "Failed") < 1:
        assert time.monotonic() < deadline, "the refused run's record never failed"
        await asyncio.sleep(0.5)
    async with httpx.AsyncClient(
        base_url=stack.api_url(), headers={"Authorization": f"Bearer {stack.admin_key}"}
    ) as http:
        run = (await http.get(f"/runs/run:{big_id}:rf-0")).json()
        assert run["status"] == "failed", run
        assert "could not be started" in str(run) and "size" in str(run).lower(), run
        listed = (await http.get("/runs", params={"workflow_id": big_id})).json()
        assert "failed" in str(listed), listed
