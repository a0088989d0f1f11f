"""Backtest cost: 10,000 recorded events × a 5-step definition (goal: under 5 s).

    python -m bench.backtest_bench            # 5 repetitions
    python -m bench.backtest_bench --quick    # 3 repetitions

What `POST /workflows/{id}/backtest` does after authentication, on a SQLite database in a
temporary directory: read the window's events in arrival order (`store.events_repo.
recorded_window`: the query and the lenient parse of each payload) and walk them
(`definitions.backtest.backtest`). The events are written as ingestion writes them (the `events`
row with the event's JSON payload and its arrival time): 10,000 over 7 days on 2,000
conversations — customer and agent messages, new conversations, status changes. The definition
has 5 top-level steps (a condition, a notify, a wait_for decided by the later events, a branch
with an escalate or an auto-reply, a tag), so most events walk every step.

Reported: wall time of the read, the walk and both (median, min-max), the peak Python memory of
one backtest (tracemalloc, in a separate pass: tracing slows the code down) and the process's
maximum resident set size.

`run_backtest_bench(quick)` is the plug-in entry point of `python -m bench`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from definitions.backtest import backtest
from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from store import events_repo
from store.db import create_all, make_engine
from store.models import EventRow

EVENTS = 10_000
CONVERSATIONS = 2_000
GOAL_SECONDS = 5.0
WINDOW_END = datetime(2026, 11, 30, tzinfo=UTC)
WINDOW = timedelta(days=7)

DEFINITION: dict[str, Any] = {
    "name": "Backtest bench: refunds",
    "trigger": {"type": "new_message", "sender_types": ["customer"]},
    "steps": [
        {"id": "vip", "type": "condition", "field": "customer.segment", "operator": "in",
         "value": ["vip", "gold"], "on_false": "skip_next"},
        {"id": "tell", "type": "action", "action": "notify",
         "params": {"team": "vip", "message": "{{customer.name}}: {{message.content}}"}},
        {"id": "answer", "type": "wait_for", "event": "agent_message", "timeout": "4h",
         "on_event": "stop", "on_timeout": "continue"},
        {"id": "urgent", "type": "branch",
         "if": {"field": "message.content", "operator": "contains_any_word",
                "value": ["refund", "broken"]},
         "then": [{"id": "escalate", "type": "action", "action": "escalate",
                   "params": {"reason": "No answer in 4h: {{message.content}}"}}],
         "else": [{"id": "sorry", "type": "action", "action": "auto_reply",
                   "params": {"message": "Hi {{customer.name | default: \"there\"}}, on it."}}]},
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["waited-4h"]}},
    ],
}  # fmt: skip

WORDS = ("refund", "order", "broken", "invoice", "hello", "thanks", "late", "help")


def _event(n: int, rng: random.Random, at: datetime) -> dict[str, Any]:
    conversation = rng.randrange(CONVERSATIONS)
    kind = rng.random()
    raw: dict[str, Any] = {
        "id": f"evt-{n}",
        "occurred_at": at.isoformat(),
        "conversation": {"id": f"c-{conversation}", "channel": "email", "status": "open"},
        "customer": {
            "id": f"u-{conversation}",
            "name": f"Customer {conversation}",
            "segment": rng.choice(("vip", "regular", "gold", "regular")),
        },
    }
    if kind < 0.5 or kind >= 0.8:
        sender = "customer" if kind < 0.5 else "agent"
        raw["type"] = "message.created"
        content = " ".join(rng.choice(WORDS) for _ in range(8))
        raw["message"] = {"id": f"m-{n}", "sender_type": sender, "content": content}
        if sender == "customer":
            raw["message"]["sentiment"] = "neutral"
            raw["message"]["sentiment_score"] = 0.0
    elif kind < 0.65:
        raw["type"] = "conversation.created"
    else:
        raw["type"] = "conversation.status_changed"
        raw["from_status"], raw["to_status"] = "open", "pending"
    return Event.model_validate(raw).model_dump(mode="json")


def record(engine: Any) -> None:
    """10,000 events over the week before WINDOW_END, as ingestion stores them."""
    rng = random.Random(7)
    start = WINDOW_END - WINDOW
    step = WINDOW / EVENTS
    with Session(engine) as session:
        for n in range(EVENTS):
            at = start + step * n
            payload = _event(n, rng, at)
            session.add(
                EventRow(
                    id=payload["id"],
                    type=payload["type"],
                    conversation_id=payload["conversation"]["id"],
                    payload=payload,
                    received_at=at,
                )
            )
        session.commit()


def once(engine: Any, definition: WorkflowDefinitionIn) -> tuple[float, float, Any]:
    began = time.perf_counter()
    with Session(engine) as session:
        events, truncated = events_repo.recorded_window(
            session, WINDOW_END - WINDOW, WINDOW_END, EVENTS
        )
    read = time.perf_counter()
    report = backtest(
        definition,
        events,
        window_from=WINDOW_END - WINDOW,
        window_to=WINDOW_END,
        truncated=truncated,
    )
    return read - began, time.perf_counter() - read, report


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_backtest_bench(quick: bool = False) -> dict[str, Any]:
    """Record the events, time `reps` backtests, then one traced for memory."""
    reps = 3 if quick else 5
    definition = WorkflowDefinitionIn.model_validate(DEFINITION)
    with tempfile.TemporaryDirectory(prefix="backtest-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        create_all(engine)
        record(engine)
        once(engine, definition)  # warm-up: caches, first query plan
        reads, walks, totals = [], [], []
        for _ in range(reps):
            read, walk, report = once(engine, definition)
            reads.append(read)
            walks.append(walk)
            totals.append(read + walk)
        tracemalloc.start()
        once(engine, definition)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        engine.dispose()
    total = _stats(totals)
    return {
        "events": report.events_scanned,
        "matched": report.matched,
        "outcomes": report.outcomes.model_dump(),
        "actions": report.actions,
        "seconds_read": _stats(reads),
        "seconds_walk": _stats(walks),
        "seconds_total": total,
        "peak_python_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "goal_seconds": GOAL_SECONDS,
        "goal_met": total["median"] < GOAL_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 5")
    args = parser.parse_args()
    print(json.dumps(run_backtest_bench(args.quick), indent=2))  # noqa: T201 - the CLI's output


if __name__ == "__main__":
    main()
