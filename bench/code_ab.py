"""Code levers side by side: the product's worker and API run from different checkouts, one full
stack per checkout, batches interleaved in one run (`bench.levers.compare`).

    git archive <commit> | tar -x -C /tmp/arm-x      # one directory per variant
    python -m bench.code_ab --arm base=/tmp/arm-base --arm outbox=/tmp/arm-x [--quick]

Only the product's subprocesses (worker, API) run the arm's code: the driver (this process,
the Temporal server, the load and the effect count) is the same for every arm, so the figures
differ only by the code under test. Reports runs/s, server and worker+API CPU per run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench import harness
from bench.harness import (
    Child,
    Stack,
    StackOptions,
    _die_with_parent,
    loadavg,
    log,
    machine_details,
    print_table,
    write_report,
)
from bench.levers import SLA_DEFINITION, Arm, arm_dict, compare, rows
from bench.throughput import THROUGHPUT_DEFINITION, create_definition, warm_up

_code_root: Path | None = None  # the checkout the next stack's product processes run from


def _spawn(name: str, args: Sequence[str], env: dict[str, str], log_path: Path) -> Child:
    """`harness.spawn`, from `_code_root` (cwd and PYTHONPATH) when one is set."""
    cwd = str(_code_root or harness.BENCH_DIR.parent)
    env = {**env, "PYTHONPATH": cwd}
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    return Child(name, process, log_path)


@contextlib.contextmanager
def _from(root: Path) -> Iterator[None]:
    global _code_root
    _code_root = root
    try:
        yield
    finally:
        _code_root = None


async def run_arms(
    arms: list[tuple[str, Path]], n: int, reps: int, concurrency: int, *, sla: bool = False
) -> list[Arm]:
    harness.spawn = _spawn  # type: ignore[assignment]  # this process only
    async with contextlib.AsyncExitStack() as stacks:
        measured = []
        for label, root in arms:
            with _from(root):
                stack = await stacks.enter_async_context(Stack(StackOptions(baselines=False)))
            await create_definition(stack, THROUGHPUT_DEFINITION)
            if sla:  # every new conversation then also starts its SLA tracker
                await create_definition(stack, SLA_DEFINITION)
            await warm_up(stack, ("product",))
            measured.append(Arm(label, stack, "product", processes=("worker", "api")))
        await compare(measured, n=n, reps=reps, concurrency=concurrency)
        return measured


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.code_ab", description=__doc__)
    parser.add_argument("--arm", action="append", required=True, help="label=directory")
    parser.add_argument("--quick", action="store_true", help="3 repetitions of 30 runs")
    parser.add_argument("--n", type=int, help="runs per batch")
    parser.add_argument("--reps", type=int, help="repetitions")
    parser.add_argument(
        "--sla", action="store_true", help="one active sla_breach definition in every arm"
    )
    args = parser.parse_args(argv)
    n, reps, concurrency = (30, 3, 8) if args.quick else (100, 5, 8)
    n, reps = args.n or n, args.reps or reps
    arms = []
    for spec in args.arm:
        label, _, directory = spec.partition("=")
        arms.append((label, Path(directory).resolve()))
    machine = machine_details()
    log(f"code arms {[a for a, _ in arms]}: n={n} reps={reps}; loadavg {machine['loadavg']}")
    started = time.monotonic()
    measured = asyncio.run(run_arms(arms, n, reps, concurrency, sla=args.sla))
    text = print_table(
        [
            "lever",
            "variant",
            "runs/s",
            "server CPU ms/run",
            "worker+API CPU ms/run",
            "events / WFTs",
        ],
        rows("code", measured),
    )
    path = write_report(
        {
            "kind": "code_ab",
            "arms": {label: str(root) for label, root in arms},
            "parameters": {"n": n, "reps": reps, "concurrency": concurrency, "sla": args.sla},
            "machine": machine,
            "loadavg_end": loadavg(),
            "seconds": round(time.monotonic() - started, 1),
            "experiments": {"code": [arm_dict(a) for a in measured]},
            "table": text,
        }
    )
    print(  # noqa: T201 - the benchmark's output
        f"\ncode arms in {time.monotonic() - started:.0f}s; loadavg {machine['loadavg']} → "
        f"{loadavg()}; figures in {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
