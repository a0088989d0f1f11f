"""GET /health: no auth; 200 when the database and Temporal answer, 503 naming what does not;
with the workers' failed workflow tasks (store.worker_heartbeats), the alert that a bug holds runs
open."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from app.api.deps import EngineDep, GatewayDep
from app.schemas import Health
from store.worker_heartbeats import WorkersHealth, workers_health

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

DATABASE_TIMEOUT = 3.0  # seconds


def _database_ok(engine: Engine) -> WorkersHealth | None:
    """The workers' heartbeats when the database answers, else None."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return workers_health(engine)
    except Exception:
        log.warning("database health check failed", exc_info=True)
        return None


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database or Temporal is unreachable"}},
)
async def health(*, engine: EngineDep, gateway: GatewayDep) -> JSONResponse:
    """Whether the database and Temporal are reachable (no API key needed), and the workers'
    failed workflow tasks (from their heartbeat rows)."""
    workers: WorkersHealth | None
    try:
        workers = await asyncio.wait_for(
            run_in_threadpool(_database_ok, engine), timeout=DATABASE_TIMEOUT
        )
    except TimeoutError:
        workers = None
    database = workers is not None
    temporal = await gateway.ping()
    body = Health(
        status="ok" if database and temporal else "unavailable",
        database="ok" if database else "unavailable",
        temporal="ok" if temporal else "unavailable",
        live_workers=workers.live_workers if workers else None,
        workflow_task_failures=workers.workflow_task_failures if workers else None,
        last_workflow_task_failure=workers.last_failure if workers else None,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)
