"""`supportflow runs list|show|retry|cancel` — the runs API's reads and controls from the command
line, through the same `app.temporal.runs.RunsGateway` (so they behave exactly as
GET /runs, GET /runs/{id}, POST /runs/{id}/retry and POST /runs/{id}/cancel), straight against
Temporal (`--address`/`--namespace`, default TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE; the runs of
SUPPORTFLOW_TASK_QUEUE).

Exit codes: 0 done, 1 the run is unknown or in the wrong state (the API's 404 / 409) or Temporal is
unreachable, 2 bad input.

Mounted in `cli/main.py` with `app.add_typer(runs_app, name="runs")`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args

import typer
from pydantic import BaseModel

from app.runs_schemas import RunStatus
from cli.temporal_options import (
    AddressOption,
    NamespaceOption,
    check_namespace,
    fail,
    not_found_line,
    temporal_settings,
    unreachable_line,
)
from store.settings import Settings

if TYPE_CHECKING:
    from app.temporal.runs import RunsGateway

T = TypeVar("T")

runs_app = typer.Typer(
    help="List, inspect, retry and cancel workflow runs (read from Temporal).",
    no_args_is_help=True,
)

#: What `--status` accepts: the API's run statuses (continue-as-new segments are never listed).
STATUSES = tuple(status for status in get_args(RunStatus) if status != "continued_as_new")


def _call(action: Callable[[RunsGateway], Awaitable[T]], settings: Settings) -> T:
    """Connect, run `action` on a RunsGateway, and turn domain errors into one line on stderr
    and an exit code (never a traceback)."""
    from app.temporal.errors import InvalidRunsQuery, RunConflict
    from app.temporal.gateway import TemporalGateway
    from app.temporal.runs import RunsGateway
    from definitions.errors import NotFound
    from temporal_edge import TemporalUnavailable

    async def run() -> T:
        gateway = TemporalGateway(settings)
        await check_namespace(await gateway.client(), settings)
        return await action(RunsGateway(gateway))

    try:
        return asyncio.run(run())
    except NotFound as exc:
        fail(not_found_line(settings, exc))
    except RunConflict as exc:
        fail(str(exc))
    except TemporalUnavailable as exc:
        fail(unreachable_line(settings, exc))
    except InvalidRunsQuery as exc:
        fail(str(exc), code=2)


def _print_json(model: BaseModel) -> None:
    typer.echo(json.dumps(model.model_dump(mode="json", by_alias=True), indent=2))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}s"
    return str(value)


@runs_app.command("list")
def list_runs(
    workflow_id: Annotated[str | None, typer.Option(help="Only runs of this workflow.")] = None,
    status: Annotated[
        str | None, typer.Option(help=f"Only runs with this status: {', '.join(STATUSES)}.")
    ] = None,
    conversation_id: Annotated[
        str | None, typer.Option(help="Only runs for this conversation.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Page size.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page as JSON.")] = False,
    address: AddressOption = None,
    namespace: NamespaceOption = None,
) -> None:
    """List runs, running first, then most recently closed."""
    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}", code=2)

    async def action(runs: RunsGateway) -> Any:
        return await runs.list_runs(
            workflow_id=workflow_id,
            status=status,  # type: ignore[arg-type]  # checked above
            conversation_id=conversation_id,
            limit=limit,
            cursor=cursor,
        )

    page = _call(action, temporal_settings(address, namespace))
    if as_json:
        _print_json(page)
        return
    columns = ("run_id", "status", "workflow_version", "started_at", "duration_seconds")
    rows = [[_cell(getattr(run, c)) for c in columns] for run in page.data]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    typer.echo(f"{len(page.data)} of {page.count} run(s)")
    if page.next_cursor:
        typer.echo(f"next page: --cursor {page.next_cursor}")


@runs_app.command("show")
def show_run(
    run_id: Annotated[str, typer.Argument(help="The run id.")],
    address: AddressOption = None,
    namespace: NamespaceOption = None,
) -> None:
    """Print one run as JSON: status, times, version, event, trace, error, Temporal UI link."""

    async def action(runs: RunsGateway) -> Any:
        return await runs.get_run(run_id)

    _print_json(_call(action, temporal_settings(address, namespace)))


@runs_app.command("retry")
def retry_run(
    run_id: Annotated[str, typer.Argument(help="The failed run to retry.")],
    address: AddressOption = None,
    namespace: NamespaceOption = None,
) -> None:
    """Re-run a failed run with its pinned version and event; steps that took effect are kept.
    Prints the new run id as the last line."""

    async def action(runs: RunsGateway) -> Any:
        return await runs.retry(run_id)

    started = _call(action, temporal_settings(address, namespace))
    typer.echo(f"retrying {run_id}: {started.temporal_ui_url}")
    typer.echo(started.run_id)


@runs_app.command("cancel")
def cancel_run(
    run_id: Annotated[str, typer.Argument(help="The running run to cancel.")],
    address: AddressOption = None,
    namespace: NamespaceOption = None,
) -> None:
    """Ask a running run to cancel; it ends as cancelled before its next step."""

    async def action(runs: RunsGateway) -> Any:
        return await runs.cancel(run_id)

    _call(action, temporal_settings(address, namespace))
    typer.echo(f"cancel requested: {run_id}")
