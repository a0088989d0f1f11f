"""Waits benchmark (issue 12 "Measured"): timers firing together, runs waiting at once, and how
long an event takes to wake a waiting run. One embedded stack (`bench.harness.Stack`: dev server,
product worker and API as subprocesses), three scenarios in this order:

1. `timers`: T runs (1,000; quick: 200) of `wait <d>` then `auto_reply`, each started with its own
   duration so that every deadline falls in the same second. Per run, from its trace and the desk:
   wake lateness = the wait's `ended_at` − its deadline (the workflow task that saw the timer),
   effect lateness = the automated reply's `created_at` in the desk store − the deadline.
   Goal: p99 ≤ 2 s.
2. `waiting`: W runs (10,000; quick: 1,000) parked in `wait_for customer_message 2h`; resident
   memory (VmRSS) of the worker, the API and the Temporal server before and once every run has
   recorded its wait row, and per 1,000 waiting runs.
3. `wake`: E conversations (100; quick: 20) created through `POST /events` start the active
   definition `wait_for customer_message 2h` → `auto_reply`; once all wait, a customer message
   each at 2 events/s (light load), while the W runs of (2) still wait. Event-to-wake = the wait's
   `ended_at` (trace) − the moment the message was POSTed; event-to-effect = the automated reply
   visible in the desk store (polled every 10 ms) − the same moment. Goal (issue 12): wake p99
   under 1 s.

The runs of (1) and (2) are started straight from the client with the same start call ingestion
uses (`temporal_edge.starts.start_event_run`): the duration is per run, and going through HTTP
would only make setting up 10,000 runs slower. Their conversations are mirrored into the desk store
first (as ingestion does) so the actions find them. (3) is the product path end to end.

    python -m bench.waits_bench [--quick]       # or as a plug-in: python -m bench --full
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bench.harness import (
    PRODUCT_TASK_QUEUE,
    Stack,
    StackOptions,
    bounded,
    log,
    machine_details,
    percentile,
    write_report,
)
from bench.latency import open_loop
from bench.throughput import create_definition, make_event, new_prefix, post_event
from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from definitions.runs import RunInput, RunResult, run_workflow_id
from desk.mirror import mirror_event
from store.db import session_scope
from store.models import MessageRow, RunWaitRow
from temporal_edge.search import PHASE_WAITING, SearchAttr
from temporal_edge.starts import start_event_run

START_CONCURRENCY = 32
TIMER_SLICE = 50
WAIT_FOR_TIMEOUT = "2h"
REPLY = {"id": "reply", "type": "action", "action": "auto_reply", "params": {"message": "Woken"}}


def _definition(name: str, first_step: dict[str, Any], status: str = "active") -> dict[str, Any]:
    return {
        "name": name,
        "description": "waits benchmark",
        "status": status,
        "trigger": {"type": "new_conversation", "channels": ["live_chat"]},
        "steps": [first_step, REPLY],
    }


def _wait_for_step() -> dict[str, Any]:
    return {
        "id": "reply-wait",
        "type": "wait_for",
        "event": "customer_message",
        "timeout": WAIT_FOR_TIMEOUT,
        "on_event": "continue",
        "on_timeout": "stop",
    }


# ---------------------------------------------------------------- helpers


def _rss_mb(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _memory(stack: Stack) -> dict[str, float]:
    server = stack.server._process.pid if stack.server._process else None
    return {
        "worker_mb": round(_rss_mb(stack.children["worker"].pid), 1),
        "api_mb": round(_rss_mb(stack.children["api"].pid), 1),
        "server_mb": round(_rss_mb(server), 1),
    }


def _mirror(stack: Stack, bodies: list[dict[str, Any]]) -> list[Event]:
    """Put the conversations into the desk store as ingestion would (setup, not measured)."""
    events = [Event.model_validate(body) for body in bodies]
    with session_scope(stack.engine) as session:
        for event in events:
            mirror_event(session, event)
    return events


def _cpu_per_run(stack: Stack, before: dict[str, float], runs: int) -> dict[str, float]:
    after = stack.cpu_snapshot()
    return {
        name: round((after[name] - before.get(name, 0.0)) / runs, 1)
        for name in ("worker", "api", "server")
        if name in after
    }


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 50), 3),
        "p99_s": round(percentile(values, 99), 3),
        "max_s": round(max(values), 3),
        "min_s": round(min(values), 3),
    }


async def _start_direct(
    stack: Stack, definition_id: str, events: list[Event], steps: list[dict[str, Any]]
) -> list[str]:
    """Start one WorkflowRun per event with its own definition body (steps[i] first)."""
    assert stack.client is not None
    client = stack.client

    async def start(item: tuple[Event, dict[str, Any]]) -> str:
        event, first = item
        body = _definition("bench: waits", first)
        run_input = RunInput(
            definition_id=definition_id,
            definition_version=1,
            definition=WorkflowDefinitionIn.model_validate(body),
            event=event,
            idempotency_scope=run_workflow_id(definition_id, event.id),
        )
        await start_event_run(client, run_input, task_queue=PRODUCT_TASK_QUEUE)
        return run_workflow_id(definition_id, event.id)

    return await bounded(list(zip(events, steps, strict=True)), start, START_CONCURRENCY)


async def _results(stack: Stack, run_ids: list[str]) -> dict[str, RunResult]:
    assert stack.client is not None
    client = stack.client

    async def one(run_id: str) -> tuple[str, RunResult]:
        result = await client.get_workflow_handle(run_id, result_type=RunResult).result()
        return run_id, result

    return dict(await bounded(run_ids, one, START_CONCURRENCY))


def _replies(stack: Stack, conversation_ids: list[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    with Session(stack.engine) as session:
        for start in range(0, len(conversation_ids), 500):
            rows = session.exec(
                select(MessageRow.conversation_id, MessageRow.created_at)
                .where(col(MessageRow.conversation_id).in_(conversation_ids[start : start + 500]))
                .where(MessageRow.sender_type == "automation")
            ).all()
            for conversation_id, created_at in rows:
                found[conversation_id] = _utc(created_at)
    return found


def _waiting_rows(stack: Stack) -> int:
    with Session(stack.engine) as session:
        return int(session.exec(select(func.count()).select_from(RunWaitRow)).one())


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _until_waiting(stack: Stack, definition_id: str, prefix: str, expected: int) -> None:
    """Until visibility shows `expected` runs of this scenario in a wait (RunPhase waiting)."""
    assert stack.client is not None
    query = (
        f'WorkflowId STARTS_WITH "{run_workflow_id(definition_id, "evt-" + prefix)}" '
        f'AND {SearchAttr.RUN_PHASE.key.name} = "{PHASE_WAITING}"'
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (await stack.client.count_workflows(query)).count >= expected:
            return
        await asyncio.sleep(0.2)
    log(f"timers: fewer than {expected} runs waiting after 120 s")


async def _until(check: Any, expected: int, timeout: float, what: str) -> int:
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = await asyncio.to_thread(check)
        if seen >= expected:
            return seen
        await asyncio.sleep(0.5)
    log(f"{what}: {seen} of {expected} after {timeout:.0f}s")
    return seen


# ---------------------------------------------------------------- scenarios


async def scenario_timers(stack: Stack, definition_id: str, count: int) -> dict[str, Any]:
    prefix = new_prefix("timers")
    bodies = [make_event(prefix, i) for i in range(count)]
    events = await asyncio.to_thread(_mirror, stack, bodies)
    # Every run starts with the duration that ends at `target` (whole seconds: a duration is
    # "<n>s"). A wait's deadline counts from the run's first workflow task, not from the start
    # call, so runs start in slices and each slice is waited for (visibility: RunPhase waiting)
    # before the next one's durations are computed: the deadlines then fall within ~1-2 s.
    started = time.time()
    target = math.ceil(started + 15 + count / 10)
    run_ids: list[str] = []
    for start in range(0, count, TIMER_SLICE):
        chunk = events[start : start + TIMER_SLICE]
        seconds = max(1, round(target - time.time() - 0.5))
        steps = [{"id": "pause", "type": "wait", "for": f"{seconds}s"} for _ in chunk]
        run_ids += await _start_direct(stack, definition_id, chunk, steps)
        await _until_waiting(stack, definition_id, prefix, len(run_ids))
    took = time.time() - started
    log(f"timers: {count} runs started in {took:.1f}s, firing at +{target - started:.0f}s")
    await asyncio.sleep(max(0.0, target - 2 - time.time()))
    cpu_before = stack.cpu_snapshot()
    await asyncio.sleep(max(0.0, target - time.time()))
    conversation_ids = [event.conversation.id for event in events]
    replied = await _until(
        lambda: len(_replies(stack, conversation_ids)), count, 120 + count / 10, "timers"
    )
    cpu = _cpu_per_run(stack, cpu_before, count)
    results = await _results(stack, run_ids)
    replies = await asyncio.to_thread(_replies, stack, conversation_ids)
    wake: list[float] = []
    effect: list[float] = []
    deadlines: list[float] = []
    for event, run_id in zip(events, run_ids, strict=True):
        wait = results[run_id].steps[0].wait
        if wait is None or wait.deadline is None:
            continue
        deadline = _utc(wait.deadline)
        deadlines.append(deadline.timestamp())
        if wait.ended_at is not None:
            wake.append((_utc(wait.ended_at) - deadline).total_seconds())
        reply = replies.get(event.conversation.id)
        if reply is not None:
            effect.append((reply - deadline).total_seconds())
    spread = max(deadlines) - min(deadlines) if deadlines else float("nan")
    return {
        "runs": count,
        "replies": replied,
        "deadline_spread_s": round(spread, 2),
        "wake_lateness": _stats(wake),
        "effect_lateness": _stats(effect),
        "cpu_ms_per_run_while_firing": cpu,
    }


async def scenario_waiting(stack: Stack, definition_id: str, count: int) -> dict[str, Any]:
    before = _memory(stack)
    cpu_before = stack.cpu_snapshot()
    already = await asyncio.to_thread(_waiting_rows, stack)
    prefix = new_prefix("waiting")
    started = time.monotonic()
    events: list[Event] = []
    for start in range(0, count, 1000):
        bodies = [make_event(prefix, i) for i in range(start, min(count, start + 1000))]
        events += await asyncio.to_thread(_mirror, stack, bodies)
    steps = [_wait_for_step() for _ in events]
    await _start_direct(stack, definition_id, events, steps)
    waiting = await _until(
        lambda: _waiting_rows(stack) - already, count, 600 + count / 5, "waiting rows"
    )
    seconds = time.monotonic() - started
    cpu = _cpu_per_run(stack, cpu_before, count)
    await asyncio.sleep(5)  # let the worker settle (caches, GC) before reading memory
    after = _memory(stack)
    per_1000 = {
        key: round((after[key] - before[key]) * 1000 / count, 1)
        for key in ("worker_mb", "server_mb")
    }
    log(f"waiting: {waiting} of {count} runs waiting after {seconds:.0f}s; memory {after}")
    return {
        "runs": count,
        "waiting": waiting,
        "setup_s": round(seconds, 1),
        "rss_before": before,
        "rss_after": after,
        "rss_growth_per_1000_runs": per_1000,
        "cpu_ms_per_run_to_start_waiting": cpu,
    }


async def scenario_wake(stack: Stack, count: int, rate: float = 2.0) -> dict[str, Any]:
    prefix = new_prefix("wake")
    created = [make_event(prefix, i) for i in range(count)]
    already = await asyncio.to_thread(_waiting_rows, stack)
    run_ids: list[str] = []
    for body in created:
        run_ids += await post_event(stack, body)
    await _until(lambda: _waiting_rows(stack) - already, count, 120, "wake: waiting rows")
    await asyncio.sleep(1)
    conversation_ids = [body["conversation"]["id"] for body in created]
    sent_at: dict[str, float] = {}  # wall clock (compared with the trace's times)
    sent_perf: dict[str, float] = {}
    seen_perf: dict[str, float] = {}
    done = asyncio.Event()

    async def fire(i: int) -> None:
        body = make_event(prefix, i, event_type="message.created", content="Any news?")
        body["id"] = f"evt-{prefix}-reply-{i}"
        body["message"]["id"] = f"m-{prefix}-reply-{i}"
        conversation_id = body["conversation"]["id"]
        sent_at[conversation_id] = time.time()
        sent_perf[conversation_id] = time.perf_counter()
        await post_event(stack, body)

    async def watch() -> None:
        deadline = time.perf_counter() + 60 + count / rate
        while time.perf_counter() < deadline:
            pending = [c for c in sent_perf if c not in seen_perf]
            if pending:
                replied = await asyncio.to_thread(_replies, stack, pending)
                now = time.perf_counter()
                for conversation_id in replied:
                    seen_perf.setdefault(conversation_id, now)
            if done.is_set() and len(seen_perf) == count:
                return
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    await open_loop(count, rate, fire)
    done.set()
    await watcher
    results = await _results(stack, run_ids)
    wake: list[float] = []
    for run_id, conversation_id in zip(run_ids, conversation_ids, strict=True):
        wait = results[run_id].steps[0].wait
        if wait is not None and wait.ended_at is not None and wait.woken_by == "event":
            wake.append(_utc(wait.ended_at).timestamp() - sent_at[conversation_id])
    effect = [seen_perf[c] - sent_perf[c] for c in sent_perf if c in seen_perf]
    return {
        "events": count,
        "rate_per_s": rate,
        "woken_by_event": len(wake),
        "event_to_wake": _stats(wake),
        "event_to_effect": _stats(effect),
    }


# ---------------------------------------------------------------- entry points


async def run_waits_bench(
    quick: bool = False, worker_options: dict[str, Any] | None = None, *, only_timers: bool = False
) -> dict[str, Any]:
    timers, waiting, wake = (200, 1000, 20) if quick else (1000, 10_000, 100)
    report: dict[str, Any] = {"loadavg_start": machine_details()["loadavg"]}
    if worker_options:
        report["worker_options"] = worker_options
    options = StackOptions(product=True, baselines=False, worker_options=worker_options or {})
    async with Stack(options) as stack:
        # The runs started from the client refer to a real (draft) definition; the wake scenario
        # goes through the active one.
        draft = await create_definition(
            stack, _definition("bench: waits (direct starts)", _wait_for_step(), status="draft")
        )
        await create_definition(stack, _definition("bench: wake on reply", _wait_for_step()))
        report["idle_rss"] = _memory(stack)
        log(f"waits: timers ({timers} firing together)")
        report["timers"] = await scenario_timers(stack, draft, timers)
        if only_timers:
            return report
        log(f"waits: {waiting} runs waiting at once")
        report["waiting"] = await scenario_waiting(stack, draft, waiting)
        log(f"waits: event-to-wake, {wake} events at 2/s with {waiting} runs waiting")
        report["wake"] = await scenario_wake(stack, wake)
        report["errors"] = dict(stack.errors)
        failing = stack.count_in_log("worker", "Failing workflow task")
        if failing:
            report["errors"]["worker: failed workflow tasks"] = failing
    report["loadavg_end"] = machine_details()["loadavg"]
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.waits_bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 timers, 1,000 waiting, 20 wakes")
    parser.add_argument(
        "--worker-options",
        default="{}",
        help='product worker levers as JSON (bench.harness), e.g. \'{"sandbox": "off"}\'',
    )
    parser.add_argument(
        "--only-timers", action="store_true", help="the timers scenario alone (lever runs)"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = asyncio.run(
        run_waits_bench(args.quick, json.loads(args.worker_options), only_timers=args.only_timers)
    )
    report["seconds"] = round(time.monotonic() - started, 1)
    path = write_report({"kind": "waits", "quick": args.quick, **report})
    print(json.dumps(report, indent=2))  # noqa: T201 - the benchmark's output
    print(f"figures in {path}")  # noqa: T201


if __name__ == "__main__":
    main()
