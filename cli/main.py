"""`supportflow` — the command line (SPEC §6).

The packages a command needs (worker, app, store) are imported inside the command, so `--help` and
the commands that do not need them stay fast and independent.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Coroutine, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.runs import runs_app
from cli.temporal_options import (
    CONNECT_TIMEOUT,
    AddressOption,
    NamespaceOption,
    check_namespace,
    fail,
    not_found_line,
    temporal_settings,
    unreachable_line,
)
from store.settings import DEFAULT_DATA_DIR, Settings, get_settings

if TYPE_CHECKING:
    import uvicorn
    from sqlalchemy.engine import Engine


class _Supportflow(typer.Typer):
    """The `supportflow` program. Once a command is done it leaves without the interpreter's
    teardown: the Temporal client's Rust threads can abort that teardown with SIGABRT and a
    "Fatal Python error: PyGILState_Release" after the command already answered
    (temporalio/sdk-python#300), turning a clean exit 1 into a crash. Tests that invoke the
    commands in-process (typer's CliRunner) do not go through this."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            super().__call__(*args, **kwargs)
            code: object = 0
        except SystemExit as done:
            code = done.code
        if code is not None and not isinstance(code, int):
            typer.echo(str(code), err=True)
            code = 1
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code or 0)


app = _Supportflow(
    name="supportflow",
    help="Durable customer-support automations on Temporal.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
events_app = typer.Typer(help="Send events to the API.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")
app.add_typer(db_app, name="db")
app.add_typer(runs_app, name="runs")


class Role(StrEnum):
    admin = "admin"
    integration = "integration"
    viewer = "viewer"


def _echo_err(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)


def _open_engine(settings: Settings, *, announce: bool = False) -> Engine:
    """The database of `settings`, migrated to the newest schema (pending revisions applied, a
    database from before migrations adopted). A database that cannot be opened or migrated is one
    clear line and exit 1. `announce` prints what the migration did."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from store.db import make_engine
    from store.migrate import SchemaMismatch, upgrade_database

    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    try:
        result = upgrade_database(engine)
    except (SQLAlchemyError, SchemaMismatch) as error:
        engine.dispose()
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        _echo_err(f"Cannot prepare the database {where}: {reason}")
        raise typer.Exit(1) from error
    if announce:
        typer.echo(f"Database: {result.describe()}")
    return engine


def _webhook_mode(settings: Settings) -> str:
    """How webhooks go out, for the banner; a URL without a secret (unless unsigned deliveries
    are allowed) is refused with one line and exit 1 (SPEC §3)."""
    from store.settings import UnsignedWebhook

    try:
        return settings.webhook_signing()
    except UnsignedWebhook as error:
        _echo_err(f"Refusing to start: {error}")
        raise typer.Exit(1) from error


def _allow_stack_dumps() -> None:
    """`kill -USR1 <pid>` prints every thread's stack to stderr: what a stuck process is doing,
    without a debugger. To fd 2: sys.stderr may be a buffer (typer's test runner)."""
    faulthandler.register(signal.SIGUSR1, file=2, all_threads=True)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    # Alembic narrates every plugin and context at INFO on each start; the "Database:" line says
    # what the upgrade did.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _check_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            _echo_err(f"Cannot use {host}:{port} for the {what}: {error.strerror}.")
            raise typer.Exit(1) from error


# --------------------------------------------------------------------------------------------
# supportflow dev
# --------------------------------------------------------------------------------------------


def _uvicorn_server(api_app: Any, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for the API that leaves signal handling to its caller."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # `supportflow dev` owns SIGINT/SIGTERM and stops the parts in order.
            yield

    config = uvicorn.Config(
        api_app,
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
    return _Server(config)


async def _run_dev(
    settings: Settings, host: str, port: int, temporal_port: int, ui_port: int
) -> int:
    """The embedded stack. Temporal is the only child process (it is a Go binary); the worker and
    the API share this process and its event loop. That is what stops cleanly: one signal handler
    here sees Ctrl-C/SIGTERM and stops the parts in order (API stops accepting and finishes its
    requests, then the worker drains its tasks, then Temporal, which runs in its own session so the
    terminal's Ctrl-C does not kill it under the worker's feet). Subprocesses for the worker and the
    API would each get the Ctrl-C at the same moment and race each other and Temporal."""
    # Everything is imported and built before anything starts, so a broken install fails fast.
    from app.main import create_app
    from cli.temporal_server import DevServer, DevServerError
    from store.keys import count_keys, create_key
    from worker.main import run_worker

    webhooks = _webhook_mode(settings)
    api_server = _uvicorn_server(create_app(settings), host, port)

    engine = _open_engine(settings, announce=True)
    try:
        first_start = count_keys(engine) == 0
    finally:
        engine.dispose()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals_seen = 0

    temporal = DevServer(settings.data_dir, port=temporal_port, ui_port=ui_port)

    def on_signal() -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen == 1:
            typer.echo("\nStopping supportflow (Ctrl-C again to force)...", err=True)
            stop.set()
        else:
            typer.echo("Forcing exit.", err=True)
            temporal.terminate(timeout=2)
            os._exit(130)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)

    typer.echo(f"Starting Temporal dev server (data in {settings.data_dir})...")
    try:
        await temporal.start()
    except DevServerError as error:
        _echo_err(str(error))
        return 1

    worker_task = asyncio.create_task(run_worker(settings), name="worker")
    api_task = asyncio.create_task(api_server.serve(), name="api")
    stop_task = asyncio.create_task(stop.wait(), name="stop")
    exit_code = 0
    try:
        while not api_server.started and not api_task.done() and not worker_task.done():
            if stop.is_set():
                break
            await asyncio.sleep(0.1)
        if api_server.started:
            # Created only now that the stack is up, so the one chance to see it is not lost
            # to a failed start.
            new_admin_key = None
            if first_start:
                engine = _open_engine(settings)
                try:
                    new_admin_key = create_key(engine, "admin", name="dev admin")
                finally:
                    engine.dispose()
            _print_banner(settings, host, port, temporal, new_admin_key, webhooks)
        done, _ = await asyncio.wait(
            {worker_task, api_task, stop_task}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done - {stop_task}:
            exit_code = 1
            failure = None if task.cancelled() else task.exception()
            _echo_err(f"The {task.get_name()} stopped unexpectedly: {failure!r}")
    finally:
        api_server.should_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(api_task, timeout=15)
        worker_task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(worker_task, timeout=30)
        stop_task.cancel()
        await temporal.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        typer.echo("supportflow stopped.", err=True)
    return exit_code


def _print_banner(
    settings: Settings,
    host: str,
    port: int,
    temporal: Any,
    admin_key: str | None,
    webhooks: str,
) -> None:
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown_host}:{port}"
    lines = [
        "",
        "supportflow is running",
        f"  API          {base}",
        f"  Console      {base}/",
        f"  API docs     {base}/docs",
        f"  Temporal UI  {temporal.ui_url}",
        f"  Temporal     {temporal.address} (namespace {settings.temporal_namespace}, "
        f"task queue {settings.task_queue})",
        f"  Data         {settings.data_dir.resolve()}",
        f"  Webhooks     {webhooks}",
    ]
    if admin_key:
        lines += [
            "",
            "First start: an admin API key was created. It is shown only once:",
            f"  {admin_key}",
            f"  e.g. curl -H 'Authorization: Bearer {admin_key}' {base}/workflows",
        ]
    lines += ["", "Press Ctrl-C to stop.", ""]
    typer.echo("\n".join(lines))


@app.command()
def dev(
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and console.")] = 8000,
    temporal_port: Annotated[int, typer.Option(help="Port of the Temporal frontend.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Port of the Temporal Web UI.")] = 8233,
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="SUPPORTFLOW_DATA_DIR",
            help="Where the SQLite database and the Temporal state live.",
        ),
    ] = DEFAULT_DATA_DIR,
) -> None:
    """Run the whole stack locally: Temporal dev server, worker, API and console.

    State persists in the data dir; the first start prints an admin API key. Ctrl-C stops it all.
    """
    _check_port_free(host, port, "API")
    settings = Settings(
        data_dir=data_dir,
        temporal_address=f"127.0.0.1:{temporal_port}",
        temporal_ui_url=f"http://127.0.0.1:{ui_port}",
        api_base_url=f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}",
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _allow_stack_dumps()
    _configure_logging()
    raise typer.Exit(asyncio.run(_run_dev(settings, host, port, temporal_port, ui_port)))


# --------------------------------------------------------------------------------------------
# supportflow api / worker
# --------------------------------------------------------------------------------------------


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    address: AddressOption = None,
    namespace: NamespaceOption = None,
) -> None:
    """Run the API and console only (settings from the environment).

    The API starts even while Temporal is down: GET /health answers 503 naming it until it is back.
    """
    import uvicorn

    from app.main import create_app

    settings = temporal_settings(address, namespace)
    typer.echo(f"Webhooks: {_webhook_mode(settings)}")
    typer.echo(f"Temporal: {settings.temporal_address} (namespace {settings.temporal_namespace})")
    _open_engine(settings, announce=True).dispose()
    _allow_stack_dumps()
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True)


