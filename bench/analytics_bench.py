"""GET /analytics with few vs many runs in visibility: the cost must stay flat (goal: ratio <= 1.5).

    python -m bench.analytics_bench            # 1,000 vs 20,000 runs
    python -m bench.analytics_bench --quick    # 100 vs 2,000 runs (same 20x growth)

On the embedded stack's server (the Temporal dev server persisted to SQLite, `DevServer` as
`supportflow dev` runs it) with the API as a subprocess under uvicorn (`create_app`), this driver:

1. stores `DEFINITIONS` workflow definitions (so "most triggered" ranks real names);
2. starts the small batch of runs: cheap workflows registered as `WorkflowRun` by a worker in
   this process, on the API's task queue, carrying the four search attributes (one in ten fails,
   the rest complete at once), and waits until visibility shows them all closed;
3. times GET /analytics (default window, hourly buckets, i.e. a full report) `REPS` times;
4. grows visibility to the large batch the same way and times it again.

Reported: both medians (min-max), their ratio, the number of visibility queries per report (the
same for both sizes: count queries only), and whether the report counted every run.

`run_analytics_bench(quick)` is the plug-in entry point of `python -m bench`.

Measured so far (2 CPUs shared with other test and benchmark runs, load average 6-10, so noisy):
100 vs 2,000 runs: 287 ms vs 723 ms median (ratio 2.5); 1,000 runs: 480 ms median (242 ms min),
59 queries per report. The 20,000-run figure could not be taken cleanly: the loaded machine
completed only ~8-17 cheap runs/s, and a report taken while 12k of them were still being processed
took ~10 s. Count queries on the dev server's SQLite visibility scan the rows they match, so
"flat" holds in the number of queries, not in the database work per query; see the README notes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from bench.harness import BenchDevServer, Child, free_port, log, spawn
from definitions.runs import WORKFLOW_RUN
from temporal_edge import SearchAttr

TASK_QUEUE = "bench-analytics"
DEFINITIONS = 10
REPS = 21
WARMUP = 3
#: After the runs are visible, let the server finish its background work before timing.
SETTLE_SECONDS = 5.0
START_CONCURRENCY = 64
GOAL_RATIO = 1.5

_KEYS = (
    SearchAttr.DEFINITION_ID.key,
    SearchAttr.DEFINITION_VERSION.key,
    SearchAttr.TRIGGER_TYPE.key,
    SearchAttr.CONVERSATION_ID.key,
)


@workflow.defn(name=WORKFLOW_RUN, sandboxed=False)
class CheapRun:
    """Stands in for a WorkflowRun in visibility: no activities, ends at once."""

    @workflow.run
    async def run(self, fail: bool) -> str:
        if fail:
            raise ApplicationError("bench failure", type="StepFailed", non_retryable=True)
        return "ok"


def _definition_ids() -> list[str]:
    return [f"wf_bench{i:012d}" for i in range(DEFINITIONS)]


def _store_definitions(db_url: str) -> str:
    """The bench definitions and an admin key in the API's database; returns the key."""
    from definitions.models import WorkflowDefinitionIn
    from store import definitions_repo
    from store.db import create_all, make_engine, session_scope
    from store.keys import create_key

    engine = make_engine(db_url)
    create_all(engine)
    try:
        for i, definition_id in enumerate(_definition_ids()):
            definition = WorkflowDefinitionIn.model_validate(
                {
                    "name": f"Bench workflow {i}",
                    "status": "draft",
                    "trigger": {"type": "new_conversation"},
                    "steps": [
                        {"id": "tag", "type": "action", "action": "add_tag",
                         "params": {"tags": ["bench"]}},
                    ],
                }
            )  # fmt: skip
            with session_scope(engine) as session:
                definitions_repo.create(session, definition, definition_id=definition_id)
        return create_key(engine, "viewer", name="analytics bench")
    finally:
        engine.dispose()


async def _start_runs(client: Client, first: int, count: int) -> None:
    """Start runs `first` .. `first + count - 1`; definition i % 10 weighted toward low ids."""
    ids = _definition_ids()
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def start(n: int) -> None:
        definition_id = ids[min(int((n * 7919 % 1000) ** 0.5 / 3.2), DEFINITIONS - 1)]
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(_KEYS[0], definition_id),
                SearchAttributePair(_KEYS[1], 1),
                SearchAttributePair(_KEYS[2], "new_conversation"),
                SearchAttributePair(_KEYS[3], f"c-bench-{n}"),
            ]
        )
        async with limit:
            await client.start_workflow(
                WORKFLOW_RUN,
                n % 10 == 9,
                id=f"run:{definition_id}:evt-bench-{n}",
                task_queue=TASK_QUEUE,
                search_attributes=attributes,
            )

    await asyncio.gather(*(start(n) for n in range(first, first + count)))


async def _wait_visible(client: Client, total: int, timeout: float) -> float:
    """Until visibility counts `total` closed runs; returns the seconds it took."""
    began = time.monotonic()
    query = (
        f"WorkflowType = '{WORKFLOW_RUN}' AND TaskQueue = '{TASK_QUEUE}' "
        "AND ExecutionStatus != 'Running'"
    )
    while True:
        closed = (await client.count_workflows(query)).count
        if closed >= total:
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"only {closed} of {total} runs closed after {timeout:.0f}s")
        await asyncio.sleep(0.5)


