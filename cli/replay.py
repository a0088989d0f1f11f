"""Replay recorded run histories against the current workflow code (SPEC §5).

A replay re-executes `WorkflowRun` / `ConversationSla` over an existing event history without
touching the server: if today's code would issue different commands than the ones recorded, the
replayer reports a non-determinism error. Use it before deploying a worker change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from cli.temporal_options import check_namespace
from definitions.errors import NotFound
from store.settings import Settings
from temporal_edge import (
    RPC_TIMEOUT,
    WorkflowHistory,
    connect,
    data_converter,
    rpc_failure,
    unavailable,
)

#: How long a replay waits for Temporal to accept the connection.
CONNECT_TIMEOUT = 5.0  # seconds


@dataclass(frozen=True)
class ReplayOutcome:
    """The result of replaying one history."""

    workflow_id: str
    source: str
    """Where the history came from: the server address or the file path."""
    error: str | None = None
    """The replay failure (e.g. the non-determinism message), None when the replay was clean."""

    @property
    def ok(self) -> bool:
        return self.error is None


def workflow_classes() -> Sequence[type[Any]]:
    """The workflow classes the worker runs, imported lazily (the CLI must start without them)."""
    from worker import workflows

    listed = getattr(workflows, "WORKFLOWS", None)
    if listed:
        return list(listed)
    return [workflows.WorkflowRun, workflows.ConversationSla]


def make_replayer() -> Replayer:
    """A replayer configured like the worker: same workflows, pydantic data converter."""
    return Replayer(workflows=workflow_classes(), data_converter=data_converter)


async def replay_history(history: WorkflowHistory, *, source: str) -> ReplayOutcome:
    """Replay one history; never raises for a replay failure, returns it in the outcome."""
    result = await make_replayer().replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    return ReplayOutcome(
        workflow_id=history.workflow_id,
        source=source,
        error=None if failure is None else f"{type(failure).__name__}: {failure}",
    )


async def replay_run(settings: Settings, run_id: str) -> ReplayOutcome:
    """Fetch the latest execution of the run `run_id` (the Temporal workflow id, e.g.
    `run:<workflow_id>:<event_id>`) from Temporal and replay it. Raises `NotFound` for an unknown
    run or namespace and `TemporalUnavailable` when the server cannot be reached."""
    client = await connect(
        settings.temporal_address, settings.temporal_namespace, timeout=CONNECT_TIMEOUT
    )
    await check_namespace(client, settings)
    try:
        history = await client.get_workflow_handle(run_id).fetch_history(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound("run", run_id) from exc
        raise rpc_failure(client, exc) from exc
    except (RuntimeError, OSError) as exc:  # the connection dropped under the call
        raise unavailable(settings.temporal_address, exc) from exc
    return await replay_history(history, source=settings.temporal_address)


def load_history(path: Path, workflow_id: str | None = None) -> WorkflowHistory:
    """Load a history exported as JSON (`temporal workflow show -o json`, the Temporal UI download,
    or `WorkflowHistory.to_json()`). The workflow id only labels the replay: it defaults to the file
    name without its extension."""
    data: Any = json.loads(path.read_text())
    return WorkflowHistory.from_json(workflow_id or path.stem, data)


async def replay_file(path: Path, workflow_id: str | None = None) -> ReplayOutcome:
    """Replay a history saved as a JSON file."""
    return await replay_history(load_history(Path(path), workflow_id), source=str(path))
