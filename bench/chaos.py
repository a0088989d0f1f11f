"""`make chaos`: the long fault run (issue 11). Two APIs and two workers on PostgreSQL and a
Temporal dev server on a file; 2,000 events sent (resent until answered 202) while each component
is killed with SIGKILL again and again; then every run is counted in Temporal and every effect
(one ticket per run) in the desk store.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python -m bench.chaos
    python -m bench.chaos --events 500 --kill-every 5     # shorter

Prints the figures and writes them to bench/out/chaos-<time>.json. Exit code 1 when anything
was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.fault_stack import FaultStack, message_events, ticket_definition

OUT_DIR = Path(__file__).resolve().parent / "out"


def fresh_schema(base: str) -> tuple[str, str]:
    url = make_url(base)
    schema = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    ), schema


def drop_schema(base: str, schema: str) -> None:
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


async def chaos(stack: FaultStack, events: int, kill_every: float) -> dict[str, Any]:
    definition_id = await stack.create_definition(ticket_definition("chaos"))
    batch = message_events("chaos", events, conversations=200)
    kills: Counter[str] = Counter()
    done = asyncio.Event()

    async def monkey() -> None:
        victims = ["worker-0", "api-0", "temporal", "worker-1"]
        if len(stack.api_ports) > 1:
            victims.append("api-1")
        turn = 0
        while not done.is_set():
            await asyncio.sleep(kill_every)
            if done.is_set():
                return
            victim = victims[turn % len(victims)]
            turn += 1
            kills[victim] += 1
            if victim == "temporal":
                await stack.kill_temporal()
                await asyncio.sleep(3)
                await stack.restart_temporal()
            else:
                stack.kill(victim)
                await asyncio.sleep(2)
                kind, index = victim.split("-")
                if kind == "api":
                    stack.spawn_api(int(index))
                    await stack.wait_api(int(index))
                else:
                    stack.spawn_worker(int(index))

    started = time.monotonic()
    monkey_task = asyncio.create_task(monkey())
    answers = await stack.send(batch, concurrency=16, deadline=900)
    accepted_in = time.monotonic() - started
    done.set()
    await monkey_task
    ids = [e["id"] for e in batch]
    tally = await stack.settle(definition_id, ids, "chaos-", "chaos-c", timeout=600)
    return {
        "events": events,
        "accepted": len(answers),
        "answered_queued": sum(1 for a in answers if a["queued"]),
        "runs_in_temporal": tally.runs,
        "runs_completed": tally.completed,
        "effects_lost": tally.lost,
        "effects_duplicated": tally.duplicated,
        "kills": dict(kills),
        "seconds_to_accept_all": round(accepted_in, 1),
        "seconds_to_complete_all": round(time.monotonic() - started, 1),
        "apis": len(stack.api_ports),
        "workers": stack.worker_count,
        "database": make_url(stack.db_url).get_backend_name(),
    }


async def outage(stack: FaultStack, events: int = 200, down_s: float = 30) -> dict[str, Any]:
    """SPEC §3.1: events accepted while Temporal is down start within 10 s of its return."""
    definition_id = await stack.create_definition(ticket_definition("outage"))
    batch = message_events("outage", events)
    await stack.kill_temporal()
    down_at = time.monotonic()
    answers = await stack.send(batch, concurrency=4)
    await asyncio.sleep(max(0.0, down_s - (time.monotonic() - down_at)))
    await stack.restart_temporal()
    back_at = time.monotonic()
    while await stack.count_runs(definition_id, "outage-") < events:
        await asyncio.sleep(0.25)
    started_in = time.monotonic() - back_at
    tally = await stack.settle(definition_id, [e["id"] for e in batch], "outage-", "outage-c")
    return {
        "events": events,
        "temporal_down_s": down_s,
        "answered_queued": sum(1 for a in answers if a["queued"]),
        "seconds_from_restart_to_all_started": round(started_in, 1),
        "goal_within_10s": started_in <= 10,
        "effects_lost": tally.lost,
        "effects_duplicated": tally.duplicated,
    }


async def main_async(args: argparse.Namespace) -> int:
    base = os.environ.get("DATABASE_URL", "")
    schema = None
    with tempfile.TemporaryDirectory(prefix="supportflow-chaos-") as tmp:
        if base.startswith("postgresql"):
            db_url, schema = fresh_schema(base)
        else:
            sys.stderr.write("DATABASE_URL is not PostgreSQL: running on SQLite with one API\n")
            db_url = f"sqlite:///{Path(tmp) / 'supportflow.db'}"
        apis = 2 if schema else 1
        try:
            async with FaultStack(Path(tmp), db_url, apis=apis, workers=2) as stack:
                figures = await chaos(stack, args.events, args.kill_every)
                figures["outage"] = await outage(stack)
        finally:
            if schema:
                drop_schema(base, schema)
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"chaos-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(figures, indent=2))
    sys.stdout.write(f"{json.dumps(figures, indent=2)}\nwritten to {path}\n")
    ok = (
        figures["effects_lost"] == 0
        and figures["outage"]["effects_lost"] == figures["outage"]["effects_duplicated"] == 0
        and figures["effects_duplicated"] == 0
        and figures["runs_in_temporal"] == args.events
    )
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--kill-every", type=float, default=8.0, help="seconds between kills")
    sys.exit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
