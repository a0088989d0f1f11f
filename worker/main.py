"""The worker process: polls the supportflow task queue, runs the workflows and the activities.

`run_worker(settings)` is what `supportflow worker` (and `supportflow dev`) call; `build_worker`
is the same worker without the process around it, for tests that bring their own client,
database and task queue.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import os
import py_compile
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities import build_activities
from store.db import make_engine
from store.migrate import upgrade_database
from store.settings import Settings
from store.worker_heartbeats import HEARTBEAT_EVERY, beat
from temporal_edge import Client, TemporalUnavailable, connect, ensure_prune_schedule
from worker.task_failures import install as count_task_failures
from worker.workflows import WORKFLOWS

logger = logging.getLogger(__name__)

#: Concurrent activity executions (regular: webhook deliveries, event dispatch).
MAX_CONCURRENT_ACTIVITIES = 32
#: Concurrent local activities (conditions and actions, short database transactions).
MAX_CONCURRENT_LOCAL_ACTIVITIES = 32
#: Concurrent workflow tasks (cheap: the interpreter only decides what to call next).
MAX_CONCURRENT_WORKFLOW_TASKS = 64
#: Threads for synchronous activities; regular and local activities share them.
ACTIVITY_THREADS = MAX_CONCURRENT_ACTIVITIES + MAX_CONCURRENT_LOCAL_ACTIVITIES
#: How long in-flight activities get to finish when the worker stops.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def build_worker(
    client: Client,
    engine: Engine,
    settings: Settings,
    task_queue: str | None = None,
    *,
    activities: Sequence[Callable[..., Any]] | None = None,
    activity_executor: ThreadPoolExecutor | None = None,
    identity: str | None = None,
) -> Worker:
    """The supportflow worker on `task_queue` (default: `settings.task_queue`): every workflow
    (WorkflowRun, ConversationSla) and the activities built by `activities.build_activities`
    against `engine`. `activities` replaces them (tests wrap the real ones, e.g. to inject a
    transient failure). `identity` names the worker in histories (default: the client's). The
    client must use the pydantic data converter."""
    if activities is None:
        activities = build_activities(engine, settings, client)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(settings),
        activities=list(activities),
        activity_executor=activity_executor
        or ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="supportflow-activity"),
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        max_concurrent_local_activities=MAX_CONCURRENT_LOCAL_ACTIVITIES,
        max_concurrent_workflow_tasks=MAX_CONCURRENT_WORKFLOW_TASKS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        identity=identity,
    )


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """Workflows run without the SDK's sandbox unless `settings.workflow_sandbox`. The sandbox is
    a runtime check for non-deterministic calls, not a security boundary (definitions are data,
    never code), and it cost ~17 of the ~90 ms of worker CPU per run (bench/RESULTS.md): the
    test suite's workers and every replay (tests, `supportflow replay`) run in it instead."""
    if not settings.workflow_sandbox:
        return UnsandboxedWorkflowRunner()
    _write_workflow_bytecode()
    return SandboxedWorkflowRunner()


def _write_workflow_bytecode() -> None:
    """The sandbox re-imports each workflow's module for every run. Without its bytecode on disk
    (PYTHONDONTWRITEBYTECODE=1, or a fresh checkout) every run compiled it from source: about 40 %
    of the worker's Python CPU in a profile. Writing the .pyc once makes the re-imports load it."""
    for workflow_class in WORKFLOWS:
        source = inspect.getsourcefile(workflow_class)
        if source is None:
            continue
        try:
            py_compile.compile(source, cfile=importlib.util.cache_from_source(source), doraise=True)
        except (OSError, py_compile.PyCompileError) as exc:  # read-only install: just slower
            logger.info("could not write bytecode for %s: %s", source, exc)


async def run_worker(
    settings: Settings,
    *,
    client: Client | None = None,
    engine: Engine | None = None,
    task_queue: str | None = None,
) -> None:
    """Run the worker until cancelled (Ctrl-C / SIGTERM in `supportflow worker`, or the task
    being cancelled in `supportflow dev`), then shut down gracefully. Connects and creates the
    database engine (with the tables) unless given."""
    if client is None:
        client = await connect(settings.temporal_address, settings.temporal_namespace)
    own_engine = engine is None
    if engine is None:
        engine = make_engine(settings.database_url)
        upgrade_database(engine)  # never create_all: a table ahead of its revision breaks it
    queue = task_queue or settings.task_queue
    try:  # the retention schedule (idempotent; the worker runs its prunes)
        await ensure_prune_schedule(client, queue)
    except TemporalUnavailable as exc:
        logger.warning("could not create the event-retention schedule: %s", exc)
    failures = count_task_failures()
    heartbeat = asyncio.create_task(_heartbeat(engine))
    with ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="supportflow-activity") as pool:
        worker = build_worker(client, engine, settings, queue, activity_executor=pool)
        logger.info(
            "worker polling task queue %r on %s (namespace %s)",
            queue,
            settings.temporal_address,
            settings.temporal_namespace,
        )
        try:
            await worker.run()
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            if failures.count:
                logger.warning("%d workflow task(s) failed in this worker", failures.count)
            if own_engine:
                engine.dispose()


#: How often the heartbeat loop looks for new workflow-task failures (written at once).
_FAILURE_CHECK = 1.0  # seconds


async def _heartbeat(engine: Engine) -> None:
    """Write this worker's heartbeat row (`store.worker_heartbeats`) every `HEARTBEAT_EVERY`, and
    at once when a workflow task failed, so `GET /health` shows it within a second or so."""
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    started_at = datetime.now(UTC)
    counter = count_task_failures()
    written: int | None = None
    last_write = 0.0
    loop = asyncio.get_running_loop()
    while True:
        count = counter.count
        if count != written or loop.time() - last_write >= HEARTBEAT_EVERY.total_seconds():
            if count != written and count:
                logger.error(
                    "workflow task failures in this worker: %d (latest: %s); the runs stay open "
                    "until a fixed worker picks them up",
                    count,
                    counter.last,
                )
            try:
                await asyncio.to_thread(
                    beat,
                    engine,
                    worker_id,
                    started_at=started_at,
                    failures=count,
                    last_failure=counter.last,
                )
                written, last_write = count, loop.time()
            except Exception:  # the database may be down: the worker goes on, beats later
                logger.warning("could not write the worker heartbeat", exc_info=True)
                last_write = loop.time()
        await asyncio.sleep(_FAILURE_CHECK)
