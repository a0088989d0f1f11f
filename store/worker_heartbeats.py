"""Worker heartbeats: each worker process rewrites its row every `HEARTBEAT_EVERY`, with the
number of workflow tasks that failed in it (worker/task_failures.py); `GET /health` sums the rows
of the workers seen in the last `LIVE_WINDOW`.

A failed workflow task keeps its run open until a fixed worker picks it up, so the count is the
alert-worthy signal (README §Operating it). Rows of workers gone for longer than `LIVE_WINDOW` no
longer count (their runs are retried by the live workers, which count again if they fail too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from store.models import WorkerHeartbeatRow, utcnow

HEARTBEAT_EVERY = timedelta(seconds=30)
LIVE_WINDOW = timedelta(minutes=2)


def beat(
    engine: Engine,
    worker_id: str,
    *,
    started_at: datetime,
    failures: int,
    last_failure: str | None,
) -> None:
    """Write this worker's row (insert or replace)."""
    with Session(engine) as session:
        row = session.get(WorkerHeartbeatRow, worker_id) or WorkerHeartbeatRow(
            worker_id=worker_id, started_at=started_at
        )
        row.seen_at = utcnow()
        row.workflow_task_failures = failures
        row.last_failure = last_failure[:2000] if last_failure else None
        session.add(row)
        session.commit()


@dataclass(frozen=True)
class WorkersHealth:
    live_workers: int
    workflow_task_failures: int
    last_failure: str | None


def workers_health(engine: Engine, *, now: datetime | None = None) -> WorkersHealth:
    """The workers seen in the last `LIVE_WINDOW` and their failed workflow tasks."""
    since = (now or utcnow()) - LIVE_WINDOW
    with Session(engine) as session:
        rows = session.exec(
            select(WorkerHeartbeatRow)
            .where(col(WorkerHeartbeatRow.seen_at) >= since)
            .order_by(col(WorkerHeartbeatRow.seen_at).desc())
        ).all()
    last = next((r.last_failure for r in rows if r.last_failure), None)
    return WorkersHealth(
        live_workers=len(rows),
        workflow_task_failures=sum(r.workflow_task_failures for r in rows),
        last_failure=last,
    )