def _run_until_signal(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` until it returns or SIGINT/SIGTERM cancels it (docker stop sends SIGTERM)."""

    async def runner() -> None:
        task = asyncio.create_task(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())


@app.command()
def worker(address: AddressOption = None, namespace: NamespaceOption = None) -> None:
    """Run the Temporal worker only (settings from the environment).

    An unreachable server or an unknown namespace at start is one line on stderr and exit 1.
    """
    from definitions.errors import NotFound
    from temporal_edge import TemporalUnavailable, connect
    from worker.main import run_worker

    settings = temporal_settings(address, namespace)
    typer.echo(f"Webhooks: {_webhook_mode(settings)}")
    _allow_stack_dumps()
    _configure_logging()

    async def main() -> None:
        try:
            client = await connect(
                settings.temporal_address, settings.temporal_namespace, timeout=CONNECT_TIMEOUT
            )
            await check_namespace(client, settings)
        except NotFound as error:
            fail(not_found_line(settings, error))
        except TemporalUnavailable as error:
            fail(unreachable_line(settings, error))
        await run_worker(settings, client=client)

    _run_until_signal(main())


# --------------------------------------------------------------------------------------------
# supportflow db
# --------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations to DATABASE_URL (`dev` and `api` do this at start).

    A database created before migrations existed is adopted without losing data."""
    _open_engine(get_settings(), announce=True).dispose()


# --------------------------------------------------------------------------------------------
# supportflow keys
# --------------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="What the key may do.", case_sensitive=False)],
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by.")] = None,
) -> None:
    """Create an API key and print it (its last line is the key; it is shown only once)."""
    from store.keys import create_key

    engine = _open_engine(get_settings())
    try:
        key = create_key(engine, role.value, name=name)
    finally:
        engine.dispose()
    label = f" named {name!r}" if name else ""
    typer.echo(f"Created an API key with role {role.value}{label}. It is shown only once:")
    typer.echo(key)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never the keys themselves, only their ids and labels)."""
    from store.keys import list_keys

    engine = _open_engine(get_settings())
    try:
        rows = [item.model_dump() for item in list_keys(engine)]
    finally:
        engine.dispose()
    if not rows:
        typer.echo("No API keys.")
        return
    columns = ["id", "role", "name", "prefix", "created_at", "revoked_at"]
    table = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in table:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The id shown by `keys list`.")],
) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    from store.keys import revoke_key

    engine = _open_engine(get_settings())
    try:
        revoked = revoke_key(engine, key_id)
    finally:
        engine.dispose()
    if not revoked:
        _echo_err(f"No API key with id {key_id}.")
        raise typer.Exit(1)
    typer.echo(f"Revoked key {key_id}.")


# --------------------------------------------------------------------------------------------
# supportflow events send
# --------------------------------------------------------------------------------------------


@events_app.command("send")
def events_send(
    file: Annotated[
        Path, typer.Argument(help="A JSON file with one event.", exists=True, dir_okay=False)
    ],
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api",
            help="Base URL of the API (default: SUPPORTFLOW_API_BASE_URL or http://127.0.0.1:8000).",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="API key with the integration or admin role.", envvar="SUPPORTFLOW_API_KEY"
        ),
    ] = None,
) -> None:
    """POST an event file to /events and print the answer."""
    import httpx

    try:
        body = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        _echo_err(f"{file} is not valid JSON: {error}")
        raise typer.Exit(2) from error
    base = (api_url or get_settings().resolved_api_base_url).rstrip("/")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.post(f"{base}/events", json=body, headers=headers, timeout=30)
    except httpx.HTTPError as error:
        _echo_err(f"Cannot reach {base}: {error}")
        raise typer.Exit(1) from error
    typer.echo(f"HTTP {response.status_code}")
    try:
        typer.echo(json.dumps(response.json(), indent=2))
    except ValueError:
        typer.echo(response.text)
    if response.is_error:
        raise typer.Exit(1)


# --------------------------------------------------------------------------------------------
# supportflow replay
# --------------------------------------------------------------------------------------------


@app.command()
def replay(
    run_id: Annotated[
        str | None,
        typer.Argument(help="The run to fetch from Temporal, e.g. run:<workflow_id>:<event_id>."),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            help="Replay a history JSON file (or every *.json in a directory) instead.",
            exists=True,
        ),
    ] = None,
    workflow_id: Annotated[
        str | None, typer.Option(help="Label for a --history replay (default: the file name).")
    ] = None,
    address: AddressOption = None,
    namespace: NamespaceOption = None,
) -> None:
    """Replay a recorded run against the current workflow code and report any non-determinism.

    RUN_ID is fetched from the Temporal server at --address (TEMPORAL_ADDRESS); --history needs
    no server. Exits 0 when every replay is clean, 1 otherwise (an unknown run or an unreachable
    server is one line on stderr), 2 for bad arguments.
    """
    from cli.replay import ReplayOutcome, load_history, replay_history, replay_run
    from definitions.errors import NotFound
    from temporal_edge import TemporalUnavailable

    if (run_id is None) == (history is None):
        _echo_err("Give either RUN_ID or --history FILE.")
        raise typer.Exit(2)
    settings = temporal_settings(address, namespace)

    async def run() -> list[ReplayOutcome]:
        if run_id is not None:
            return [await replay_run(settings, run_id)]
        assert history is not None
        files = sorted(history.glob("*.json")) if history.is_dir() else [history]
        outcomes = []
        for path in files:
            try:
                loaded = load_history(path, workflow_id)
            except (ValueError, KeyError, TypeError) as error:  # not JSON, or not a history
                fail(f"Cannot read the history {path}: {error}", code=2)
            outcomes.append(await replay_history(loaded, source=str(path)))
        return outcomes

    try:
        outcomes = asyncio.run(run())
    except NotFound as error:
        fail(not_found_line(settings, error))
    except TemporalUnavailable as error:
        fail(unreachable_line(settings, error))
    if not outcomes:
        _echo_err(f"No *.json histories in {history}.")
        raise typer.Exit(2)
    for outcome in outcomes:
        if outcome.ok:
            typer.echo(f"OK      {outcome.workflow_id} ({outcome.source})")
        else:
            typer.secho(f"FAILED  {outcome.workflow_id} ({outcome.source})", fg=typer.colors.RED)
            typer.echo(f"        {outcome.error}")
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app()