async def _time_analytics(http: httpx.AsyncClient, expected: int) -> dict[str, Any]:
    """Median (min-max) milliseconds of GET /analytics over REPS calls, after WARMUP calls."""
    times: list[float] = []
    body: dict[str, Any] = {}
    for i in range(WARMUP + REPS):
        began = time.perf_counter()
        response = await http.get("/analytics", params={"bucket": "hour"})
        elapsed = (time.perf_counter() - began) * 1000
        response.raise_for_status()
        body = response.json()
        if i >= WARMUP:
            times.append(elapsed)
    started = body["totals"]["started"]
    return {
        "runs": expected,
        "median_ms": round(statistics.median(times), 2),
        "min_ms": round(min(times), 2),
        "max_ms": round(max(times), 2),
        "queries": body["queries"],
        "counted_runs": started,
        "counted_all": started == expected,
        "failed_counted": body["totals"]["failed"],
    }


async def _wait_api(url: str, child: Child, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"api exited:\n{child.log_tail()}")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"API not healthy after {timeout}s:\n{child.log_tail()}")


async def run_analytics_bench(
    quick: bool = False, small: int | None = None, large: int | None = None
) -> dict[str, Any]:
    """Time GET /analytics with `small` and then `large` runs in visibility (20x more)."""
    default_small, default_large = (100, 2_000) if quick else (1_000, 20_000)
    small, large = small or default_small, large or default_large
    with tempfile.TemporaryDirectory(prefix="supportflow-analytics-bench-") as tmp:
        root = Path(tmp)
        db_url = f"sqlite:///{root / 'supportflow.db'}"
        key = await asyncio.to_thread(_store_definitions, db_url)
        server = BenchDevServer(root / "temporal", port=free_port(), ui=False, log_level="error")
        await server.start(timeout=90)
        api: Child | None = None
        try:
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            port = free_port()
            env = {
                **os.environ,
                "SUPPORTFLOW_DATA_DIR": str(root),
                "DATABASE_URL": db_url,
                "TEMPORAL_ADDRESS": server.address,
                "TEMPORAL_NAMESPACE": "default",
                "SUPPORTFLOW_TASK_QUEUE": TASK_QUEUE,
                "PYTHONUNBUFFERED": "1",
            }
            env.pop("SUPPORTFLOW_WEBHOOK_URL", None)
            api = spawn(
                "api",
                [sys.executable, "-m", "bench.harness", "api", "--port", str(port)],
                env,
                root / "api.log",
            )
            await _wait_api(f"http://127.0.0.1:{port}", api)
            headers = {"Authorization": f"Bearer {key}"}
            async with (
                Worker(
                    client,
                    task_queue=TASK_QUEUE,
                    workflows=[CheapRun],
                    max_concurrent_workflow_tasks=200,
                ),
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
                ) as http,
            ):
                results: dict[str, Any] = {}
                done = 0
                for label, target in (("small", small), ("large", large)):
                    began = time.monotonic()
                    await _start_runs(client, done, target - done)
                    lag = await _wait_visible(client, target, timeout=max(120, target / 20))
                    done = target
                    log(
                        f"analytics bench: {target} runs in visibility "
                        f"({time.monotonic() - began:.1f}s, last {lag:.1f}s waiting)"
                    )
                    await asyncio.sleep(SETTLE_SECONDS)
                    results[label] = await _time_analytics(http, target)
                    log(f"analytics bench: {label} {results[label]}")
        finally:
            if api is not None:
                await asyncio.to_thread(api.terminate)
            await server.stop()
    ratio = results["large"]["median_ms"] / results["small"]["median_ms"]
    return {
        "small": results["small"],
        "large": results["large"],
        "ratio": round(ratio, 3),
        "ratio_of_minimums": round(results["large"]["min_ms"] / results["small"]["min_ms"], 3),
        "load_average": [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
        if Path("/proc/loadavg").exists()
        else None,
        "goal_ratio": GOAL_RATIO,
        "ok": ratio <= GOAL_RATIO,
        "note": (
            f"GET /analytics?bucket=hour (default 24h window: ~25 buckets + 24 duration bands + "
            f"{DEFINITIONS} definitions, count queries only) with {small} vs {large} runs"
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_bench")
    parser.add_argument("--quick", action="store_true", help="100 vs 2,000 runs")
    parser.add_argument("--small", type=int, help="runs of the first measurement")
    parser.add_argument("--large", type=int, help="runs of the second measurement")
    args = parser.parse_args(argv)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM: stop the server and the API through the finally blocks

    signal.signal(signal.SIGTERM, interrupt)
    outcome = asyncio.run(run_analytics_bench(args.quick, args.small, args.large))
    small, large = outcome["small"], outcome["large"]
    print(  # noqa: T201 - the benchmark's output
        f"GET /analytics  {small['runs']:>6} runs: {small['median_ms']:.1f} ms "
        f"({small['min_ms']:.1f}-{small['max_ms']:.1f}), {small['queries']} queries\n"
        f"GET /analytics  {large['runs']:>6} runs: {large['median_ms']:.1f} ms "
        f"({large['min_ms']:.1f}-{large['max_ms']:.1f}), {large['queries']} queries\n"
        f"ratio {outcome['ratio']:.2f} of medians, {outcome['ratio_of_minimums']:.2f} of minimums "
        f"(goal <= {GOAL_RATIO}) "
        f"{'OK' if outcome['ok'] else 'MISSED'}; counted all: "
        f"{small['counted_all'] and large['counted_all']}"
    )


if __name__ == "__main__":
    main()
