"""supportflow as separate real processes, to kill: the Temporal dev server on a file,
`supportflow api` (one or more) and `supportflow worker` (one or more), a sender that resends
until it gets an answer, and the counts that say whether anything was lost or duplicated.

Used by the fault suite (tests/test_faults.py) and `make chaos` (bench/chaos.py).

    async with FaultStack(root, db_url, apis=1, workers=1) as stack:
        definition_id = await stack.create_ticket_definition()
        await stack.send(events)                 # each event until a 202
        stack.kill("worker-0"); stack.spawn_worker("worker-0")
        await stack.kill_temporal(); await stack.restart_temporal()
        tally = await stack.tally(definition_id, event_ids)   # runs and tickets per event
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import create_engine, func
from sqlmodel import Session, col, select

from cli.temporal_server import DevServer
from store.models import TicketRow
from temporal_edge import Client, connect, quote

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "supportflow-faults"
#: Bytes above which this stack's Temporal refuses a payload (the default is 2 MB).
BLOB_LIMIT = 100_000


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Tally:
    """What one set of events produced: runs in Temporal and tickets (effects) in the desk."""

    expected: int
    runs: int
    completed: int
    tickets_per_event: Counter[str] = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        return sum(1 for n in self.tickets_per_event.values() if n == 0)

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.tickets_per_event.values() if n > 1)


class FaultStack:
    """The processes of one fault run, under `root` (logs, Temporal's file)."""

    def __init__(self, root: Path, db_url: str, *, apis: int = 1, workers: int = 1) -> None:
        self.root = root
        self.db_url = db_url
        self.server = DevServer(
            root / "temporal",
            port=free_port(),
            ui=False,
            log_level="error",
            # A low blob limit (the server checks the error limit only above the warning one),
            # so a definition within the definition limits can still be refused at start.
            extra_args=[
                "--dynamic-config-value",
                f"limit.blobSize.warn={BLOB_LIMIT // 2}",
                "--dynamic-config-value",
                f"limit.blobSize.error={BLOB_LIMIT}",
            ],
        )
        self.api_ports = [free_port() for _ in range(apis)]
        self.worker_count = workers
        self.procs: dict[str, Proc] = {}
        self.client: Client | None = None
        self.key = ""
        self.admin_key = ""

    # ------------------------------------------------------------ processes

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            SUPPORTFLOW_DATA_DIR=str(self.root),
            DATABASE_URL=self.db_url,
            TEMPORAL_ADDRESS=self.server.address,
            TEMPORAL_NAMESPACE="default",
            SUPPORTFLOW_TASK_QUEUE=TASK_QUEUE,
            PYTHONUNBUFFERED="1",
        )
        env.pop("SUPPORTFLOW_WEBHOOK_URL", None)
        return env

    def _spawn(self, name: str, args: Sequence[str]) -> Proc:
        log_path = self.root / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env(),
                cwd=str(ROOT),
                start_new_session=True,
            )
        self.procs[name] = Proc(name, process, log_path)
        return self.procs[name]

    def spawn_api(self, index: int) -> Proc:
        port = self.api_ports[index]
        return self._spawn(f"api-{index}", ["api", "--port", str(port)])

    def spawn_worker(self, index: int) -> Proc:
        return self._spawn(f"worker-{index}", ["worker"])

    def kill(self, name: str) -> None:
        """kill -9, and reap."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            proc.process.send_signal(signal.SIGKILL)
        proc.process.wait()

    async def kill_temporal(self) -> None:
        process = self.server._process
        assert process is not None
        process.kill()
        await asyncio.to_thread(process.wait)
        self.server._process = None

    async def restart_temporal(self) -> None:
        await self.server.start(timeout=90)

    async def wait_api(self, index: int, timeout: float = 60) -> None:
        url = f"http://127.0.0.1:{self.api_ports[index]}/health"
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                proc = self.procs[f"api-{index}"]
                if not proc.alive():
                    raise RuntimeError(f"api-{index} exited:\n{proc.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url)).status_code in (200, 503):
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"api-{index} not up:\n{self.procs[f'api-{index}'].log_tail()}")

    async def start(self) -> None:
        from store.db import make_engine
        from store.keys import create_key
        from store.migrate import upgrade_database

        self.root.mkdir(parents=True, exist_ok=True)
        engine = make_engine(self.db_url)
        upgrade_database(engine)  # as `supportflow api` would at start
        self.key = create_key(engine, "integration")
        self.admin_key = create_key(engine, "admin")
        engine.dispose()
        await self.server.start(timeout=90)
        self.client = await connect(self.server.address, "default")
        for index in range(self.worker_count):
            self.spawn_worker(index)
        for index in range(len(self.api_ports)):
            self.spawn_api(index)
        await asyncio.gather(*(self.wait_api(i) for i in range(len(self.api_ports))))

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.alive():
                proc.process.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.to_thread(proc.process.wait, 15)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait()
        await self.server.stop()

    async def __aenter__(self) -> FaultStack:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ HTTP

    def api_url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.api_ports[index]}"

    async def create_definition(self, body: dict[str, Any]) -> str:
        async with httpx.AsyncClient(
            base_url=self.api_url(), headers={"Authorization": f"Bearer {self.admin_key}"}
        ) as http:
            response = await http.post("/workflows", json=body)
            if response.status_code != 201:
                raise AssertionError(f"creating {body['name']}: {response.text}")
            return str(response.json()["id"])

    async def send(
        self,
        events: Iterable[dict[str, Any]],
        *,
        concurrency: int = 8,
        on_accepted: Any = None,
        deadline: float = 120,
    ) -> list[dict[str, Any]]:
        """POST each event until it is answered 202, spreading them over the APIs (a sender that
        resends on a connection error or a 5xx, as a help desk does). Returns the answers."""
        answers: list[dict[str, Any]] = []
        limit = asyncio.Semaphore(concurrency)
        stop_at = time.monotonic() + deadline
        headers = {"Authorization": f"Bearer {self.key}"}

        async def one(number: int, event: dict[str, Any], http: httpx.AsyncClient) -> None:
            async with limit:
                attempt = 0
                while True:
                    url = self.api_url((number + attempt) % len(self.api_ports)) + "/events"
                    attempt += 1
                    try:
                        response = await http.post(url, json=event, headers=headers)
                    except httpx.HTTPError:
                        response = None
                    if response is not None and response.status_code == 202:
                        answers.append(response.json())
                        if on_accepted is not None:
                            await on_accepted(len(answers))
                        return
                    if response is not None and response.status_code < 500:
                        raise AssertionError(
                            f"{event['id']}: {response.status_code} {response.text}"
                        )
                    if time.monotonic() > stop_at:
                        raise AssertionError(f"{event['id']} never accepted")
                    await asyncio.sleep(0.3)

        async with httpx.AsyncClient(timeout=15) as http:
            await asyncio.gather(*(one(n, e, http) for n, e in enumerate(events)))
        return answers

    # ------------------------------------------------------------ counting

    async def count_runs(self, definition_id: str, prefix: str, status: str | None = None) -> int:
        assert self.client is not None
        query = (
            f"WorkflowType = 'WorkflowRun' AND TaskQueue = {quote(TASK_QUEUE)} AND "
            f"WorkflowId STARTS_WITH {quote(f'run:{definition_id}:{prefix}')}"
        )
        if status:
            query += f" AND ExecutionStatus = {quote(status)}"
        return (await self.client.count_workflows(query)).count

    def tickets(self, conversation_prefix: str) -> Counter[str]:
        """Tickets per run scope (one per run is right) of the conversations with this prefix."""
        engine = create_engine(self.db_url)
        try:
            with Session(engine) as session:
                rows = session.exec(
                    select(TicketRow.source, func.count())
                    .where(col(TicketRow.conversation_id).startswith(conversation_prefix))
                    .group_by(col(TicketRow.source))
                ).all()
        finally:
            engine.dispose()
        return Counter({str(source): int(count) for source, count in rows})

    async def tally(
        self, definition_id: str, event_ids: Sequence[str], prefix: str, conversation_prefix: str
    ) -> Tally:
        # Runs first: a completed run's ticket was committed before it completed, so tickets
        # read after the count include every counted run's (read before, a run finishing in
        # between looked like a lost ticket).
        runs = await self.count_runs(definition_id, prefix)
        completed = await self.count_runs(definition_id, prefix, "Completed")
        per_scope = self.tickets(conversation_prefix)
        per_event = Counter(
            {e: per_scope.get(f"run:{definition_id}:{e}:ticket", 0) for e in event_ids}
        )
        return Tally(
            expected=len(event_ids),
            runs=runs,
            completed=completed,
            tickets_per_event=per_event,
        )

    async def settle(
        self,
        definition_id: str,
        event_ids: Sequence[str],
        prefix: str,
        conversation_prefix: str,
        timeout: float = 90,
    ) -> Tally:
        """Wait until every run completed (or `timeout`), then count."""
        deadline = time.monotonic() + timeout
        while True:
            tally = await self.tally(definition_id, event_ids, prefix, conversation_prefix)
            if tally.completed >= tally.expected or time.monotonic() > deadline:
                return tally
            await asyncio.sleep(0.5)


def ticket_definition(name: str) -> dict[str, Any]:
    """Every new message opens one ticket (an effect to count)."""
    return {
        "name": name,
        "status": "active",
        "trigger": {"type": "new_message"},
        "steps": [
            {
                "id": "ticket",
                "type": "action",
                "action": "create_ticket",
                "params": {"title": "Ticket for {{conversation.id}}"},
            }
        ],
    }


def message_events(prefix: str, count: int, conversations: int = 10) -> list[dict[str, Any]]:
    """`count` message.created events over `conversations` conversations (ids `{prefix}-{n}`)."""
    now = datetime.now(UTC).isoformat()
    return [
        {
            "id": f"{prefix}-{n}",
            "type": "message.created",
            "occurred_at": now,
            "conversation": {
                "id": f"{prefix}-c{n % conversations}",
                "channel": "whatsapp",
                "status": "open",
                "subject": "Help",
            },
            "customer": {"id": f"{prefix}-u{n % conversations}", "name": "Ada"},
            "message": {"id": f"{prefix}-m{n}", "sender_type": "customer", "content": "hello"},
        }
        for n in range(count)
    ]
