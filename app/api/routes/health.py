"""GET /health: no auth; 200 when the database and Temporal answer, 503 naming what does not."""

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

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

DATABASE_TIMEOUT = 3.0  # seconds


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("database health check failed", exc_info=True)
        return False
    return True


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database or Temporal is unreachable"}},
)
async def health(*, engine: EngineDep, gateway: GatewayDep) -> JSONResponse:
    """Whether the database and Temporal are reachable (no API key needed)."""
    try:
        database = await asyncio.wait_for(
            run_in_threadpool(_database_ok, engine), timeout=DATABASE_TIMEOUT
        )
    except TimeoutError:
        database = False
    temporal = await gateway.ping()
    body = Health(
        status="ok" if database and temporal else "unavailable",
        database="ok" if database else "unavailable",
        temporal="ok" if temporal else "unavailable",
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)
