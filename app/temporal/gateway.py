"""The app's connection to Temporal: health, starts through `temporal_edge`, run counts and the
SLA tracker refresh. It returns our own types (ids, counts, booleans), never SDK handles.

The client (with the pydantic data converter, from `temporal_edge.connect`) is created at startup;
when Temporal is down then, the app still starts (`/health` answers 503 naming temporal) and every
later call tries to connect again, at most once per `RECONNECT_INTERVAL` seconds.

`execution_count` of the workflow list: counts come from Temporal visibility
(`count_workflows('WorkflowDefinitionId="<id>"')`), fetched for a page of cards with BOTH bounded
parallelism (`COUNT_CONCURRENCY` calls at a time) and a short cache (`COUNT_TTL` seconds per
definition), so listing 200 workflows makes at most 200 calls 16 at a time, and none if the page was
listed a moment ago.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from temporalio.service import RPCError

from app.temporal.errors import rpc_failure
from definitions.events import Event
from definitions.runs import RunInput
from store.settings import Settings
from temporal_edge import (
    RPC_TIMEOUT,
    WAITING_RUNS,
    Client,
    SearchAttr,
    TemporalUnavailable,
    connect,
    quote,
    runs_scope,
    signal_sla,
    signal_wait,
    start_event_run,
)

log = logging.getLogger(__name__)

COUNT_CONCURRENCY = 16
COUNT_TTL = 5.0  # seconds
#: The window of the red "failed recently" count on each workflow card.
RECENT_FAILURES = timedelta(hours=24)
#: Runs that failed (a timed-out run counts as failed, as in analytics); an IN list, not an
#: equality, so visibility reads the definition's runs (see `temporal_edge.search.WAITING_RUNS`).
FAILED_RUNS = "ExecutionStatus IN ('Failed', 'TimedOut')"
RECONNECT_INTERVAL = 2.0  # seconds between connection attempts while Temporal is down
CONNECT_TIMEOUT = 3.0  # seconds
PING_TIMEOUT = 2.0  # seconds
#: Deadline of the starts and signals of ingestion (inline and from the outbox relay).
START_RPC_TIMEOUT = timedelta(seconds=3)


class TemporalGateway:
    """The app's Temporal client (reconnecting), its health, run starts, counts and the SLA
    tracker refresh. Implements `desk.ingestion.RunStarter` (`start_run`, `signal_sla`,
    `signal_wait`)."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client
        self._lock = asyncio.Lock()
        self._last_attempt = 0.0
        self._last_error: TemporalUnavailable | None = None
        self._counts: dict[str, tuple[float, int]] = {}
        self._count_limit = asyncio.Semaphore(COUNT_CONCURRENCY)

    # ------------------------------------------------------------ connection

    async def connect(self) -> bool:
        """Try to connect now; False (and logged) when Temporal is unreachable."""
        try:
            await self.client()
        except TemporalUnavailable as exc:
            log.warning("%s", exc)
            return False
        return True

    async def client(self) -> Client:
        """The connected client, connecting first if needed (throttled while Temporal is down)."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            now = time.monotonic()
            if self._last_error and now - self._last_attempt < RECONNECT_INTERVAL:
                raise TemporalUnavailable(str(self._last_error))
            self._last_attempt = now
            try:
                self._client = await connect(
                    self.settings.temporal_address,
                    self.settings.temporal_namespace,
                    timeout=CONNECT_TIMEOUT,
                )
            except TemporalUnavailable as exc:
                self._last_error = exc
                raise
            self._last_error = None
            return self._client

    async def ping(self) -> bool:
        """True when the Temporal frontend answers a health check."""
        try:
            client = await self.client()
            return await client.service_client.check_health(timeout=timedelta(seconds=PING_TIMEOUT))
        except (TemporalUnavailable, RPCError, RuntimeError, OSError, TimeoutError) as exc:
            log.debug("Temporal ping failed: %s", exc)
            return False

    async def close(self) -> None:
        """Forget the client (the SDK closes its connection when it is garbage-collected)."""
        self._client = None

    # ------------------------------------------------------------ RunStarter

    async def start_run(self, run_input: RunInput) -> None:
        """Start one WorkflowRun (id `run:{definition}:{event}`); starting it again is a no-op.
        A short RPC timeout: ingestion would rather leave the start to the outbox relay."""
        await start_event_run(
            await self.client(),
            run_input,
            task_queue=self.settings.task_queue,
            rpc_timeout=START_RPC_TIMEOUT,
        )
        self._counts.pop(run_input.definition_id, None)

    async def signal_sla(
        self, event: Event, accepted_at: datetime | None = None, wake_at: datetime | None = None
    ) -> None:
        """Hand an event to the conversation's SLA tracker, starting the tracker if needed
        (`desk.starter.RunStarter.signal_sla`)."""
        await signal_sla(
            await self.client(),
            event,
            task_queue=self.settings.task_queue,
            accepted_at=accepted_at,
            wake_at=wake_at,
            rpc_timeout=START_RPC_TIMEOUT,
        )

    async def signal_wait(self, workflow_id: str) -> None:
        """Hint a run waiting in a wait_for to re-check the desk (docs/DESIGN.md)."""
        await signal_wait(await self.client(), workflow_id)

    # ------------------------------------------------------------ counts

    @property
    def runs_scope(self) -> str:
        """Our runs on our task queue: the set every count and list (cards, summary, runs,
        analytics) uses."""
        return runs_scope(self.settings.task_queue)

    async def count(self, query: str) -> tuple[int, dict[str, int]]:
        """(count, {group value: count}) of a visibility count query."""
        client = await self.client()
        try:
            result = await client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise rpc_failure(exc, self.settings.temporal_address) from exc
        groups = {
            str(group.group_values[0]) if group.group_values else "": int(group.count)
            for group in result.groups
        }
        return int(result.count), groups

    async def count_runs(self, definition_id: str) -> int:
        """Runs ever started for a definition (from visibility; cached `COUNT_TTL` seconds)."""
        return await self._cached_count(
            definition_id,
            f"{self.runs_scope} AND {SearchAttr.DEFINITION_ID} = {quote(definition_id)}",
        )

    async def count_recent_failures(self, definition_id: str) -> int:
        """Runs of a definition that failed in the last `RECENT_FAILURES` (cached too)."""
        since = (datetime.now(UTC) - RECENT_FAILURES).isoformat()
        return await self._cached_count(
            f"failed:{definition_id}",
            f"{self.runs_scope} AND {SearchAttr.DEFINITION_ID} = {quote(definition_id)} "
            f"AND {FAILED_RUNS} AND CloseTime >= {quote(since)}",
        )

    async def count_waiting(self, definition_id: str) -> int:
        """Runs of a definition waiting now (in a wait or wait_for: `RunPhase` is `waiting`, as
        the runs list's `waiting` filter reads it; cached too)."""
        return await self._cached_count(
            f"waiting:{definition_id}",
            f"{self.runs_scope} AND {SearchAttr.DEFINITION_ID} = {quote(definition_id)} "
            f"AND {WAITING_RUNS}",
        )

    async def _cached_count(self, key: str, query: str) -> int:
        cached = self._counts.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._count_limit:
            count, _ = await self.count(query)
        self._counts[key] = (time.monotonic() + COUNT_TTL, count)
        return count

    async def count_runs_many(
        self,
        definition_ids: Iterable[str],
        *,
        failed_recently: bool = False,
        waiting: bool = False,
    ) -> dict[str, int | None]:
        """Counts for several definitions in parallel (at most `COUNT_CONCURRENCY` at a time);
        None for each one when Temporal is unreachable. `failed_recently`: count the runs that
        failed in the last `RECENT_FAILURES` instead of every run; `waiting`: the runs waiting
        now."""
        ids = list(dict.fromkeys(definition_ids))
        counter = (
            self.count_waiting
            if waiting
            else self.count_recent_failures
            if failed_recently
            else self.count_runs
        )
        results = await asyncio.gather(*(counter(i) for i in ids), return_exceptions=True)
        counts: dict[str, int | None] = {}
        for definition_id, result in zip(ids, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, TemporalUnavailable):
                    log.warning("counting runs of %s failed: %s", definition_id, result)
                counts[definition_id] = None
            else:
                counts[definition_id] = result
        return counts

    async def count_all_runs(self) -> int:
        """Every WorkflowRun started on this deployment's task queue."""
        count, _ = await self.count(self.runs_scope)
        return count

    # ------------------------------------------------------------ SLA trackers
