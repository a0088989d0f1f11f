"""SLA benchmark (issue 4): breach lateness and the cost of many armed clocks (embedded stack).

1. `lateness`: N conversations (1,000; quick: 100) each get `conversation.created` and nobody
   answers; one active first_response definition with a 30 s threshold. For each breach run:
   lateness = the run's start time (Temporal) − the clock's deadline (clock start + threshold).
   Goal: p99 ≤ 1 s for 100 at once. Full mode then sends 1,000 more at 65/s (goal: p99 ≤ 5 s).
2. `armed`: M conversations (10,000; quick: 1,000) with a first_response clock armed (threshold
   long enough to arm them all first); memory (RSS) of the worker and of the Temporal server while
   every clock is armed; then every breach must fire exactly once (visibility count == M and every
   expected id, n = 1, exists).
   Issue 17, while every clock is armed: the cost of saving an SLA definition through the
   repository the API's PUT uses (`definitions_repo.replace`, same threshold, a new name): the
   save's wall time (median of 5, also taken before the armed trackers started), and the Temporal
   work it caused: the sum of `history_length` over every ConversationSla execution (from
   DescribeWorkflowExecution, which reads the mutable state: the visibility listing's
   history_length of a running execution is only written at start and close, it is reported
   beside it) before the save and 5 s after it, executions started, and the Temporal server's CPU in
   those 5 s against 5 quiet seconds before; measured once the trackers' histories stopped
   growing, beside the same window with no action (control). For scale, the same figures for
   what a save cost before the definitions version: one SLA_REFRESH_SIGNAL per tracker, sent by
   the bench.

The stack: the real Temporal dev server (`cli.temporal_server.DevServer`, SQLite file), a worker in
this process with `ConversationSla` and the real SLA activities on a SQLite database, running
workflows as the product's worker does (`worker.main.workflow_runner`), and a no-op
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
from collections.abc import Awaitable, Callable, Iterator
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
    from bench.harness import log
    from cli.temporal_server import DevServer
    from definitions.events import Event
    from definitions.models import WorkflowDefinitionIn
    from definitions.runs import (
        CONVERSATION_SLA,
        SLA_REFRESH_SIGNAL,
        WORKFLOW_RUN,
        RunInput,
        sla_workflow_id,
    )
    from definitions.sla import MEMO_SLA_CLOCK, breach_run_id
    from store import definitions_repo, sla_version
    from store.db import create_all, make_engine
    from store.models import WorkflowDefinitionRow
    from store.settings import get_settings
    from temporal_edge.starts import signal_sla
    from worker.main import workflow_runner
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


def _processes() -> Iterator[tuple[int, list[str]]]:
    """Every process's pid and the fields of its /proc stat after the command name."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            yield int(entry.name), (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue


def _children_rss_mb(parent: int) -> float:
    """RSS of the direct children of `parent` (the dev server process)."""
    total = 0.0
    for pid, fields in _processes():
        if int(fields[1]) == parent:
            total += _rss_mb(pid)
    return total


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _definition(threshold: str, name: str | None = None) -> WorkflowDefinitionIn:
    return WorkflowDefinitionIn.model_validate(
        {
            "name": name or f"bench first response {threshold}",
            "status": "active",
            "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": threshold},
            "steps": [
                {"id": "t", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}
            ],
        }
    )


def _store(engine: Any, definition_id: str, threshold: str) -> None:
    definition = _definition(threshold)
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


async def _send_created(
    client: Client, conversation_ids: list[str], rate: float | None = None
) -> None:
    """Every conversation's `conversation.created`, as fast as `SEND_CONCURRENCY` allows, or
    one every 1/`rate` seconds."""
    limit = asyncio.Semaphore(SEND_CONCURRENCY)
    began = time.monotonic()

    async def send(n: int, conversation_id: str) -> None:
        if rate is not None:
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
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

    await asyncio.gather(*(send(n, c) for n, c in enumerate(conversation_ids)))


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


