"""The benchmark stack and its bookkeeping.

`Stack` starts everything a benchmark measures, on free ports under a temporary directory:

- the real Temporal dev server (`cli.temporal_server.DevServer`, headless, SQLite file),
- the product worker (`worker.main.run_worker`, or `build_worker` rebuilt with lever options),
- the baselines worker (`bench.baselines`: the naive workflow and the empty floor workflow),
- the API (`app.main.create_app` under uvicorn on 127.0.0.1).

Worker and API run as subprocesses, as in production, so the benchmark driver (this process) does
not share their GIL, and the CPU time of each process can be read from /proc. The product parts are
optional: until `worker/` and `app/` exist the stack runs the baselines alone.

Also here: statistics (median with min-max), the table printer, machine details and the JSON
report under `bench/out/`.

Subprocess entry points: `python -m bench.harness worker|api` (environment: the usual
supportflow settings variables, plus BENCH_WORKER_OPTIONS for the product worker's levers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from cli.temporal_server import DevServer, _die_with_parent, find_binary

T = TypeVar("T")

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
BASELINE_TASK_QUEUE = "bench-baselines"
PRODUCT_TASK_QUEUE = "bench-supportflow"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- availability of the product


def module_has(module: str, *names: str) -> bool:
    """True when `module` can be imported and defines every one of `names` (other engineers'
    parts land while the benchmarks are being written: the harness adapts)."""
    try:
        if importlib.util.find_spec(module) is None:
            return False
        loaded = importlib.import_module(module)
    except Exception:
        return False
    return all(hasattr(loaded, name) for name in names)


def product_available() -> bool:
    return (
        module_has("worker.main", "build_worker", "run_worker")
        and module_has("app.main", "create_app")
        and module_has("store.keys", "create_key")
    )


# ---------------------------------------------------------------- statistics


@dataclass
class Figure:
    """One measured quantity over the repetitions of a run."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def low(self) -> float:
        return min(self.values) if self.values else float("nan")

    @property
    def high(self) -> float:
        return max(self.values) if self.values else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "values": self.values,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p in 0-100) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ratio_figure(name: str, top: Figure, bottom: Figure) -> Figure:
    """Per-repetition ratio top/bottom (both measured in the same repetition)."""
    values = [a / b for a, b in zip(top.values, bottom.values, strict=False) if b]
    return Figure(name, "x", values)


# ---------------------------------------------------------------- processes and CPU


