"""Issue 17: runs that live for weeks survive deploys, outages and bugs (README §Operating it).

Real components only: the time-skipping and dev servers, the real activities and database, a real
HTTP receiver on 127.0.0.1, and worker processes killed by PID.

(a) an input written by a newer API (unknown fields everywhere) completes on today's worker;
(b) the help desk's webhook is unreachable for 12 minutes: the delivery retries by time and the run
    completes once it is back (before issue 17: 10 attempts, the run failed after ~5 minutes);
(c) a bug in workflow code: the run stays open with a failed workflow task (counted in /health's
    source, the worker heartbeats), and completes once the buggy worker is killed and a fixed
    one started.

And run lists and counts leave out the segments of a run that continued as new.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import DeskActivities
from definitions.models import WorkflowDefinitionIn
from definitions.runs import WORKFLOW_RUN, RunResult, run_workflow_id
from definitions.wire import WIRE
from store.settings import Settings
from store.worker_heartbeats import workers_health
from temporal_edge import quote, runs_scope
from tests.buggy_worker import BUG
from tests.record_histories import VIP_STEPS, make_event, make_input, mirror, seed_directory
from tests.temporal_fixtures import assert_eventually
from tests.test_sla_outage_processes import ROOT, WorkerProcess
from tests.test_workflow_run import real_activities, running_worker

RESULT_TIMEOUT = 60  # seconds


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_directory(engine)
    return engine


@pytest.fixture
def local_settings(db_url: str, task_queue: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db_url, task_queue=task_queue)


def with_unknown_fields(run_input: dict[str, Any]) -> dict[str, Any]:
    """What a newer API might send: a new field at every level a worker decodes."""
    run_input["priority_hint"] = "high"
    run_input["definition"]["labels"] = ["new"]
    run_input["definition"]["trigger"]["since_version"] = 9
    for step in run_input["definition"]["steps"]:
        step["summary"] = "shown in a newer console"
        if "params" in step:
            step["params"]["tone"] = "friendly"
    run_input["event"]["origin"] = "desk-v2"
    run_input["event"]["conversation"]["sla_tier"] = "gold"
    return run_input


# ---------------------------------------------------------------- the save path stays strict


def test_unknown_fields_are_refused_when_saved_and_dropped_on_the_wire() -> None:
    body = with_unknown_fields(make_input(VIP_STEPS).model_dump(mode="json"))["definition"]
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        WorkflowDefinitionIn.model_validate(body)
    read = WorkflowDefinitionIn.model_validate(body, context=WIRE)
    assert [s.id for s in read.steps] == ["is-customer", "route", "greet"]


def test_catalogue_checks_are_save_time_only() -> None:
    body = make_input(VIP_STEPS).model_dump(mode="json")["definition"]
    body["steps"][0]["field"] = "customer.retired_field"  # known when saved, gone today
    with pytest.raises(ValueError, match="retired_field"):
        WorkflowDefinitionIn.model_validate(body)
    read = WorkflowDefinitionIn.model_validate(body, context=WIRE)
    assert read.steps[0].condition.field == "customer.retired_field"  # type: ignore[union-attr]


# ---------------------------------------------------------------- (a) a newer API


async def test_a_run_input_from_a_newer_api_completes(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    run_input = with_unknown_fields(make_input(VIP_STEPS, event).model_dump(mode="json"))
    async with running_worker(time_env.client, db, local_settings):
        handle = await time_env.client.start_workflow(
            WORKFLOW_RUN,
            run_input,
            id=f"newer-{uuid.uuid4()}",
            task_queue=local_settings.task_queue,
            result_type=RunResult,
        )
        result = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert result.outcome == "completed"
    assert [s.status for s in result.steps] == ["passed", "completed", "completed"]


# ---------------------------------------------------------------- (b) the help desk is down


class HelpDesk:
    """The help desk's webhook endpoint on a fixed port: down (nothing listens) until `up()`."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.received: list[bytes] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def up(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def help_desk() -> Iterator[HelpDesk]:
    desk = HelpDesk()
    try:
        yield desk
    finally:
        desk.down()


