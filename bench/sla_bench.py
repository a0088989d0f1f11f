"""SLA benchmark (issue 4): breach lateness and the cost of many armed clocks (embedded stack).

1. `lateness`: N conversations (1,000; quick: 100) each get `conversation.created` and nobody
   answers; one active first_response definition with a 30 s threshold. For each breach run:
   lateness = the run's start time (Temporal) − the clock's deadline (clock start + threshold).
   Goal: p99 ≤ 1 s.
2. `armed`: M conversations (10,000; quick: 1,000) with a first_response clock armed (threshold
   long enough to arm them all first); memory (RSS) of the worker and of the Temporal server while
   every clock is armed; then every breach must fire exactly once (visibility count == M and every
   expected id, n = 1, exists).

The stack: the real Temporal dev server (`cli.temporal_server.DevServer`, SQLite file), a worker in
this process with `ConversationSla` and the real SLA activities on a SQLite database, and a no-op
stand-in for `WorkflowRun` (this measures the tracker, not the interpreter). Events are sent as
ingestion sends them (signal-with-start). The worker's RSS includes the load generator (same
process): an upper bound.

    python -m bench.sla_bench [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from sqlmodel import Session

    from activities.sla import SlaActivities
    from cli.temporal_server import DevServer
    from definitions.events import Event
    from definitions.models import WorkflowDefinitionIn
    from definitions.runs import (
        CONVERSATION_SLA,
        WORKFLOW_RUN,
        RunInput,
    )
    from definitions.sla import MEMO_SLA_CLOCK, breach_run_id
    from store.db import create_all, make_engine
    from store.models import WorkflowDefinitionRow
    from temporal_edge.starts import signal_sla
    from worker.sla_workflow import ConversationSla

TASK_QUEUE = "bench-sla"
SEND_CONCURRENCY = 64


@workflow.defn(name=WORKFLOW_RUN)
class NoOpRun:
    """Stands in for the interpreter: the benchmark measures when breach runs start."""

    @workflow.run
    async def run(self, run_input: RunInput) -> str:
        return run_input.idempotency_scope


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children_rss_mb(parent: int) -> float:
    """RSS of the direct children of `parent` (the dev server process)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            total += _rss_mb(int(entry.name))
    return total


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _store(engine: Any, definition_id: str, threshold: str) -> None:
    definition = WorkflowDefinitionIn.model_validate(
        {
            "name": f"bench first response {threshold}",
            "status": "active",
            "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": threshold},
            "steps": [
                {"id": "t", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}
            ],
        }
    )
    with Session(engine) as session:
        session.add(
            WorkflowDefinitionRow(
                id=definition_id,
                name=definition.name,
                status="active",
                trigger_type="sla_breach",
                body=definition.model_dump(mode="json", by_alias=True),
            )
        )
        session.commit()


async def _send_created(client: Client, conversation_ids: list[str]) -> None:
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send(conversation_id: str) -> None:
        event = Event.model_validate(
            {
                "id": f"{conversation_id}-created",
                "type": "conversation.created",
                "occurred_at": datetime.now(UTC).isoformat(),
                "conversation": {"id": conversation_id, "channel": "live_chat"},
            }
        )
        async with limit:
            await signal_sla(client, event, task_queue=TASK_QUEUE)

    await asyncio.gather(*(send(c) for c in conversation_ids))


async def _count(client: Client, query: str) -> int:
    return int((await client.count_workflows(query)).count)