def proc_cpu_ms(pid: int) -> float:
    """utime + stime (+ waited-for children) of a process, in milliseconds, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    fields = raw.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) * 1000.0 / CLOCK_TICKS


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A subprocess of the stack (worker, API), its log in the stack's directory."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def terminate(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                self.process.wait()


def spawn(name: str, args: Sequence[str], env: dict[str, str], log_path: Path) -> Child:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(BENCH_DIR.parent),
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    return Child(name, process, log_path)


# ---------------------------------------------------------------- the stack


@dataclass
class StackOptions:
    product: bool = True
    baselines: bool = True
    worker_options: dict[str, Any] = field(default_factory=dict)
    baseline_options: dict[str, Any] = field(default_factory=dict)
    server_extra_args: list[str] = field(default_factory=list)
    server_pragmas: list[str] | None = None  # None: DevServer's own (WAL, synchronous=NORMAL)
    server_dynamic_config: dict[str, str] | None = None  # None: DevServer's own
    server_in_memory: bool = False
    #: Measurement-only patches applied inside the API subprocess (never to the code on disk):
    #: "no-sla-signal" turns `TemporalGateway.signal_sla` into a no-op, to price the SLA tracker
    #: every event feeds.
    api_patches: list[str] = field(default_factory=list)


def _without_flag(args: list[str], flag: str) -> list[str]:
    """`args` without every `flag value` pair."""
    cleaned: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        else:
            cleaned.append(arg)
    return cleaned


class BenchDevServer(DevServer):
    """DevServer with its SQLite pragmas and dynamic config replaceable, or without its database
    file (in memory): the server-side levers to measure. Defaults: exactly DevServer."""

    def __init__(
        self,
        *args: Any,
        pragmas: list[str] | None = None,
        dynamic_config: dict[str, str] | None = None,
        in_memory: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pragmas = pragmas
        self.dynamic_config = dynamic_config
        self.in_memory = in_memory

    def command(self) -> list[str]:
        args = super().command()
        if self.in_memory:
            args = _without_flag(_without_flag(args, "--db-filename"), "--sqlite-pragma")
        elif self.pragmas is not None:
            args = _without_flag(args, "--sqlite-pragma")
            for pragma in self.pragmas:
                args += ["--sqlite-pragma", pragma]
        if self.dynamic_config is not None:
            args = _without_flag(args, "--dynamic-config-value")
            for key, value in self.dynamic_config.items():
                args += ["--dynamic-config-value", f"{key}={value}"]
        return args


class Stack:
    """Server + workers + API for one benchmark run; `async with Stack(...) as stack`."""

    def __init__(self, options: StackOptions | None = None, root: Path | None = None) -> None:
        self.options = options or StackOptions()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="supportflow-bench-")
            root = Path(self._tmp.name)
        self.root = root
        self.server = BenchDevServer(
            root / "temporal",
            port=free_port(),
            ui=False,
            log_level="error",
            extra_args=self.options.server_extra_args,
            pragmas=self.options.server_pragmas,
            dynamic_config=self.options.server_dynamic_config,
            in_memory=self.options.server_in_memory,
        )
        self.db_url = f"sqlite:///{root / 'supportflow.db'}"
        self.api_port = free_port()
        self.children: dict[str, Child] = {}
        self.client: Client | None = None
        self.engine: Any = None
        self.admin_key: str | None = None
        self.http: httpx.AsyncClient | None = None
        #: Errors the benchmark met and retried (reported beside the figures).
        self.errors: Counter[str] = Counter()
        self.product = self.options.product and product_available()

    # -- addresses
    @property
    def address(self) -> str:
        return self.server.address

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            SUPPORTFLOW_DATA_DIR=str(self.root),
            DATABASE_URL=self.db_url,
            TEMPORAL_ADDRESS=self.address,
            TEMPORAL_NAMESPACE="default",
            TEMPORAL_UI_URL="http://127.0.0.1:8233",
            SUPPORTFLOW_TASK_QUEUE=PRODUCT_TASK_QUEUE,
            SUPPORTFLOW_API_BASE_URL=self.api_url,
            PYTHONUNBUFFERED="1",
        )
        env.pop("SUPPORTFLOW_WEBHOOK_URL", None)
        return env

    # -- lifecycle
    async def start(self) -> None:
        from store.db import create_all, make_engine

        self.engine = make_engine(self.db_url)
        create_all(self.engine)
        await self.server.start(timeout=90)
        self.client = await Client.connect(self.address, data_converter=pydantic_data_converter)
        python = sys.executable
        if self.options.baselines:
            self._spawn_baselines("baselines", BASELINE_TASK_QUEUE, self.options.baseline_options)
        if self.product:
            from store.keys import create_key

            created = create_key(self.engine, "admin")
            self.admin_key = _plain_key(created)
            env = self.env()
            env["BENCH_WORKER_OPTIONS"] = json.dumps(self.options.worker_options)
            self.children["worker"] = spawn(
                "worker", [python, "-m", "bench.harness", "worker"], env, self.root / "worker.log"
            )
            env = self.env()
            env["BENCH_API_PATCHES"] = ",".join(self.options.api_patches)
            self.children["api"] = spawn(
                "api",
                [python, "-m", "bench.harness", "api", "--port", str(self.api_port)],
                env,
                self.root / "api.log",
            )
            self.http = httpx.AsyncClient(
                base_url=self.api_url,
                headers={"Authorization": f"Bearer {self.admin_key}"},
                timeout=60,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            )
        waits: list[Awaitable[None]] = []
        if self.options.baselines:
            waits.append(self.wait_for_poller(BASELINE_TASK_QUEUE, "baselines"))
        if self.product:
            waits.append(self.wait_for_poller(PRODUCT_TASK_QUEUE, "worker"))
            waits.append(self.wait_for_api())
        await asyncio.gather(*waits)

    def _spawn_baselines(self, name: str, task_queue: str, options: dict[str, Any]) -> None:
        self.children[name] = spawn(
            name,
            [
                sys.executable,
                "-m",
                "bench.baselines",
                "--address",
                self.address,
                "--db-url",
                self.db_url,
                "--task-queue",
                task_queue,
                "--options",
                json.dumps(options),
            ],
            self.env(),
            self.root / f"{name}.log",
        )

    async def add_baseline_worker(
        self, name: str, task_queue: str, options: dict[str, Any]
    ) -> None:
        """Another baselines worker (lever options) on its own task queue, same server and DB."""
        self._spawn_baselines(name, task_queue, options)
        await self.wait_for_poller(task_queue, name)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        for child in reversed(list(self.children.values())):
            await asyncio.to_thread(child.terminate)
        await self.server.stop()
        if self.engine is not None:
            self.engine.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def __aenter__(self) -> Stack:
        try:
            await self.start()
        except BaseException:
            self.keep_logs()
            await self.stop()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        if exc_type is not None:
            self.keep_logs()
        await self.stop()

    def keep_logs(self) -> Path | None:
        """Copy the logs of the stack's processes to bench/out/failed-<time>/ (the temporary
        directory goes away with the stack)."""
        logs = [*self.root.glob("*.log"), self.server.log_path]
        if not any(p.exists() for p in logs):
            return None
        target = OUT_DIR / f"failed-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
        target.mkdir(parents=True, exist_ok=True)
        for path in logs:
            if path.exists():
                shutil.copy(path, target / path.name)
        log(f"logs of the failed stack kept in {target}")
        return target

    async def wait_for_poller(self, task_queue: str, child: str, timeout: float = 90) -> None:
        assert self.client is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.children[child].alive():
                raise RuntimeError(f"{child} exited:\n{self.children[child].log_tail()}")
            response = await self.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.client.namespace,
                    task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            if response.pollers:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(
            f"no poller on {task_queue} after {timeout}s:\n" + self.children[child].log_tail()
        )

    async def wait_for_api(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.api_url, timeout=5) as http:
            while time.monotonic() < deadline:
                if not self.children["api"].alive():
                    raise RuntimeError(f"api exited:\n{self.children['api'].log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await http.get("/health")
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"API not healthy after {timeout}s:\n" + self.children["api"].log_tail())

    # -- measurement helpers
    def cpu_snapshot(self) -> dict[str, float]:
        """CPU milliseconds used so far by each process of the stack, and by this driver."""
        snapshot = {"server": proc_cpu_ms(self.server._process.pid)} if self.server._process else {}
        for name, child in self.children.items():
            snapshot[name] = proc_cpu_ms(child.pid)
        snapshot["driver"] = proc_cpu_ms(os.getpid())
        return snapshot

    def count_in_log(self, child: str, text: str) -> int:
        """How often `text` occurs in a child's log (e.g. failed workflow tasks)."""
        if child not in self.children:
            return 0
        try:
            return self.children[child].log_path.read_text(errors="replace").count(text)
        except OSError:
            return 0

    def check_alive(self) -> None:
        for child in self.children.values():
            if not child.alive():
                raise RuntimeError(f"{child.name} exited:\n{child.log_tail()}")


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def _plain_key(created: Any) -> str:
    """The plain API key out of whatever `store.keys.create_key` returns (str, tuple, object)."""
    if isinstance(created, str):
        return created
    if isinstance(created, tuple):
        for item in created:
            if isinstance(item, str) and len(item) >= 20:
                return item
    for attr in ("key", "plain", "plaintext", "secret", "token", "api_key"):
        value = getattr(created, attr, None)
        if isinstance(value, str):
            return value
    raise TypeError(f"cannot find the plain key in {created!r}")


