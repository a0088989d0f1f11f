"""Connecting to Temporal: one function, the pydantic data converter, one error.

The SDK's `Client`, and the few client-side types its readers annotate with (visibility entries,
handles, `WorkflowHistory` for replays), are re-exported from here: the rest of supportflow holds a
client by the edge's name, and only this package imports `temporalio.client` (an import-linter
contract; the worker, which builds the SDK's `Worker`, is the exception).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowHandle,
    WorkflowHistory,
)
from temporalio.service import RPCError

from temporal_edge.wire import data_converter

#: The deadline of every call the edge makes to Temporal.
RPC_TIMEOUT = timedelta(seconds=10)


class TemporalUnavailable(RuntimeError):
    """Temporal could not be reached (or refused the call for infrastructure reasons)."""


def unavailable(target: str, exc: BaseException) -> TemporalUnavailable:
    """Our error for an RPC failure (or a failed connect) against `target`."""
    return TemporalUnavailable(f"Temporal is unreachable at {target}: {exc or type(exc).__name__}")


def rpc_failure(client: Client, exc: RPCError) -> TemporalUnavailable:
    """`unavailable` for a call on a connected client."""
    return unavailable(client.service_client.config.target_host, exc)


async def connect(address: str, namespace: str, *, timeout: float | None = None) -> Client:
    """A client for `address`/`namespace` with supportflow's data converter (pydantic, decoded
    leniently: `temporal_edge.wire`). `timeout` bounds the attempt (None: the SDK's default).
    Raises `TemporalUnavailable` when the server cannot be reached."""
    connecting = Client.connect(
        address,
        namespace=namespace,
        data_converter=data_converter,
        connect_timeout=timedelta(seconds=timeout) if timeout is not None else None,
    )
    try:
        if timeout is None:
            return await connecting
        return await asyncio.wait_for(connecting, timeout=timeout + 1)
    except (RuntimeError, OSError, TimeoutError, RPCError) as exc:
        raise unavailable(address, exc) from exc


__all__ = [
    "RPC_TIMEOUT",
    "Client",
    "TemporalUnavailable",
    "WorkflowExecution",
    "WorkflowExecutionDescription",
    "WorkflowHandle",
    "WorkflowHistory",
    "connect",
    "data_converter",
    "rpc_failure",
    "unavailable",
]