async def _wait_count(client: Client, query: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = await _count(client, query)
        if count >= expected:
            return count
        await asyncio.sleep(1)
    return count


async def _lateness(client: Client, definition_id: str, threshold_s: float) -> list[float]:
    """Seconds between each breach run's start and its clock's deadline (from the memo)."""
    late: list[float] = []
    async for execution in client.list_workflows(
        f"WorkflowType='{WORKFLOW_RUN}' AND WorkflowDefinitionId='{definition_id}'"
    ):
        clock = str((await execution.memo()).get(MEMO_SLA_CLOCK, ""))
        started_at = datetime.fromisoformat(clock.split("@", 1)[1])
        deadline = started_at + timedelta(seconds=threshold_s)
        late.append((execution.start_time - deadline).total_seconds())
    return late


async def _scenario_lateness(client: Client, engine: Any, conversations: int) -> dict[str, Any]:
    definition_id = "wf-bench-lateness"
    _store(engine, definition_id, "30s")
    ids = [f"late-{i}" for i in range(conversations)]
    began = time.monotonic()
    await _send_created(client, ids)
    sent_s = time.monotonic() - began
    query = f"WorkflowType='{WORKFLOW_RUN}' AND WorkflowDefinitionId='{definition_id}'"
    fired = await _wait_count(client, query, conversations, timeout=30 + sent_s + 120)
    await asyncio.sleep(2)  # visibility settles
    late = await _lateness(client, definition_id, 30)
    return {
        "conversations": conversations,
        "threshold_s": 30,
        "send_s": round(sent_s, 2),
        "breaches": fired,
        "lateness_s": {
            "p50": round(_percentile(late, 50), 3),
            "p99": round(_percentile(late, 99), 3),
            "max": round(max(late), 3),
            "min": round(min(late), 3),
            "mean": round(statistics.fmean(late), 3),
        },
        "goal_p99_le_1s": _percentile(late, 99) <= 1.0,
    }


async def _scenario_armed(
    client: Client, engine: Any, conversations: int, server_pid: int
) -> dict[str, Any]:
    definition_id = "wf-bench-armed"
    threshold_s = 60 if conversations <= 1_000 else 240
    _store(engine, definition_id, f"{threshold_s}s")
    ids = [f"armed-{i}" for i in range(conversations)]
    began = time.monotonic()
    await _send_created(client, ids)
    sent_s = time.monotonic() - began
    running = await _wait_count(
        client,
        f"WorkflowType='{CONVERSATION_SLA}' AND ExecutionStatus='Running' "
        f"AND TaskQueue='{TASK_QUEUE}'",
        conversations,
        timeout=120,
    )
    await asyncio.sleep(5)  # let the last trackers arm their timers
    memory = {
        "worker_rss_mb": round(_rss_mb(os.getpid()), 1),
        "server_rss_mb": round(_rss_mb(server_pid) + _children_rss_mb(server_pid), 1),
    }
    query = f"WorkflowType='{WORKFLOW_RUN}' AND WorkflowDefinitionId='{definition_id}'"
    fired = await _wait_count(client, query, conversations, timeout=threshold_s + 300)
    await asyncio.sleep(5)
    fired = await _count(client, query)
    expected = {breach_run_id(definition_id, c, "first_response", 1) for c in ids}
    seen = {e.id async for e in client.list_workflows(query)}
    return {
        "conversations": conversations,
        "threshold_s": threshold_s,
        "send_s": round(sent_s, 2),
        "trackers_running": running,
        **memory,
        "breaches": fired,
        "exactly_once": fired == conversations and seen == expected,
    }


async def run_sla_bench(quick: bool = False) -> dict[str, Any]:
    """Both scenarios on a fresh embedded stack; returns the report."""
    with tempfile.TemporaryDirectory(prefix="sla-bench-") as tmp:
        data_dir = Path(tmp)
        server = DevServer(data_dir, port=_free_port(), ui_port=_free_port(), ui=False)
        await server.start()
        try:
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            engine = make_engine(f"sqlite:///{data_dir / 'bench.db'}")
            create_all(engine)
            activities = SlaActivities(engine)
            worker = Worker(
                client,
                task_queue=TASK_QUEUE,
                workflows=[ConversationSla, NoOpRun],
                activities=[activities.lookup_sla_definitions, activities.start_sla_breach_run],
                max_concurrent_workflow_tasks=64,
                max_concurrent_activities=64,
                max_concurrent_local_activities=64,
            )
            assert server._process is not None
            server_pid = server._process.pid
            async with worker:
                lateness = await _scenario_lateness(client, engine, 100 if quick else 1_000)
                armed = await _scenario_armed(
                    client, engine, 1_000 if quick else 10_000, server_pid
                )
            engine.dispose()
        finally:
            await server.stop()
    return {"sla": {"quick": quick, "lateness": lateness, "armed": armed}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 conversations")
    args = parser.parse_args(argv)
    report = asyncio.run(run_sla_bench(quick=args.quick))
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