# ---------------------------------------------------------------- concurrency helper


async def bounded(
    items: Iterable[T], fn: Callable[[T], Awaitable[Any]], concurrency: int
) -> list[Any]:
    """Run fn over items with at most `concurrency` in flight; results in order."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(item: T) -> Any:
        async with semaphore:
            return await fn(item)

    return await asyncio.gather(*(one(item) for item in items))


# ---------------------------------------------------------------- machine and report


def machine_details() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    temporal_cli = ""
    with contextlib.suppress(Exception):
        temporal_cli = subprocess.run(
            [str(find_binary("temporal")), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    commit = ""
    with contextlib.suppress(Exception):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=BENCH_DIR.parent,
        ).stdout.strip()
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "temporalio": _version("temporalio"),
        "temporal_cli": temporal_cli,
        "git_commit": commit,
        "loadavg": loadavg(),
    }


def loadavg() -> list[float]:
    with contextlib.suppress(OSError):
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    return []


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def write_report(report: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT_DIR / f"{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def fmt(value: float, digits: int = 2) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> str:
    """A plain monospace table (also valid Markdown), printed and returned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"

    out = [title] if title else []
    out.append(line(headers))
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out.extend(line(row) for row in rows)
    text = "\n".join(out)
    print(text, flush=True)  # noqa: T201 - the benchmark's output
    return text


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: T201


