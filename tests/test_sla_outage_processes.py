"""Issue 11 with real processes: the worker (`supportflow worker`, its own process) is killed by PID
after a conversation is created, the first-response deadline passes, an agent reply is ingested
while no worker runs, and the worker is started again. The reply came too late: exactly one breach
run (before the event-time rule: none, the reply cancelled the breach when the worker caught up).

The Temporal dev server is the session's (a process too); ingestion runs in the test, through the
real `EventIngestor` and `TemporalRunStarter`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.dispatch import TemporalRunStarter
from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from definitions.runs import sla_workflow_id
from definitions.sla import breach_run_id
from desk.ingestion import EventIngestor
from desk.state import conversation_view
from store import definitions_repo
from tests.temporal_fixtures import assert_eventually
from worker.sla_workflow import SLA_STATE_QUERY

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = timedelta(seconds=15)
READY_LINE = b"worker polling task queue"

FIRST_RESPONSE_RULE = {
    "name": "First response in 15 s",
    "status": "active",
    "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "15s"},
    "steps": [
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["breached"]}}
    ],
}


class WorkerProcess:
    """`supportflow worker` as a child process, with its own environment and log file."""

    def __init__(self, env: dict[str, str], log: Path, module: str = "cli.main") -> None:
        self.env = env
        self.log = log
        self.module = module  # tests/buggy_worker.py: the same worker with a bug injected
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start it and wait until it polls its task queue (imports take seconds)."""
        ready_before = self._ready_lines()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        async def polling() -> None:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            assert self._ready_lines() > ready_before

        await assert_eventually(polling, timeout=60, interval=0.2)

    def _ready_lines(self) -> int:
        return self.log.read_bytes().count(READY_LINE) if self.log.exists() else 0

    def kill(self) -> None:
        """SIGKILL by PID: no graceful shutdown, in-flight tasks are lost."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def worker_process(
    db_url: str, task_queue: str, tmp_path: Path, dev_env: WorkflowEnvironment
) -> Iterator[WorkerProcess]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "SUPPORTFLOW_TASK_QUEUE": task_queue,
        "SUPPORTFLOW_DATA_DIR": str(tmp_path),
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        yield worker
    finally:
        worker.kill()


def _event(event_id: str, conversation_id: str, **extra: Any) -> Event:
    body: dict[str, Any] = {
        "id": event_id,
        "type": "conversation.created",
        "occurred_at": datetime.now(UTC).isoformat(),
        "conversation": {"id": conversation_id, "channel": "email"},
        "customer": {"id": f"u-{conversation_id}", "name": "Ada"},
    }
    body.update(extra)
    return Event.model_validate(body)


async def test_reply_after_the_deadline_while_the_worker_is_killed_breaches_once(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, worker_process: WorkerProcess
) -> None:
    client = dev_env.client
    with Session(engine) as session:
        rule = definitions_repo.create(
            session, WorkflowDefinitionIn.model_validate(FIRST_RESPONSE_RULE)
        )
    conversation_id = f"c-outage-{task_queue}"
    tracker = client.get_workflow_handle(sla_workflow_id(conversation_id))
    ingestor = EventIngestor(engine, TemporalRunStarter(client, task_queue))

    await worker_process.start()
    created = _event(f"e-created-{task_queue}", conversation_id)
    await ingestor.ingest(created)

    async def armed() -> None:  # a query needs a worker: it is up and the clock is armed
        state = await tracker.query(SLA_STATE_QUERY)
        assert "first_response" in state["running"] and state["definitions"], state

    await assert_eventually(armed, timeout=30, interval=0.2)
    worker_process.kill()
    deadline = created.occurred_at + THRESHOLD
    assert datetime.now(UTC) < deadline, "the worker was killed too late to test the outage"

    # The deadline passes while no worker runs; then the agent answers, too late.
    await asyncio.sleep((deadline - datetime.now(UTC)).total_seconds() + 2)
    answer = {"id": "m-1", "sender_type": "agent", "content": "Sorry for the wait!"}
    reply = _event(f"e-reply-{task_queue}", conversation_id, type="message.created", message=answer)
    assert reply.occurred_at > deadline
    await ingestor.ingest(reply)
    await asyncio.sleep(1)
    await worker_process.start()

    breach = client.get_workflow_handle(
        breach_run_id(rule.id, conversation_id, "first_response", 1)
    )

    async def breached_once() -> None:
        try:
            description = await breach.describe()
        except RPCError as err:
            assert err.status != RPCStatusCode.NOT_FOUND, "no breach run"
            raise
        assert description.status == WorkflowExecutionStatus.COMPLETED, description.status
        state = await tracker.query(SLA_STATE_QUERY)
        assert state["events_applied"] == 2 and set(state["running"]) == {"resolution"}, state

    await assert_eventually(breached_once, timeout=60, interval=0.5)
    state = await tracker.query(SLA_STATE_QUERY)
    assert state["breaches_started"] == 1
    query = f"TriggerType = 'sla_breach' AND ConversationId = '{conversation_id}'"

    async def one_run_listed() -> None:
        assert [run.id async for run in client.list_workflows(query)] == [breach.id]

    await assert_eventually(one_run_listed, timeout=20)
    with Session(engine) as session:
        view = conversation_view(session, conversation_id)
    assert view is not None and "breached" in view["tags"]
