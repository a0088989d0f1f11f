"""Latency at light load: events arrive open-loop at a fixed rate (2/s, issue 13), one conversation
each.

- **product**: from sending `POST /events` to the last action (`auto_reply`: the automated message)
  being visible in the desk store. One poller reads the store every `poll` seconds for all pending
  conversations at once; its resolution (~10 ms) is included in the figure.
- **naive**: the same, for `BenchNaive` started with the Temporal client (full mode).
- **floor**: from `start_workflow` of `BenchFloor` to its result (start -> complete).

Variants alternate within each repetition; p50 and p99 per repetition, reported as median with
min-max over the repetitions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlmodel import Session, col, select

from bench.harness import Figure, Stack, log, percentile
from bench.throughput import make_event, new_prefix, post_event, start_floor, start_naive
from store.models import MessageRow


async def open_loop(
    count: int, rate: float, fire: Callable[[int], Coroutine[Any, Any, None]]
) -> None:
    """Call fire(i) at start + i / rate, without waiting for earlier calls to finish."""
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i)))
    await asyncio.gather(*tasks)


def _replied(stack: Stack, conversation_ids: list[str]) -> set[str]:
    with Session(stack.engine) as session:
        rows = session.exec(
            select(MessageRow.conversation_id)
            .where(col(MessageRow.conversation_id).in_(conversation_ids))
            .where(MessageRow.sender_type == "automation")
        ).all()
    return set(rows)


async def desk_latencies(
    stack: Stack,
    count: int,
    rate: float,
    send: Callable[[dict[str, Any]], Awaitable[Any]],
    *,
    poll: float = 0.01,
    timeout: float = 60.0,
) -> list[float]:
    """Send `count` events at `rate`/s through `send`; seconds from send to the automated reply
    being visible in the desk store, per event."""
    prefix = new_prefix("lat")
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    done = asyncio.Event()

    async def fire(i: int) -> None:
        body = make_event(prefix, i)
        sent_at[body["conversation"]["id"]] = time.perf_counter()
        await send(body)

    async def watch() -> None:
        deadline = time.perf_counter() + timeout + count / rate
        while time.perf_counter() < deadline:
            pending = [c for c in sent_at if c not in seen_at]
            if pending:
                replied = await asyncio.to_thread(_replied, stack, pending)
                now = time.perf_counter()
                for conversation_id in replied:
                    seen_at[conversation_id] = now
            if done.is_set() and len(seen_at) == count:
                return
            await asyncio.sleep(poll)
        # Overloaded: the missing replies count as the whole wait (a lower bound), reported.
        now = time.perf_counter()
        missing = [c for c in sent_at if c not in seen_at]
        stack.errors["latency: reply not visible within the wait"] += len(missing)
        for conversation_id in missing:
            seen_at[conversation_id] = now

    watcher = asyncio.create_task(watch())
    await open_loop(count, rate, fire)
    done.set()
    await watcher
    return [seen_at[c] - sent_at[c] for c in sent_at]


async def floor_latencies(stack: Stack, count: int, rate: float) -> list[float]:
    prefix = new_prefix("latfloor")
    latencies: list[float] = []

    async def fire(i: int) -> None:
        body = make_event(prefix, i)
        started = time.perf_counter()
        handle = await start_floor(stack, body)
        await handle.result()
        latencies.append(time.perf_counter() - started)

    await open_loop(count, rate, fire)
    return latencies


async def measure_latency(
    stack: Stack,
    *,
    count: int,
    reps: int,
    rate: float = 2.0,  # issue 13: latency at light load
    variants: tuple[str, ...] = ("floor", "product"),
) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for variant in variants:
        figures[f"{variant} p50"] = Figure(f"latency {variant} p50", "ms")
        figures[f"{variant} p99"] = Figure(f"latency {variant} p99", "ms")
    for rep in range(reps):
        for variant in variants:
            if variant == "floor":
                values = await floor_latencies(stack, count, rate)
            elif variant == "product":
                values = await desk_latencies(
                    stack, count, rate, lambda body: post_event(stack, body)
                )
            elif variant == "naive":
                values = await desk_latencies(
                    stack, count, rate, lambda body: start_naive(stack, body)
                )
            else:
                raise ValueError(variant)
            p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
            figures[f"{variant} p50"].values.append(p50)
            figures[f"{variant} p99"].values.append(p99)
            log(f"latency rep {rep + 1}/{reps} {variant}: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
            stack.check_alive()
    return figures
