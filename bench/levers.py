"""The levers of issue 7, measured side by side:
`python -m bench levers [--quick] [--only ...] [--n N --reps R]`.

Each experiment compares variants in the same run, repetitions interleaved, and reports runs/s,
the Temporal server's CPU ms per run, the worker's CPU ms per run and history events per run:

- `activities`  the naive workflow's three DB steps as regular activities, as local activities,
                and batched into one regular activity (floor beside them).
- `sandbox`     the same workflows with `definitions` passed through the sandbox, re-imported
                in every run's sandbox, and without the sandbox (one worker per variant).
- `worker`      worker pollers and slots (one worker per variant).
- `server`      dev-server settings: SQLite pragmas, the search-attribute cache refresh of the
                embedded server's dynamic config, an in-memory database (one server per
                variant, all running at once, batches interleaved).
- `product-sandbox`  the product worker as shipped (no sandbox), in the SDK's sandbox with every
                module passed through, and in the sandbox (one full stack per variant).
- `product-sla` the product without and with one active sla_breach definition (every event then
                feeds the conversation's SLA tracker).
- `product-updated`  the product without and with one active conversation_updated definition
                (issue 16): one that hears the product's tag change but matches nothing
                (fields: priority), and one that matches it (tags_added: bench) and whose
                condition stops the run it starts.
- `product-http`  the product's API under uvicorn on asyncio + h11 and on uvloop + httptools
                (what uvicorn picks by itself when both are installed).
- `product`     the product worker's options (pollers, cache) through BENCH_WORKER_OPTIONS (one
                full stack per variant, all running at once); needs worker/ and app/.

The baselines stand in for the product where a lever is about Temporal itself; the product worker
is not modified (the findings are recommendations in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from bench.harness import (
    BASELINE_TASK_QUEUE,
    Figure,
    Stack,
    StackOptions,
    fmt,
    loadavg,
    log,
    machine_details,
    print_table,
    product_available,
    write_report,
)
from bench.server_cost import history_stats
from bench.throughput import THROUGHPUT_DEFINITION, create_definition, run_batch, warm_up


@dataclass
class Arm:
    """One variant of an experiment: where its runs go and which process does its work."""

    label: str
    stack: Stack
    variant: str  # floor, naive, naive-local, naive-batched, product
    task_queue: str = BASELINE_TASK_QUEUE
    processes: tuple[str, ...] = ("baselines",)
    rate: Figure = field(default_factory=lambda: Figure("rate", "runs/s"))
    server: Figure = field(default_factory=lambda: Figure("server CPU", "ms/run"))
    worker: Figure = field(default_factory=lambda: Figure("worker CPU", "ms/run"))
    history: dict[str, Any] = field(default_factory=dict)


async def compare(arms: list[Arm], *, n: int, reps: int, concurrency: int) -> None:
    for arm in arms:  # warm-up
        await run_batch(arm.stack, arm.variant, 10, 5, arm.task_queue)
    for rep in range(reps):
        order = arms[rep % len(arms) :] + arms[: rep % len(arms)]
        for arm in order:
            batch = await run_batch(arm.stack, arm.variant, n, concurrency, arm.task_queue)
            arm.rate.values.append(batch.rate)
            arm.server.values.append(batch.cpu_ms.get("server", float("nan")) / n)
            arm.worker.values.append(sum(batch.cpu_ms.get(p, 0.0) for p in arm.processes) / n)
            arm.history = {"run_ids": batch.run_ids}
            log(
                f"{arm.label}: {batch.rate:.1f} runs/s, server {arm.server.values[-1]:.1f} "
                f"ms/run, worker {arm.worker.values[-1]:.1f} ms/run"
            )
    for arm in arms:
        arm.history = await history_stats(arm.stack, arm.history["run_ids"], sample=3)


def rows(experiment: str, arms: list[Arm]) -> list[list[str]]:
    out = []
    for arm in arms:
        out.append(
            [
                experiment,
                arm.label,
                f"{fmt(arm.rate.median)} ({fmt(arm.rate.low)}–{fmt(arm.rate.high)})",
                f"{fmt(arm.server.median)} ({fmt(arm.server.low)}–{fmt(arm.server.high)})",
                f"{fmt(arm.worker.median)} ({fmt(arm.worker.low)}–{fmt(arm.worker.high)})",
                f"{fmt(arm.history.get('events_per_run', float('nan')), 0)} / "
                f"{fmt(arm.history.get('workflow_tasks_per_run', float('nan')), 0)}",
            ]
        )
    return out


def arm_dict(arm: Arm) -> dict[str, Any]:
    return {
        "label": arm.label,
        "variant": arm.variant,
        "runs_per_s": arm.rate.as_dict(),
        "server_cpu_ms_per_run": arm.server.as_dict(),
        "worker_cpu_ms_per_run": arm.worker.as_dict(),
        "history": arm.history,
    }


# ---------------------------------------------------------------- experiments


async def exp_activities(n: int, reps: int, concurrency: int) -> list[Arm]:
    async with Stack(StackOptions(product=False)) as stack:
        arms = [
            Arm("floor (empty workflow)", stack, "floor"),
            Arm("3 regular activities (naive)", stack, "naive"),
            Arm("3 local activities", stack, "naive-local"),
            Arm("1 regular activity, 3 steps batched", stack, "naive-batched"),
        ]
        await compare(arms, n=n, reps=reps, concurrency=concurrency)
        return arms


async def exp_workers(
    variants: list[tuple[str, dict[str, Any]]], workload: str, n: int, reps: int, concurrency: int
) -> list[Arm]:
    """One baselines worker per variant (its own task queue) on one server."""
    async with Stack(StackOptions(product=False, baselines=False)) as stack:
        arms = []
        for index, (label, options) in enumerate(variants):
            name, queue = f"w{index}", f"bench-lever-{index}"
            await stack.add_baseline_worker(name, queue, options)
            arms.append(Arm(label, stack, workload, queue, (name,)))
        await compare(arms, n=n, reps=reps, concurrency=concurrency)
        return arms


async def exp_sandbox(n: int, reps: int, concurrency: int) -> list[Arm]:
    return await exp_workers(
        [
            ("definitions passed through the sandbox", {"passthrough": ["definitions"]}),
            ("definitions re-imported in each run's sandbox", {"passthrough": []}),
            ("sandbox, every module passed through", {"passthrough_all": True}),
            ("no sandbox (UnsandboxedWorkflowRunner)", {"unsandboxed": True}),
        ],
        "naive-local",
        n,
        reps,
        concurrency,
    )


async def exp_worker(n: int, reps: int, concurrency: int) -> list[Arm]:
    return await exp_workers(
        [
            ("SDK defaults (5 + 5 pollers)", {}),
            ("2 workflow + 2 activity pollers", {"workflow_pollers": 2, "activity_pollers": 2}),
            ("10 workflow + 10 activity pollers", {"workflow_pollers": 10, "activity_pollers": 10}),
            ("max_concurrent_workflow_tasks=4", {"max_concurrent_workflow_tasks": 4}),
        ],
        "naive",
        n,
        reps,
        concurrency,
    )


SERVER_VARIANTS: list[tuple[str, StackOptions]] = [
    ("DevServer as shipped (WAL, synchronous=NORMAL, SA cache refresh on read)", StackOptions()),
    ("without forceSearchAttributesCacheRefreshOnRead", StackOptions(server_dynamic_config={})),
    ("synchronous=OFF", StackOptions(server_pragmas=["journal_mode=WAL", "synchronous=OFF"])),
    ("no pragmas (rollback journal, synchronous=FULL)", StackOptions(server_pragmas=[])),
    ("in-memory database (not persisted)", StackOptions(server_in_memory=True)),
]


async def exp_server(n: int, reps: int, concurrency: int, workload: str = "naive") -> list[Arm]:
    async with contextlib.AsyncExitStack() as stacks:
        arms = []
        for label, options in SERVER_VARIANTS:
            options.product = False
            stack = await stacks.enter_async_context(Stack(options))
            arms.append(Arm(label, stack, workload))
        await compare(arms, n=n, reps=reps, concurrency=concurrency)
        return arms


PRODUCT_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("worker as shipped (run_worker)", {}),
    ("no SLA-tracker signal per event (API patched)", {"api_patches": ["no-sla-signal"]}),
    ("2 workflow + 2 activity pollers", {"workflow_pollers": 2, "activity_pollers": 2}),
    ("max_cached_workflows=100", {"max_cached_workflows": 100}),
]


#: The workflow sandbox of the product worker (TEMPORAL.md "Speed": it is not a security boundary).
SANDBOX_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("product worker as shipped (no sandbox)", {}),
    ("sandbox, every module passed through", {"sandbox": "passthrough_all"}),
    ("SDK sandbox (SUPPORTFLOW_WORKFLOW_SANDBOX=1)", {"sandbox": "on"}),
]


#: An sla_breach definition that never fires during the benchmark: every new conversation then
#: feeds its tracker (issue 13: the product with it ≥ 0.8× the product without it).
SLA_DEFINITION: dict[str, Any] = {
    "name": "bench: first response within 8 hours",
    "status": "active",
    "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "8h"},
    "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["late"]}}],
}
SLA_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("product, no SLA definition", {}),
    ("product + one active sla_breach definition", {"definitions": [SLA_DEFINITION]}),
]


HTTP_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("API on asyncio + h11", {"api_patches": ["asyncio-h11"]}),
    ("API on uvloop + httptools (uvicorn's auto)", {}),
]


#: conversation_updated definitions (issue 16). Their trigger has no channels: each listens on
#: every channel, so the product's add_tag then emits a conversation.updated event that its run
#: dispatches (one `dispatch_event` activity); without one, `has_listener` says no and the action
#: emits nothing.
UPDATED_UNMATCHED: dict[str, Any] = {
    "name": "bench: priority changes (never matches the product's tag change)",
    "status": "active",
    "trigger": {"type": "conversation_updated", "fields": ["priority"]},
    "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["prio"]}}],
}
UPDATED_MATCHED: dict[str, Any] = {
    "name": "bench: bench tag added, condition stops",
    "status": "active",
    "trigger": {"type": "conversation_updated", "tags_added": ["bench"]},
    "steps": [
        {
            "id": "never",
            "type": "condition",
            "field": "customer.lifecycle",
            "operator": "equals",
            "value": "nobody",
            "on_false": "stop",
        },
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["heard"]}},
    ],
}
UPDATED_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("product, no conversation_updated definition", {}),
    (
        "+ conversation_updated on priority (listens, never matches the tag)",
        {"definitions": [UPDATED_UNMATCHED]},
    ),
    (
        "+ conversation_updated on tag bench (a 2nd run, stops at its condition)",
        {"definitions": [UPDATED_MATCHED]},
    ),
]


async def exp_product(
    n: int, reps: int, concurrency: int, variants: list[tuple[str, dict[str, Any]]] | None = None
) -> list[Arm]:
    variants = PRODUCT_VARIANTS if variants is None else variants
    if not product_available():
        log("product parts missing: skipping the product experiment")
        return []
    async with contextlib.AsyncExitStack() as stacks:
        arms = []
        for label, options in variants:
            options = dict(options)
            patches = options.pop("api_patches", [])
            extra = options.pop("definitions", [])
            stack = await stacks.enter_async_context(
                Stack(StackOptions(baselines=False, worker_options=options, api_patches=patches))
            )
            await create_definition(stack, THROUGHPUT_DEFINITION)
            for body in extra:
                await create_definition(stack, body)
            await warm_up(stack, ("product",))
            arms.append(Arm(label, stack, "product", processes=("worker", "api")))
        await compare(arms, n=n, reps=reps, concurrency=concurrency)
        return arms


EXPERIMENTS = {
    "activities": exp_activities,
    "sandbox": exp_sandbox,
    "worker": exp_worker,
    "server": exp_server,
    "product": exp_product,
    "product-sandbox": lambda n, reps, c: exp_product(n, reps, c, SANDBOX_VARIANTS),
    "product-sla": lambda n, reps, c: exp_product(n, reps, c, SLA_VARIANTS),
    "product-updated": lambda n, reps, c: exp_product(n, reps, c, UPDATED_VARIANTS),
    "product-http": lambda n, reps, c: exp_product(n, reps, c, HTTP_VARIANTS),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench levers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="3 repetitions of 30 runs")
    parser.add_argument("--only", default=",".join(EXPERIMENTS))
    parser.add_argument("--n", type=int, help="runs per batch")
    parser.add_argument("--reps", type=int, help="repetitions")
    args = parser.parse_args(argv)
    n, reps, concurrency = (30, 3, 8) if args.quick else (100, 5, 8)
    n, reps = args.n or n, args.reps or reps
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    machine = machine_details()
    log(f"levers {chosen}: n={n} reps={reps}; loadavg {machine['loadavg']}")
    started = time.monotonic()
    results: dict[str, list[Arm]] = {}
    table_rows: list[list[str]] = []
    for name in chosen:
        log(f"experiment {name}")
        arms = asyncio.run(EXPERIMENTS[name](n, reps, concurrency))
        results[name] = arms
        table_rows += rows(name, arms)
    text = print_table(
        [
            "lever",
            "variant",
            "runs/s",
            "server CPU ms/run",
            "worker CPU ms/run",
            "history events / WF tasks",
        ],
        table_rows,
    )
    path = write_report(
        {
            "kind": "levers",
            "parameters": {"n": n, "reps": reps, "concurrency": concurrency},
            "machine": machine,
            "loadavg_end": loadavg(),
            "seconds": round(time.monotonic() - started, 1),
            "experiments": {k: [arm_dict(a) for a in v] for k, v in results.items()},
            "table": text,
        }
    )
    summary = (
        f"\nlevers in {time.monotonic() - started:.0f}s; loadavg {machine['loadavg']} → "
        f"{loadavg()}; figures in {path}"
    )
    print(summary)  # noqa: T201 - the benchmark's output
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
