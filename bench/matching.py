"""Matching cost: `POST /events` throughput with 1,000 active definitions (one matching) vs 1.

Both worlds exist side by side on one API, on two channels, so the repetitions can alternate:

- **1 definition**: `new_message` events on telegram; one active definition for telegram.
- **1,000 definitions**: `new_message` events on whatsapp; 1,000 active `new_message` definitions
  for whatsapp, one matching (content pattern "refund"); the 999 others fail on the trigger's own
  options (a content pattern that never matches, or `sender_types: [agent]`) so every one of them
  is a real candidate that must be evaluated, not one the channel index skips.

Before the 999 are created, the 1-definition world is measured once more as a reference (it must
not depend on the whatsapp definitions existing).

The figure is the rate at which the API accepts events (N POSTs, `concurrency` in flight, until the
last 202). The runs the events started are then waited for, untimed, before the next batch.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

from bench.harness import Figure, Stack, bounded, log, ratio_figure
from bench.throughput import (
    THROUGHPUT_DEFINITION,
    create_definition,
    make_event,
    new_prefix,
    post_event,
    wait_runs,
)

CONTENT = "I want a refund for order 1234"


def store_definitions(stack: Stack, bodies: list[dict[str, Any]]) -> None:
    """Create definitions through the store (`definitions_repo.create`: validated, versioned and
    indexed exactly as POST /workflows does) — setup, not measured, and 4x faster than HTTP."""
    from sqlmodel import Session

    from definitions.models import WorkflowDefinitionIn
    from store import definitions_repo

    with Session(stack.engine, expire_on_commit=False) as session:
        for body in bodies:
            definitions_repo.create(session, WorkflowDefinitionIn.model_validate(body))


def message_definition(name: str, channel: str, trigger_options: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(THROUGHPUT_DEFINITION)
    body["name"] = name
    body["trigger"] = {"type": "new_message", "channels": [channel], **trigger_options}
    return body


def non_matching(index: int) -> dict[str, Any]:
    if index % 2:
        options: dict[str, Any] = {"sender_types": ["agent"], "content_patterns": ["refund"]}
    else:
        options = {"content_patterns": [rf"order #{index}-\d+ cancelled", f"never-{index}"]}
    return message_definition(f"bench: non-matching {index}", "whatsapp", options)


async def post_batch(
    stack: Stack, channel: str, n: int, concurrency: int
) -> tuple[float, list[str]]:
    """POST n message events on `channel`; (events accepted per second, run ids)."""
    prefix = new_prefix(f"match-{channel}")
    bodies = [
        make_event(prefix, i, event_type="message.created", channel=channel, content=CONTENT)
        for i in range(n)
    ]
    started = time.perf_counter()
    results = await bounded(bodies, lambda body: post_event(stack, body), concurrency)
    seconds = time.perf_counter() - started
    run_ids = [r for rs in results for r in rs]
    if len(run_ids) != n:
        raise RuntimeError(f"matching on {channel}: {len(run_ids)} runs for {n} events")
    await bounded(run_ids, lambda run_id: wait_runs(stack, [run_id]), concurrency)
    stack.check_alive()
    return n / seconds, run_ids


async def measure_matching(
    stack: Stack, *, n: int, reps: int, concurrency: int, definitions: int = 1000
) -> dict[str, Figure]:
    refunds = {"content_patterns": ["refund"]}
    for channel in ("telegram", "whatsapp"):
        await create_definition(
            stack, message_definition(f"bench: {channel} refunds", channel, refunds)
        )
    await post_batch(stack, "telegram", 5, 5)  # warm-up
    reference, _ = await post_batch(stack, "telegram", n, concurrency)
    log(f"matching reference (1 definition, before the others exist): {reference:.1f} events/s")

    started = time.perf_counter()
    others = [non_matching(i) for i in range(definitions - 1)]
    await asyncio.to_thread(store_definitions, stack, others)
    log(
        f"created {definitions - 1} non-matching definitions in "
        f"{time.perf_counter() - started:.1f}s"
    )
    await post_batch(stack, "whatsapp", 5, 5)  # warm-up (caches, if any)

    one = Figure("POST /events, 1 definition", "events/s")
    many = Figure(f"POST /events, {definitions} definitions", "events/s")
    for rep in range(reps):
        order = [("telegram", one), ("whatsapp", many)]
        if rep % 2:
            order.reverse()
        for channel, figure in order:
            rate, _ = await post_batch(stack, channel, n, concurrency)
            figure.values.append(rate)
        log(
            f"matching rep {rep + 1}/{reps}: 1 def {one.values[-1]:.1f}/s, "
            f"{definitions} defs {many.values[-1]:.1f}/s"
        )
    return {
        "one": one,
        "many": many,
        "ratio": ratio_figure(f"matching ratio {definitions}/1", many, one),
        "reference": Figure("POST /events, 1 definition (reference)", "events/s", [reference]),
    }
