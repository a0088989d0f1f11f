"""The domain errors of the runs API; `app.errors` turns them into 409 / 422 (a missing run is the
shared `NotFound`, a 404; `temporal_edge.TemporalUnavailable` a 503)."""

from __future__ import annotations

from temporalio.service import RPCError, RPCStatusCode

from app.runs_schemas import RunStatus
from definitions.errors import NotFound
from temporal_edge import TemporalUnavailable


class RunConflict(Exception):
    """The run is not in a state that allows this operation (retry a non-failed run, ...)."""

    def __init__(self, run_id: str, status: RunStatus, message: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.status = status


class InvalidRunsQuery(ValueError):
    """A filter, window or cursor that cannot be answered; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def rpc_failure(exc: RPCError, address: str, run_id: str | None = None) -> Exception:
    """Our error for a failed visibility/history call: unknown run, rejected query, or Temporal
    unavailable."""
    if exc.status == RPCStatusCode.NOT_FOUND and run_id is not None:
        return NotFound("run", run_id)
    if exc.status == RPCStatusCode.INVALID_ARGUMENT:
        return InvalidRunsQuery("query", f"Temporal rejected the query: {exc.message}")
    return TemporalUnavailable(f"Temporal call failed at {address}: {exc.message or exc}")
