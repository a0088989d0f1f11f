"""The only module of the app that talks to Temporal. It returns our own types (ids, counts,
booleans), never SDK handles, and turns "Temporal is unreachable" into `TemporalUnavailable`.

The client (with the pydantic data converter) is created at startup; when Temporal is down then,
the app still starts (`/health` answers 503 naming temporal) and every later call tries to connect
again, at most once per `RECONNECT_INTERVAL` seconds.

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

from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from definitions.events import Event
from definitions.runs import (
    CONVERSATION_SLA,
    SA_CONVERSATION_ID,
    SA_DEFINITION_ID,
    SA_DEFINITION_VERSION,
    SA_TRIGGER_TYPE,
    SLA_EVENT_SIGNAL,
    WORKFLOW_RUN,
    RunInput,
    SlaSignal,
    SlaTrackerInput,
    run_workflow_id,
    sla_workflow_id,
)
from definitions.sla import sla_static_summary  # SLA engineer (issue 4)
from store.settings import Settings

log = logging.getLogger(__name__)

COUNT_CONCURRENCY = 16
COUNT_TTL = 5.0  # seconds
RECONNECT_INTERVAL = 2.0  # seconds between connection attempts while Temporal is down
CONNECT_TIMEOUT = 3.0  # seconds
PING_TIMEOUT = 2.0  # seconds
RPC_TIMEOUT = timedelta(seconds=10)

DEFINITION_ID_KEY = SearchAttributeKey.for_keyword(SA_DEFINITION_ID)
DEFINITION_VERSION_KEY = SearchAttributeKey.for_int(SA_DEFINITION_VERSION)
TRIGGER_TYPE_KEY = SearchAttributeKey.for_keyword(SA_TRIGGER_TYPE)
CONVERSATION_ID_KEY = SearchAttributeKey.for_keyword(SA_CONVERSATION_ID)


class TemporalUnavailable(RuntimeError):
    """Temporal could not be reached (or refused the call for infrastructure reasons)."""


def quote(value: str) -> str:
    """A string literal for a visibility query: single-quoted, `'` doubled, backslashes as they
    are (the list-filter parser takes them literally; checked against the dev server)."""
    return "'" + value.replace("'", "''") + "'"


class TemporalGateway:
    """Starts runs, signals SLA trackers and reads visibility for the API.

    Implements `store.ingest.RunStarter` (`start_run`, `signal_sla`)."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client
        self._lock = asyncio.Lock()
        self._last_attempt = 0.0
        self._last_error: str | None = None
        self._counts: dict[str, tuple[float, int]] = {}
        self._count_limit = asyncio.Semaphore(COUNT_CONCURRENCY)

    # ------------------------------------------------------------ connection

    async def connect(self) -> bool:
        """Try to connect now; False (and logged) when Temporal is unreachable."""
        try:
            await self.client()
        except TemporalUnavailable as exc:
            log.warning("Temporal not reachable at %s: %s", self.settings.temporal_address, exc)
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
                raise TemporalUnavailable(self._describe(self._last_error))
            self._last_attempt = now
            try:
                self._client = await asyncio.wait_for(
                    Client.connect(
                        self.settings.temporal_address,
                        namespace=self.settings.temporal_namespace,
                        data_converter=pydantic_data_converter,
                        connect_timeout=timedelta(seconds=CONNECT_TIMEOUT),
                    ),
                    timeout=CONNECT_TIMEOUT + 1,
                )
            except (RuntimeError, OSError, TimeoutError, RPCError) as exc:
                self._last_error = str(exc) or type(exc).__name__
                raise TemporalUnavailable(self._describe(self._last_error)) from exc
            self._last_error = None
            return self._client

    def _describe(self, reason: str) -> str:
        return f"Temporal is unreachable at {self.settings.temporal_address}: {reason}"

    async def ping(self) -> bool:
        """True when the Temporal frontend answers a health check."""
        try:
            client = await self.client()
            return await client.service_client.check_health(timeout=timedelta(seconds=PING_TIMEOUT))
        except (TemporalUnavailable, RPCError, RuntimeError, OSError, TimeoutError) as exc:
            log.debug("Temporal ping failed: %s", exc)
            return False

    def _unavailable(self, exc: Exception) -> TemporalUnavailable:
        return TemporalUnavailable(self._describe(str(exc) or type(exc).__name__))

    # ------------------------------------------------------------ RunStarter

    async def start_run(self, run_input: RunInput) -> None:
        """Start one WorkflowRun (id `run:{definition}:{event}`); starting it again is a no-op."""
        client = await self.client()
        workflow_id = run_workflow_id(run_input.definition_id, run_input.event.id)
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(DEFINITION_ID_KEY, run_input.definition_id),
                SearchAttributePair(DEFINITION_VERSION_KEY, run_input.definition_version),
                SearchAttributePair(TRIGGER_TYPE_KEY, run_input.definition.trigger.type),
                SearchAttributePair(CONVERSATION_ID_KEY, run_input.event.conversation.id),
            ]
        )
        try:
            await client.start_workflow(
                WORKFLOW_RUN,
                run_input,
                id=workflow_id,
                task_queue=self.settings.task_queue,
                search_attributes=attributes,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"{run_input.definition.name} · {run_input.event.type}",
                rpc_timeout=RPC_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            pass  # a closed run with this id exists: the same (definition, event) already ran
        except RPCError as exc:
            raise self._unavailable(exc) from exc
        self._counts.pop(run_input.definition_id, None)

    async def signal_sla(self, event: Event) -> None:
        """Hand an event to the conversation's SLA tracker, starting the tracker if needed."""
        client = await self.client()
        conversation_id = event.conversation.id
        try:
            await client.start_workflow(
                CONVERSATION_SLA,
                SlaTrackerInput(conversation_id=conversation_id),
                id=sla_workflow_id(conversation_id),
                task_queue=self.settings.task_queue,
                start_signal=SLA_EVENT_SIGNAL,
                start_signal_args=[SlaSignal(event=event, accepted_at=datetime.now(UTC))],
                static_summary=sla_static_summary(conversation_id),  # SLA engineer: UI summary
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(CONVERSATION_ID_KEY, conversation_id)]
                ),
                rpc_timeout=RPC_TIMEOUT,
            )
        except RPCError as exc:
            raise self._unavailable(exc) from exc

    # ------------------------------------------------------------ visibility

    async def _count(self, query: str) -> int:
        client = await self.client()
        try:
            result = await client.count_workflows(query, rpc_timeout=RPC_TIMEOUT)
        except RPCError as exc:
            raise self._unavailable(exc) from exc
        return int(result.count)

    @property
    def runs_scope(self) -> str:
        """Our runs on our task queue: the set every count (cards, summary, analytics) uses."""
        return f"WorkflowType={quote(WORKFLOW_RUN)} AND TaskQueue={quote(self.settings.task_queue)}"

    async def count_runs(self, definition_id: str) -> int:
        """Runs ever started for a definition (from visibility; cached `COUNT_TTL` seconds)."""
        cached = self._counts.get(definition_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._count_limit:
            count = await self._count(
                f"{self.runs_scope} AND {SA_DEFINITION_ID}={quote(definition_id)}"
            )
        self._counts[definition_id] = (time.monotonic() + COUNT_TTL, count)
        return count

    async def count_runs_many(self, definition_ids: Iterable[str]) -> dict[str, int | None]:
        """Counts for several definitions in parallel (at most `COUNT_CONCURRENCY` at a time);
        None for each one when Temporal is unreachable."""
        ids = list(dict.fromkeys(definition_ids))
        results = await asyncio.gather(*(self.count_runs(i) for i in ids), return_exceptions=True)
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
        return await self._count(self.runs_scope)

    async def close(self) -> None:
        """Forget the client (the SDK closes its connection when it is garbage-collected)."""
        self._client = None