async def test_a_twelve_minute_webhook_outage_fails_no_run(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    with help_desk() as desk:
        hooked = local_settings.model_copy(
            update={"webhook_url": desk.url, "webhook_secret": "s3cret"}
        )
        activities = real_activities(
            db, hooked, time_env.client, desk=DeskActivities(db, deliver_webhooks=True)
        )
        async with running_worker(time_env.client, db, hooked, activities):
            handle = await time_env.client.start_workflow(
                WORKFLOW_RUN,
                make_input(VIP_STEPS, event),
                id=f"{run_workflow_id('def-test', event.id)}:{uuid.uuid4().hex[:6]}",
                task_queue=hooked.task_queue,
                result_type=RunResult,
            )
            began = await time_env.get_current_time()
            await time_env.sleep(timedelta(minutes=12))  # the server's clock; retries meanwhile
            assert await time_env.get_current_time() - began >= timedelta(minutes=12)
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            assert desk.received == []
            desk.up()
            try:
                result = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
            except WorkflowFailureError as failure:  # pragma: no cover - the regression
                raise AssertionError(f"the outage failed the run: {failure.cause}") from failure
    assert result.outcome == "completed"
    assert len(desk.received) == 2  # route and auto_reply, each delivered once it was back
    assert all(s.note and "delivered to the webhook" in s.note for s in result.steps[1:])


# ---------------------------------------------------------------- (c) a bug, fixed forward


@pytest.fixture
def worker_env(
    db_url: str, task_queue: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "SUPPORTFLOW_TASK_QUEUE": task_queue,
        "SUPPORTFLOW_DATA_DIR": str(tmp_path),
    }


async def test_a_bug_in_a_step_keeps_the_run_open_until_a_fixed_worker_runs(
    dev_env: WorkflowEnvironment,
    db: Engine,
    task_queue: str,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    event = make_event()
    mirror(db, event)
    buggy = WorkerProcess(worker_env, tmp_path / "buggy.log", module="tests.buggy_worker")
    fixed = WorkerProcess(worker_env, tmp_path / "fixed.log")
    try:
        await buggy.start()
        handle = await dev_env.client.start_workflow(
            WORKFLOW_RUN,
            make_input(VIP_STEPS, event),
            id=f"{run_workflow_id('def-test', event.id)}:{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
            result_type=RunResult,
        )

        async def task_failed_and_counted() -> None:
            history = await handle.fetch_history()
            failed = [
                e
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            assert failed
            assert BUG in failed[0].workflow_task_failed_event_attributes.failure.message
            health = workers_health(db)  # what GET /health reports
            assert health.live_workers == 1
            assert health.workflow_task_failures >= 1
            assert health.last_failure is not None and handle.id in health.last_failure

        await assert_eventually(task_failed_and_counted, timeout=30)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

        buggy.kill()  # by PID
        await fixed.start()
        result = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    finally:
        buggy.kill()
        fixed.kill()
    assert result.outcome == "completed"
    assert [s.status for s in result.steps] == ["passed", "completed", "completed"]
    assert "Traceback" in (tmp_path / "buggy.log").read_text()  # the SDK logged the task failure


# ---------------------------------------------------------------- continue-as-new segments


@workflow.defn(name=WORKFLOW_RUN, sandboxed=False)
class SegmentedRun:
    """A run that continues as new once: two executions, one run."""

    @workflow.run
    async def run(self, segment: int) -> int:
        if segment == 0:
            workflow.continue_as_new(1)
        return segment


async def test_run_lists_and_counts_leave_continued_as_new_segments_out(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    async with Worker(client, task_queue=task_queue, workflows=[SegmentedRun]):
        handle = await client.start_workflow(
            WORKFLOW_RUN, 0, id=f"segmented-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await handle.result() == 1

    async def counted() -> None:
        every = await client.count_workflows(f"TaskQueue = {quote(task_queue)}")
        assert every.count == 2  # both segments are executions
        runs = await client.count_workflows(runs_scope(task_queue))
        assert runs.count == 1
        listed = [w async for w in client.list_workflows(runs_scope(task_queue))]
        assert [w.status for w in listed] == [WorkflowExecutionStatus.COMPLETED]

    await assert_eventually(counted)