async def _scenario_lateness(
    client: Client, engine: Any, conversations: int, *, rate: float | None = None, goal_s: float = 1
) -> dict[str, Any]:
    definition_id = "wf-bench-lateness"
    _store(engine, definition_id, "30s")
    ids = [f"late-{'at-once' if rate is None else rate}-{i}" for i in range(conversations)]
    began = time.monotonic()
    await _send_created(client, ids, rate)
    sent_s = time.monotonic() - began
    query = f"WorkflowType='{WORKFLOW_RUN}' AND WorkflowDefinitionId='{definition_id}'"
    fired = await _wait_count(client, query, conversations, timeout=30 + sent_s + 120)
    await asyncio.sleep(2)  # visibility settles
    late = await _lateness(client, definition_id, 30)
    # Deleted, so the trackers of the armed scenario arm only their own definition's clock.
    with Session(engine) as session:
        definitions_repo.delete(session, definition_id)
    return {
        "conversations": conversations,
        "rate_per_s": rate,
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
        f"goal_p99_le_{goal_s:g}s": _percentile(late, 99) <= goal_s,
    }


SAVES = 5
DESCRIBE_CONCURRENCY = 32
SETTLE_S = 5.0


def _save(engine: Any, definition_id: str, threshold: str, edit: str) -> float:
    """Seconds of one save through the API's save path (a PUT: `definitions_repo.replace`)."""
    definition = _definition(threshold, name=f"bench first response {threshold} ({edit})")
    began = time.perf_counter()
    with Session(engine) as session:
        definitions_repo.replace(session, definition_id, definition)
    return time.perf_counter() - began


def _saves(engine: Any, definition_id: str, threshold: str, label: str) -> list[float]:
    return [_save(engine, definition_id, threshold, f"{label} {i}") for i in range(SAVES)]


def _cpu_ms(pid: int) -> float:
    """utime + stime of `pid` and its direct children, in ms."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for found, fields in _processes():
        if pid in (found, int(fields[1])):
            total += int(fields[11]) + int(fields[12])
    return total * 1000 / ticks


async def _trackers(client: Client) -> dict[str, int]:
    """Every ConversationSla execution: how many, how many running, the sum of their history
    lengths from the mutable state (describe) and from the visibility listing."""
    listed: list[tuple[str, str, int]] = []
    async for execution in client.list_workflows(f"WorkflowType='{CONVERSATION_SLA}'"):
        listed.append((execution.id, execution.run_id, execution.history_length))
    limit = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

    async def length(workflow_id: str, run_id: str) -> int:
        async with limit:
            described = await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
            return described.history_length

    lengths = await asyncio.gather(*(length(w, r) for w, r, _ in listed))
    running = await _count(
        client, f"WorkflowType='{CONVERSATION_SLA}' AND ExecutionStatus='Running'"
    )
    return {
        "executions": len(listed),
        "running": running,
        "history_events": sum(lengths),
        "listed_history_length": sum(h for _, _, h in listed),
        "all_executions": await _count(client, ""),
        "breach_runs": await _count(client, f"WorkflowType='{WORKFLOW_RUN}'"),
    }


async def _settle(client: Client, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the trackers' histories stop growing (the last ones arming their timers)."""
    began = time.monotonic()
    last = await _trackers(client)
    while time.monotonic() - began < timeout:
        await asyncio.sleep(SETTLE_S)
        now = await _trackers(client)
        if now["history_events"] == last["history_events"]:
            return {"settled_s": round(time.monotonic() - began, 1), "settled": True}
        last = now
    return {"settled_s": round(time.monotonic() - began, 1), "settled": False}


