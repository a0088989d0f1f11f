"""Throughput: completed runs per second, product vs naive vs floor, side by side.

Each repetition runs one batch of N runs per variant (the order rotates between repetitions), with
at most `concurrency` runs in flight (closed loop: a new run starts when one completes):

- **product**: `POST /events` over HTTP (a new conversation on live_chat) -> the API matches the
  one active definition (condition `customer.lifecycle equals customer`, then `add_tag` and
  `auto_reply`) and starts its WorkflowRun -> wait for the run's result. After the batch, every
  conversation is checked in the desk store (tag present, automated reply present).
- **naive**: `BenchNaive` started directly with the Temporal client (no HTTP), three regular
  activities doing the same database writes -> wait for its result.
- **floor**: `BenchFloor` (empty) started with the Temporal client -> wait for its result.

The CPU time of every process of the stack is read before and after each batch, so the same
batches also give the server cost per run (see server_cost.py).

This module also holds the workload shared by the other benchmarks (events, the definition).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from bench.baselines import NaiveInput
from bench.harness import (
    BASELINE_TASK_QUEUE,
    Figure,
    Stack,
    bounded,
    cpu_delta,
    log,
)
from definitions.events import Event
from store.models import ConversationRow, MessageRow

VARIANTS = ("floor", "naive", "product")

# ---------------------------------------------------------------- the workload

THROUGHPUT_DEFINITION: dict[str, Any] = {
    "name": "bench: tag and greet new live chats",
    "description": "One condition and two desk actions (benchmark)",
    "status": "active",
    "trigger": {"type": "new_conversation", "channels": ["live_chat"]},
    "steps": [
        {
            "id": "is-customer",
            "type": "condition",
            "field": "customer.lifecycle",
            "operator": "equals",
            "value": "customer",
            "on_false": "stop",
        },
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["bench"]}},
        {
            "id": "reply",
            "type": "action",
            "action": "auto_reply",
            "params": {
                "message": 'Hi {{customer.name | default: "there"}}, thanks for reaching out.'
            },
        },
    ],
}


def make_event(
    prefix: str,
    index: int,
    *,
    event_type: str = "conversation.created",
    channel: str = "live_chat",
    content: str = "Hello, I need help with my order",
) -> dict[str, Any]:
    """One inbound event (POST /events body) for a conversation of its own."""
    tag = f"{prefix}-{index}"
    return {
        "id": f"evt-{tag}",
        "type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "conversation": {
            "id": f"c-{tag}",
            "channel": channel,
            "status": "open",
            "priority": "normal",
            "subject": "Order question",
            "tags": [],
        },
        "customer": {
            "id": f"u-{tag}",
            "name": "Ada",
            "email": "ada@example.com",
            "lifecycle": "customer",
            "segment": "vip",
            "attributes": {"plan": "gold"},
        },
        "message": {"id": f"m-{tag}", "sender_type": "customer", "content": content},
    }


def new_prefix(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def create_definition(stack: Stack, body: dict[str, Any]) -> str:
    assert stack.http is not None
    response = await stack.http.post("/workflows", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST /workflows: {response.status_code} {response.text[:500]}")
    return str(response.json()["id"])


async def post_event(stack: Stack, body: dict[str, Any], attempts: int = 5) -> list[str]:
    """POST /events; the ids of the runs it started. A 5xx is retried, as a help desk would (the
    event id makes it safe), and counted in `stack.errors`."""
    assert stack.http is not None
    for attempt in range(attempts):
        try:
            response = await stack.http.post("/events", json=body)
        except httpx.TransportError as error:
            if attempt == attempts - 1:
                raise
            stack.errors[f"POST /events {type(error).__name__}"] += 1
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code in (200, 202):
            return [str(run_id) for run_id in response.json().get("run_ids", [])]
        if response.status_code < 500 or attempt == attempts - 1:
            raise RuntimeError(f"POST /events: {response.status_code} {response.text[:500]}")
        stack.errors[f"POST /events {response.status_code}"] += 1
        await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


async def wait_runs(stack: Stack, run_ids: list[str]) -> None:
    assert stack.client is not None
    for run_id in run_ids:
        await stack.client.get_workflow_handle(run_id).result()


# ---------------------------------------------------------------- one run of each variant


async def run_product(stack: Stack, body: dict[str, Any]) -> list[str]:
    run_ids = await post_event(stack, body)
    if len(run_ids) != 1:
        raise RuntimeError(f"expected one run for {body['id']}, got {run_ids}")
    await wait_runs(stack, run_ids)
    return run_ids


async def start_naive(
    stack: Stack,
    body: dict[str, Any],
    mode: str = "regular",
    task_queue: str = BASELINE_TASK_QUEUE,
) -> Any:
    assert stack.client is not None
    event = Event.model_validate(body)
    workflow_id = f"naive:{event.id}"
    return await stack.client.start_workflow(
        "BenchNaive",
        NaiveInput(event=event, scope=workflow_id, mode=mode),  # type: ignore[arg-type]
        result_type=str,
        id=workflow_id,
        task_queue=task_queue,
    )


async def run_naive(
    stack: Stack,
    body: dict[str, Any],
    mode: str = "regular",
    task_queue: str = BASELINE_TASK_QUEUE,
) -> list[str]:
    handle = await start_naive(stack, body, mode, task_queue)
    outcome = await handle.result()
    if outcome != "completed":
        raise RuntimeError(f"naive run {handle.id} ended {outcome!r}")
    return [handle.id]


async def start_floor(
    stack: Stack, body: dict[str, Any], task_queue: str = BASELINE_TASK_QUEUE
) -> Any:
    assert stack.client is not None
    event = Event.model_validate(body)
    return await stack.client.start_workflow(
        "BenchFloor", event, id=f"floor:{event.id}", task_queue=task_queue
    )


async def run_floor(
    stack: Stack, body: dict[str, Any], task_queue: str = BASELINE_TASK_QUEUE
) -> list[str]:
    handle = await start_floor(stack, body, task_queue)
    await handle.result()
    return [handle.id]


Runner = Callable[[Stack, dict[str, Any]], Awaitable[list[str]]]


def runner_for(variant: str, task_queue: str = BASELINE_TASK_QUEUE) -> Runner:
    """The runner of a variant: product, floor, naive, naive-local, naive-batched."""
    if variant == "product":
        return run_product
    if variant == "floor":
        return lambda stack, body: run_floor(stack, body, task_queue)
    modes = {"naive": "regular", "naive-local": "local", "naive-batched": "batched"}
    if variant in modes:
        return lambda stack, body: run_naive(stack, body, modes[variant], task_queue)
    raise ValueError(variant)


def count_effects(stack: Stack, prefix: str, *, tag: str = "bench") -> tuple[int, int]:
    """(conversations of the batch carrying `tag`, automated replies in them) in the desk store."""
    like = f"c-{prefix}-%"
    with Session(stack.engine) as session:
        tags = session.exec(
            select(ConversationRow.tags).where(col(ConversationRow.id).like(like))
        ).all()
        replies = session.exec(
            select(func.count())
            .select_from(MessageRow)
            .where(col(MessageRow.conversation_id).like(like))
            .where(MessageRow.sender_type == "automation")
        ).one()
    return sum(1 for t in tags if tag in (t or [])), int(replies)


# ---------------------------------------------------------------- the batch


@dataclass
class Batch:
    variant: str
    runs: int
    seconds: float
    cpu_ms: dict[str, float]
    run_ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.runs / self.seconds


async def run_batch(
    stack: Stack,
    variant: str,
    n: int,
    concurrency: int,
    task_queue: str = BASELINE_TASK_QUEUE,
) -> Batch:
    prefix = new_prefix(f"tp-{variant}")
    bodies = [make_event(prefix, i) for i in range(n)]
    runner = runner_for(variant, task_queue)
    before = stack.cpu_snapshot()
    started = time.perf_counter()
    results = await bounded(bodies, lambda body: runner(stack, body), concurrency)
    seconds = time.perf_counter() - started
    after = stack.cpu_snapshot()
    stack.check_alive()
    if variant in ("product", "naive", "naive-local", "naive-batched"):
        tagged, replies = await asyncio.to_thread(count_effects, stack, prefix)
        if tagged != n or replies != n:
            raise RuntimeError(
                f"{variant}: effects missing in the desk store: {tagged}/{n} tagged, "
                f"{replies}/{n} replies"
            )
    return Batch(variant, n, seconds, cpu_delta(before, after), [r for rs in results for r in rs])


async def warm_up(stack: Stack, variants: tuple[str, ...], n: int = 10) -> None:
    """A few runs of each variant first: imports, sandbox caches, SQLite pages, connections."""
    for variant in variants:
        await run_batch(stack, variant, n, concurrency=5)


@dataclass
class ThroughputResult:
    figures: dict[str, Figure]
    batches: list[Batch]


async def measure_throughput(
    stack: Stack,
    *,
    n: int,
    reps: int,
    concurrency: int,
    variants: tuple[str, ...] = VARIANTS,
) -> ThroughputResult:
    figures = {v: Figure(f"throughput {v}", "runs/s") for v in variants}
    batches: list[Batch] = []
    for rep in range(reps):
        order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
        for variant in order:
            batch = await run_batch(stack, variant, n, concurrency)
            figures[variant].values.append(batch.rate)
            batches.append(batch)
            log(
                f"throughput rep {rep + 1}/{reps} {variant}: {batch.rate:.1f} runs/s "
                f"(server {batch.cpu_ms.get('server', 0) / n:.1f} ms/run)"
            )
    return ThroughputResult(figures, batches)
