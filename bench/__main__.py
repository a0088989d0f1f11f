"""`python -m bench --quick|--full`: start the embedded stack, measure, print the table, write JSON.

    python -m bench --quick          # `make bench`: 3 repetitions, small batches, < 3 minutes
    python -m bench --full           # 5 repetitions, larger batches (the run in RESULTS.md)
    python -m bench --quick --only throughput,latency
    python -m bench levers [--quick] # the lever experiments (see bench/levers.py)

Every figure is measured side by side in the same run on one Temporal dev server, repeated, and
reported as median with min-max; the goals of issue 7 are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.harness import (
    Figure,
    Stack,
    StackOptions,
    fmt,
    loadavg,
    log,
    machine_details,
    module_has,
    print_table,
    product_available,
    ratio_figure,
    write_report,
)


@dataclass(frozen=True)
class Mode:
    name: str
    reps: int
    throughput_runs: int
    concurrency: int
    latency_events: int
    matching_events: int
    latency_variants: tuple[str, ...]


QUICK = Mode("quick", 3, 20, 8, 20, 10, ("floor", "product"))
#: Issue 13: at least 5 repetitions of at least 500 runs each. Matching batches of 400 events:
#: at 40 (about a second each once ingestion got faster) the ratio's spread was 0.56–1.42.
FULL = Mode("full", 5, 500, 8, 40, 400, ("floor", "naive", "product"))

PLUGINS = (
    ("sla", "bench.sla_bench", "run_sla_bench"),
    ("waits", "bench.waits_bench", "run_waits_bench"),
    ("analytics", "bench.analytics_bench", "run_analytics_bench"),
    ("backtest", "bench.backtest_bench", "run_backtest_bench"),
)
SECTIONS = ("throughput", "latency", "matching", "plugins")


# ---------------------------------------------------------------- the run


async def run(
    mode: Mode, sections: set[str], *, with_product: bool = True, with_plugins: bool = False
) -> dict[str, Any]:
    from bench.latency import measure_latency
    from bench.matching import measure_matching
    from bench.server_cost import cpu_figures, history_stats
    from bench.throughput import (
        THROUGHPUT_DEFINITION,
        create_definition,
        measure_throughput,
        warm_up,
    )

    report: dict[str, Any] = {"figures": {}, "history": {}, "plugins": {}, "notes": []}
    figures: dict[str, Figure] = report["figures"]
    product = with_product and product_available()
    if not product:
        report["notes"].append("product (worker/app/store.keys) not importable: baselines only")
        log("product parts missing: measuring the baselines only")
    if sections & {"throughput", "latency", "matching"}:
        async with Stack(StackOptions(product=product)) as stack:
            variants: tuple[str, ...] = (
                ("floor", "naive", "product") if product else ("floor", "naive")
            )
            if product:
                await create_definition(stack, THROUGHPUT_DEFINITION)
            log("warming up")
            await warm_up(stack, variants)
            if "throughput" in sections:
                result = await measure_throughput(
                    stack,
                    n=mode.throughput_runs,
                    reps=mode.reps,
                    concurrency=mode.concurrency,
                    variants=variants,
                )
                for variant, figure in result.figures.items():
                    figures[f"throughput {variant}"] = figure
                if product:
                    figures["product/naive"] = ratio_figure(
                        "product/naive", result.figures["product"], result.figures["naive"]
                    )
                    figures["product/floor"] = ratio_figure(
                        "product/floor", result.figures["product"], result.figures["floor"]
                    )
                for key, figure in cpu_figures(result.batches).items():
                    figures[key] = figure
                for variant in variants:
                    last = [b for b in result.batches if b.variant == variant][-1]
                    report["history"][variant] = await history_stats(stack, last.run_ids)
            if "latency" in sections:
                latency_variants = tuple(
                    v for v in mode.latency_variants if product or v != "product"
                )
                lat = await measure_latency(
                    stack, count=mode.latency_events, reps=mode.reps, variants=latency_variants
                )
                for key, figure in lat.items():
                    figures[f"latency {key}"] = figure
                if product:
                    figures["latency p50 product-floor"] = Figure(
                        "p50 product − floor",
                        "ms",
                        [
                            a - b
                            for a, b in zip(
                                lat["product p50"].values, lat["floor p50"].values, strict=False
                            )
                        ],
                    )
            if "matching" in sections and product:
                match = await measure_matching(
                    stack, n=mode.matching_events, reps=mode.reps, concurrency=mode.concurrency
                )
                for key, figure in match.items():
                    figures[f"matching {key}"] = figure
            report["errors"] = dict(stack.errors)
            failing = stack.count_in_log("worker", "Failing workflow task")
            if failing:
                report["errors"]["worker: failed workflow tasks (see worker log)"] = failing
    if "plugins" in sections and not (mode.name == "quick" and not with_plugins):
        for name, module, function in PLUGINS:
            if not module_has(module, function):
                continue
            log(f"plug-in {module}.{function}(quick={mode.name == 'quick'})")
            try:
                fn = getattr(importlib.import_module(module), function)
                outcome = fn(mode.name == "quick")
                if inspect.isawaitable(outcome):
                    outcome = await outcome
                report["plugins"][name] = outcome
            except Exception as error:  # a plug-in's failure must not hide our figures
                report["plugins"][name] = {"error": repr(error)}
                log(f"plug-in {name} failed: {error!r}")
    return report


# ---------------------------------------------------------------- the table


def _row(label: str, figure: Figure | None, goal: str = "", ok: bool | None = None) -> list[str]:
    if figure is None or not figure.values:
        return [label, "-", "-", "", goal, ""]
    spread = f"{fmt(figure.low)}–{fmt(figure.high)}" if len(figure.values) > 1 else ""
    verdict = "" if ok is None else ("ok" if ok else "MISS")
    return [label, fmt(figure.median), spread, figure.unit, goal, verdict]


def table(report: dict[str, Any]) -> str:
    f: dict[str, Figure] = report["figures"]
    rows: list[list[str]] = []

    def add(label: str, key: str, goal: str = "", check: Any = None) -> None:
        figure = f.get(key)
        if figure is None:
            return
        ok = None if check is None or not figure.values else bool(check(figure.median))
        rows.append(_row(label, figure, goal, ok))

    add("throughput: product (POST /events → run)", "throughput product")
    add("throughput: naive (3 regular activities)", "throughput naive")
    add("throughput: floor (empty workflow)", "throughput floor")
    add("  product / naive", "product/naive", "≥ 1.5×", lambda v: v >= 1.5)
    add("  product / floor", "product/floor", "≥ 0.6×", lambda v: v >= 0.6)
    add("latency @2/s: product p50 (→ reply in desk)", "latency product p50")
    add("latency @2/s: product p99", "latency product p99")
    add("latency @2/s: naive p50", "latency naive p50")
    add("latency @2/s: naive p99", "latency naive p99")
    add("latency @2/s: floor p50 (start → complete)", "latency floor p50")
    add("latency @2/s: floor p99", "latency floor p99")
    add("  p50 product − floor", "latency p50 product-floor", "≤ 30 ms", lambda v: v <= 30)
    add("matching: POST /events, 1 definition", "matching one")
    add("matching: POST /events, 1,000 definitions", "matching many")
    add("  1,000 / 1", "matching ratio", "≥ 0.9×", lambda v: v >= 0.9)
    add("  (1 definition, before the 999 existed)", "matching reference")
    for variant in ("product", "naive", "floor"):
        add(f"server CPU per run: {variant}", f"server_cpu {variant}")
    for variant in ("product", "naive", "floor"):
        add(f"worker+API CPU per run: {variant}", f"own_cpu {variant}")
    for variant, stats in report.get("history", {}).items():
        rows.append(
            [
                f"history events per run: {variant}",
                fmt(stats["events_per_run"], 0),
                "",
                f"({fmt(stats['workflow_tasks_per_run'], 0)} workflow tasks)",
                "",
                "",
            ]
        )
        sla = stats.get("sla_tracker_events_per_event") or 0
        if sla:
            rows.append(
                [
                    f"  + SLA tracker history per event: {variant}",
                    fmt(sla, 0),
                    "",
                    "(ConversationSla, signal-with-start)",
                    "",
                    "",
                ]
            )
    for name, count in report.get("errors", {}).items():
        rows.append([f"errors retried: {name}", str(count), "", "", "0", "MISS"])
    for name, outcome in report.get("plugins", {}).items():
        for key, value in _flatten(outcome):
            rows.append([f"{name}: {key}", value, "", "", "", ""])
    return print_table(["figure", "median", "min–max", "unit", "goal", ""], rows)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for key, item in value.items():
            out += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, float):
        return [(prefix, fmt(value))]
    if isinstance(value, list) and len(value) > 6:
        return [(prefix, f"[{len(value)} values]")]
    return [(prefix, str(value))]


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "levers":
        from bench.levers import main as levers_main

        return levers_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="3 repetitions, small N (default)")
    group.add_argument("--full", action="store_true", help="5 repetitions, larger N")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections among {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--with-plugins",
        action="store_true",
        help="also run the SLA/analytics plug-ins in quick mode (always in full mode)",
    )
    parser.add_argument(
        "--baselines-only",
        action="store_true",
        help="measure the floor and the naive baseline only",
    )
    args = parser.parse_args(argv)
    mode = FULL if args.full else QUICK
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    machine = machine_details()
    log(
        f"mode {mode.name}; {machine['cpu_model']} × {machine['cores']}, "
        f"loadavg {machine['loadavg']}"
    )
    started = time.monotonic()
    report = asyncio.run(
        run(
            mode,
            sections,
            with_product=not args.baselines_only,
            with_plugins=args.with_plugins,
        )
    )
    elapsed = time.monotonic() - started
    text = table(report)
    out = {
        "mode": mode.name,
        "parameters": mode.__dict__,
        "machine": machine,
        "loadavg_end": loadavg(),
        "seconds": round(elapsed, 1),
        "figures": {k: v.as_dict() for k, v in report["figures"].items()},
        "history": report["history"],
        "plugins": report["plugins"],
        "notes": report["notes"],
        "errors": report.get("errors", {}),
        "table": text,
    }
    path = write_report(out)
    summary = (
        f"\n{mode.name} run in {elapsed:.0f}s; loadavg {machine['loadavg']} → "
        f"{out['loadavg_end']}; figures in {path}"
    )
    print(summary)  # noqa: T201 - the benchmark's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