async def _temporal_work(
    client: Client, server_pid: int, action: Callable[[], Awaitable[Any]]
) -> dict[str, Any]:
    """What `action` cost Temporal: tracker history events, executions started, server CPU in
    the `SETTLE_S` after it against `SETTLE_S` quiet seconds before."""
    quiet_cpu = _cpu_ms(server_pid)
    await asyncio.sleep(SETTLE_S)
    quiet_cpu = _cpu_ms(server_pid) - quiet_cpu
    before = await _trackers(client)
    cpu = _cpu_ms(server_pid)
    began = time.perf_counter()
    await action()
    action_s = time.perf_counter() - began
    await asyncio.sleep(SETTLE_S)
    cpu = _cpu_ms(server_pid) - cpu
    after = await _trackers(client)
    return {
        "action_s": round(action_s, 3),
        "trackers": after["executions"],
        "trackers_running": after["running"],
        "tracker_history_events_delta": after["history_events"] - before["history_events"],
        "listed_history_length_delta": after["listed_history_length"]
        - before["listed_history_length"],
        "executions_started": after["all_executions"] - before["all_executions"],
        "breach_runs_started": after["breach_runs"] - before["breach_runs"],
        "server_cpu_ms": round(cpu, 1),
        "server_cpu_ms_quiet": round(quiet_cpu, 1),
        "server_cpu_window_s": round(action_s + SETTLE_S, 1),
        "tracker_history_events_before": before["history_events"],
    }


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


async def _save_cost(
    client: Client, engine: Any, definition_id: str, threshold: str, ids: list[str], pid: int
) -> dict[str, Any]:
    """Issue 17: one save with every tracker armed, and a signal per tracker for scale."""
    settle = await _settle(client)

    async def nothing() -> None:
        return None

    control = await _temporal_work(client, pid, nothing)
    saves: list[float] = []

    async def save_once() -> None:
        saves.append(await asyncio.to_thread(_save, engine, definition_id, threshold, "armed"))

    save = await _temporal_work(client, pid, save_once)
    more = await asyncio.to_thread(_saves, engine, definition_id, threshold, "armed more")
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def signal(conversation_id: str) -> None:
        async with limit:
            await client.get_workflow_handle(sla_workflow_id(conversation_id)).signal(
                SLA_REFRESH_SIGNAL
            )

    async def signal_all() -> None:
        await asyncio.gather(*(signal(c) for c in ids))

    signals = await _temporal_work(client, pid, signal_all)
    with Session(engine) as session:
        version = sla_version.current(session)
    return {
        **settle,
        "control_no_action": control,
        "save": {**save, **_ms(saves + more)},
        "signal_per_tracker_for_scale": signals,
        "sla_definitions_version_after": version,
    }


async def _scenario_armed(
    client: Client, engine: Any, conversations: int, server_pid: int
) -> dict[str, Any]:
    definition_id = "wf-bench-armed"
    # Long enough for the save measurement (issue 17) to end before the first deadline.
    threshold_s = 180 if conversations <= 1_000 else 600
    threshold = f"{threshold_s}s"
    _store(engine, definition_id, threshold)
    before_armed = await _trackers(client)
    saves_before = await asyncio.to_thread(_saves, engine, definition_id, threshold, "before")
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
    save_cost = await _save_cost(client, engine, definition_id, threshold, ids, server_pid)
    save_cost["save_before_armed"] = {
        "trackers": before_armed["executions"],
        **_ms(saves_before),
    }
    # The first clock started at `began`: the measurement must end before its deadline.
    save_cost["deadline_margin_s"] = round(began + threshold_s - time.monotonic(), 1)
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
        "issue17_save_cost": save_cost,
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
                # As the product's worker runs them (no sandbox by default).
                workflow_runner=workflow_runner(get_settings()),
            )
            assert server._process is not None
            server_pid = server._process.pid
            async with worker:
                lateness = await _scenario_lateness(client, engine, 100 if quick else 1_000)
                log(f"lateness: {json.dumps(lateness)}")  # kept even if a later part is cut short
                paced = None
                if not quick:  # issue 13: 1,000 created at 65/s, p99 ≤ 5 s late
                    paced = await _scenario_lateness(client, engine, 1_000, rate=65, goal_s=5)
                    log(f"lateness at 65/s: {json.dumps(paced)}")
                armed = await _scenario_armed(
                    client, engine, 1_000 if quick else 10_000, server_pid
                )
            engine.dispose()
        finally:
            await server.stop()
    return {"sla": {"quick": quick, "lateness": lateness, "paced": paced, "armed": armed}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 conversations")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    report = asyncio.run(run_sla_bench(quick=args.quick))
    report["loadavg"] = {
        "start": [round(x, 2) for x in load],
        "end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
