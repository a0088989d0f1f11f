"""Server cost: the Temporal server's CPU milliseconds per run and history events per run.

CPU comes from /proc/<pid>/stat of the dev-server process (utime + stime), read before and after
every throughput batch (throughput.py), so product, naive and floor are charged in the same run on
the same server. The idle cost of the pollers during a batch is included (it is paid per second,
so a faster variant pays less of it per run). The CPU of our own processes (worker, API,
baselines worker, driver) is reported beside it.

History events per run come from `WorkflowHandle.fetch_history()` of a sample of the batch's
runs; the number of workflow tasks (WorkflowTaskCompleted events) is reported too, since each
workflow task is a round trip worker <-> server.
"""

from __future__ import annotations

import contextlib
import statistics
from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError

from bench.harness import Figure, Stack
from bench.throughput import Batch

#: The processes that do a variant's own work (besides the server).
OWN_PROCESSES = {
    "product": ("worker", "api"),
    "naive": ("baselines",),
    "naive-local": ("baselines",),
    "naive-batched": ("baselines",),
    "floor": ("baselines",),
}


def cpu_figures(batches: list[Batch]) -> dict[str, Figure]:
    """Per variant: server CPU ms/run, and own-process CPU ms/run, one value per batch."""
    figures: dict[str, Figure] = {}
    for batch in batches:
        server = figures.setdefault(
            f"server_cpu {batch.variant}", Figure(f"server CPU {batch.variant}", "ms/run")
        )
        server.values.append(batch.cpu_ms.get("server", float("nan")) / batch.runs)
        own = figures.setdefault(
            f"own_cpu {batch.variant}", Figure(f"worker+API CPU {batch.variant}", "ms/run")
        )
        own.values.append(
            sum(batch.cpu_ms.get(p, 0.0) for p in OWN_PROCESSES.get(batch.variant, ())) / batch.runs
        )
    return figures


async def history_stats(stack: Stack, run_ids: list[str], sample: int = 5) -> dict[str, Any]:
    """History events and workflow tasks per run over a sample of runs, with the event types of
    the first one (to show where the events come from)."""
    assert stack.client is not None
    counts: list[int] = []
    tasks: list[int] = []
    types: Counter[str] = Counter()
    for index, run_id in enumerate(run_ids[:sample]):
        history = await stack.client.get_workflow_handle(run_id).fetch_history()
        counts.append(len(history.events))
        tasks.append(
            sum(
                1
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            )
        )
        if index == 0:
            types.update(
                EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events
            )
    # The product also feeds each conversation's SLA tracker (signal-with-start of
    # `sla:{conversation}`): its history is part of what the server stores per event.
    sla_counts: list[int] = []
    for run_id in run_ids[:sample]:
        if not run_id.startswith("run:"):
            continue
        description = await stack.client.get_workflow_handle(run_id).describe()
        conversation = description.search_attributes.get("ConversationId")
        if not conversation:
            continue
        with contextlib.suppress(RPCError):
            sla = await stack.client.get_workflow_handle(f"sla:{conversation[0]}").fetch_history()
            sla_counts.append(len(sla.events))
    return {
        "sla_tracker_events_per_event": statistics.median(sla_counts) if sla_counts else 0,
        "events_per_run": statistics.median(counts) if counts else float("nan"),
        "workflow_tasks_per_run": statistics.median(tasks) if tasks else float("nan"),
        "sampled_runs": len(counts),
        "event_types": dict(types),
    }
