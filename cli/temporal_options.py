"""`--address` / `--namespace`, shared by every command that talks to Temporal (SPEC §6), and the
one-line answers to an unreachable server or an unknown id.

The options default to the settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, else the address
`supportflow dev` listens on); every error line names the server and namespace actually used, so
a command pointed at the wrong server says so instead of quietly reading another one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from definitions.errors import NotFound
from store.settings import Settings, get_settings

if TYPE_CHECKING:
    from temporal_edge import Client

#: How long a command waits for Temporal to answer the connection before giving up.
CONNECT_TIMEOUT = 5.0  # seconds

AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="host:port of the Temporal frontend. Default: TEMPORAL_ADDRESS, else 127.0.0.1:7233.",
        show_default=False,
    ),
]
NamespaceOption = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        help="Temporal namespace of the runs. Default: TEMPORAL_NAMESPACE, else default.",
        show_default=False,
    ),
]


def temporal_settings(address: str | None, namespace: str | None) -> Settings:
    """The environment's settings with the command line's Temporal address and namespace."""
    settings = get_settings()
    updates: dict[str, str] = {}
    if address:
        updates["temporal_address"] = address
    if namespace:
        updates["temporal_namespace"] = namespace
    return settings.model_copy(update=updates) if updates else settings


def where(settings: Settings) -> str:
    """`namespace 'x' at host:port`, for error lines."""
    return f"namespace {settings.temporal_namespace!r} at {settings.temporal_address}"


# The SDK's connect error is a Rust debug string; its `message: "..."` (refused, unreachable) or
# `error: "..."` (DNS) is the human part.
_OS_MESSAGE = re.compile(r'(?:message|error): "([^"]+)"')


def unreachable_line(settings: Settings, error: BaseException) -> str:
    """One line for a server that cannot be reached: where, why, and how to point elsewhere."""
    text = str(error)
    found = _OS_MESSAGE.search(text)
    reason = found.group(1) if found else text.splitlines()[0] if text else type(error).__name__
    for prefix in ("Temporal is unreachable at", "Temporal call failed at"):
        reason = reason.removeprefix(f"{prefix} {settings.temporal_address}: ")
    reason = reason.rstrip(".")
    return (
        f"Cannot reach Temporal at {settings.temporal_address} "
        f"(namespace {settings.temporal_namespace!r}): {reason}. "
        "Point at another server with --address or TEMPORAL_ADDRESS."
    )


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red line on stderr and exit with `code`."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    typer.secho(first, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def not_found_line(settings: Settings, error: NotFound) -> str:
    """One line for an unknown run (naming the server asked) or namespace."""
    return str(error) if error.kind == "namespace" else f"{error} ({where(settings)})"


async def check_namespace(client: Client, settings: Settings) -> None:
    """Raise `NotFound("namespace", ...)` when the server has no such namespace: a typo in
    --namespace would otherwise surface later, as a worker polling nothing or a run "not found".
    An unreachable server is `TemporalUnavailable`."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    from temporal_edge import RPC_TIMEOUT, rpc_failure

    namespace = settings.temporal_namespace
    request = DescribeNamespaceRequest(namespace=namespace)
    try:
        await client.workflow_service.describe_namespace(request, timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            message = (
                f"Temporal at {settings.temporal_address} has no namespace {namespace!r}: "
                "choose one with --namespace or TEMPORAL_NAMESPACE."
            )
            raise NotFound("namespace", namespace, message) from exc
        raise rpc_failure(client, exc) from exc