# ---------------------------------------------------------------- subprocess entry points


async def _run_product_worker() -> None:
    """The product worker as shipped (`run_worker`), or rebuilt from `build_worker` with the lever
    options of BENCH_WORKER_OPTIONS (Worker keyword arguments, plus `passthrough`: module names
    passed through the workflow sandbox)."""
    from store.settings import get_settings
    from worker.main import build_worker, run_worker

    settings = get_settings()
    options: dict[str, Any] = json.loads(os.environ.get("BENCH_WORKER_OPTIONS") or "{}")
    if not options:
        await run_worker(settings)
        return
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    from store.db import make_engine

    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
    engine = make_engine(settings.database_url)
    # Built on a probe queue (never run) to read the product's own configuration: the SDK refuses
    # two workers on one queue of one client.
    built = build_worker(client, engine, settings, f"{settings.task_queue}-probe")
    config: dict[str, Any] = dict(built.config())
    config["task_queue"] = settings.task_queue
    passthrough = options.pop("passthrough", None)
    sandbox = options.pop("sandbox", None)
    if sandbox == "off":
        from temporalio.worker import UnsandboxedWorkflowRunner

        config["workflow_runner"] = UnsandboxedWorkflowRunner()
    elif sandbox == "on":
        config["workflow_runner"] = SandboxedWorkflowRunner()
    elif sandbox == "passthrough_all":
        runner = config.get("workflow_runner")
        restrictions = (
            runner.restrictions
            if isinstance(runner, SandboxedWorkflowRunner)
            else SandboxedWorkflowRunner().restrictions
        )
        config["workflow_runner"] = SandboxedWorkflowRunner(
            restrictions=restrictions.with_passthrough_all_modules()
        )
    if passthrough:
        runner = config.get("workflow_runner")
        if isinstance(runner, SandboxedWorkflowRunner):
            config["workflow_runner"] = SandboxedWorkflowRunner(
                restrictions=runner.restrictions.with_passthrough_modules(*passthrough)
            )
    config.update(apply_poller_options(options))
    worker = Worker(**config)
    await worker.run()


def apply_poller_options(options: dict[str, Any]) -> dict[str, Any]:
    """Turn `workflow_pollers` / `activity_pollers` (ints) into the SDK's poller behaviours."""
    from temporalio.worker import PollerBehaviorSimpleMaximum

    result = dict(options)
    for key, target in (
        ("workflow_pollers", "workflow_task_poller_behavior"),
        ("activity_pollers", "activity_task_poller_behavior"),
    ):
        if key in result:
            result[target] = PollerBehaviorSimpleMaximum(maximum=int(result.pop(key)))
    return result


def _run_api(port: int) -> None:
    import uvicorn

    from app.main import create_app
    from store.settings import get_settings

    patches = {p for p in os.environ.get("BENCH_API_PATCHES", "").split(",") if p}
    if "no-sla-signal" in patches:
        from app.temporal.gateway import TemporalGateway

        async def no_signal(_self: Any, _event: Any, *_when: Any, **_options: Any) -> None:
            return None

        TemporalGateway.signal_sla = no_signal  # type: ignore[method-assign,assignment]

    plain = "asyncio-h11" in patches  # uvicorn's auto picks uvloop and httptools if installed
    uvicorn.run(
        create_app(get_settings()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="asyncio" if plain else "auto",
        http="h11" if plain else "auto",
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.harness")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("worker", help="run the product worker (benchmark subprocess)")
    api = sub.add_parser("api", help="run the API under uvicorn (benchmark subprocess)")
    api.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "worker":
        asyncio.run(_run_product_worker())
    else:
        _run_api(args.port)


if __name__ == "__main__":
    main()
