"""The worker process: polls the supportflow task queue, runs the workflows and the activities.

`run_worker(settings)` is what `supportflow worker` (and `supportflow dev`) call; `build_worker`
is the same worker without the process around it, for tests that bring their own client,
database and task queue.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import py_compile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.worker import Worker

from activities import build_activities
from store.db import make_engine
from store.migrate import upgrade_database
from store.settings import Settings
from temporal_edge import Client, connect
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
) -> Worker:
    """The supportflow worker on `task_queue` (default: `settings.task_queue`): every workflow
    (WorkflowRun, ConversationSla) and the activities built by `activities.build_activities`
    against `engine`. `activities` replaces them (tests wrap the real ones, e.g. to inject a
    transient failure). The client must use the pydantic data converter."""
    if activities is None:
        activities = build_activities(engine, settings, client)
    _write_workflow_bytecode()
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=list(activities),
        activity_executor=activity_executor
        or ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="supportflow-activity"),
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        max_concurrent_local_activities=MAX_CONCURRENT_LOCAL_ACTIVITIES,
        max_concurrent_workflow_tasks=MAX_CONCURRENT_WORKFLOW_TASKS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


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
            if own_engine:
                engine.dispose()
