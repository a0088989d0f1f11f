"""The FastAPI application: `create_app(settings) -> FastAPI`.

The lifespan opens the database (creating the tables) and the Temporal gateways (`app.temporal`),
and runs the outbox relay (`desk.outbox`) as a background task: what events still owe Temporal is
started as soon as it is reachable. Every API replica runs one; on PostgreSQL they share the
outbox (row locks with SKIP LOCKED), on SQLite run one API per database.
Temporal being down at start is tolerated: the API serves what needs only the database, accepts
events (queued), `/health` answers 503 naming temporal, and the gateway connects on a later call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app import api_reference, console  # console: the web console (issue 6)
from app.api.routes import (
    analytics,
    backtest,
    conversations,
    directory,
    events,
    health,
    runs,
    schedules,
    templates,
    workflows,
)
from app.body_limit import BodyLimit
from app.errors import install_error_handlers
from app.security_headers import SecurityHeaders
from app.temporal.gateway import TemporalGateway
from app.temporal.runs import RunsGateway
from definitions.limits import MAX_BODY_BYTES
from desk.ingestion import EventIngestor
from desk.outbox import OutboxDelivery
from store.db import create_all, make_engine
from store.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: Seconds the outbox relay gets to finish its round at shutdown.
RELAY_STOP_TIMEOUT = 10.0

DESCRIPTION = """
Durable customer-support automations on Temporal.

Admins store **workflow definitions** (one trigger, then condition and action steps); the help desk
posts **events**; every matching active definition starts a run that applies its actions to the
conversation. Every route except `/health` needs `Authorization: Bearer <api key>` (roles: admin,
integration, viewer). Errors always look like
`{"error": {"code": "...", "message": "...", "details": [{"loc": [...], "msg": "..."}]}}`.
"""

TAGS = [
    {
        "name": "workflows",
        "description": "Workflow definitions: CRUD, versions, duplicate, dry run",
    },
    {"name": "templates", "description": "Built-in templates: browse, preview, use"},
    {"name": "events", "description": "Events in from the help desk (role integration)"},
    {"name": "conversations", "description": "The desk mirror of conversations"},
    {"name": "directory", "description": "Teams and agents that actions route to and notify"},
    {"name": "schedules", "description": "Business hours: time zone, weekly hours, holidays"},
    {"name": "runs", "description": "Runs from Temporal: list, detail with trace, retry, cancel"},
    {"name": "analytics", "description": "Run trend, rates, durations, most triggered workflows"},
    {"name": "health", "description": "Liveness of the database and Temporal (no auth)"},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for `settings` (default: read from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        await run_in_threadpool(create_all, engine)
        gateway = TemporalGateway(settings)
        if not await gateway.connect():
            log.warning("starting without Temporal; will connect when it is reachable")
        app.state.settings = settings
        app.state.engine = engine
        app.state.gateway = gateway
        app.state.runs = RunsGateway(gateway)
        delivery = OutboxDelivery(engine, gateway)
        app.state.ingestor = EventIngestor(engine, gateway, delivery)
        relay = asyncio.create_task(delivery.run_relay(), name="outbox-relay")
        try:
            yield
        finally:
            delivery.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(relay, RELAY_STOP_TIMEOUT)  # cancels it when late
            await gateway.close()
            engine.dispose()

    app = FastAPI(
        title="supportflow",
        version="0.1.0",
        summary="The Workflows module of a customer-support system",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: app.api_reference, no CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)  # CSP, nosniff, no framing (app/security_headers.py)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    for module in (
        health,
        workflows,
        backtest,
        templates,
        events,
        conversations,
        directory,
        runs,
        analytics,
    ):
        app.include_router(module.router)
    api_reference.install(app)  # /docs, /redoc, /favicon.ico served offline (issue 18)
    app.include_router(schedules.router)
    console.install(app)  # console hook: pages, /console/static, session-cookie auth
    return app
