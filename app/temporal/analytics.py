"""Run analytics from Temporal visibility count queries only, never a listing, so their number
does not grow with the number of runs, and shaped so a visibility store's indexes answer them
(see `analytics_report` for the query budget and the accuracy of durations)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.runs_schemas import (
    AnalyticsReport,
    AnalyticsWindow,
    Bucket,
    DurationBand,
    DurationStats,
    RunStatus,
    StatusCounts,
    TopWorkflow,
    TrendBucket,
)
from app.temporal.errors import InvalidRunsQuery
from app.temporal.gateway import TemporalGateway
from app.temporal.runs import VISIBILITY_STATUS, as_utc, status_clause, timestamp
from temporal_edge import SearchAttr, quote

#: Visibility calls in flight at once for one report.
QUERY_CONCURRENCY = 16
#: Most buckets one analytics report may have (e.g. 200 days, or 8 days and 8 hours by hour).
MAX_BUCKETS = 200
#: Most definitions ranked for "most triggered" (the caller passes the most recently updated first).
MAX_RANKED_DEFINITIONS = 200

#: Upper edges of the `ExecutionDuration` bands, in milliseconds. Adjacent edges are at most 2x
#: apart from 50 ms to 2 minutes (at most 1.67x from 200 ms to 15 s, where runs usually end), and
#: at most 6x apart above.
DURATION_EDGES_MS: tuple[int, ...] = (
    50, 100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000,
    30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 14_400_000, 86_400_000,
)  # fmt: skip

DURATION_ACCURACY = (
    "Estimated from counts of runs per ExecutionDuration band (edges 50ms, 100ms, 200ms, 300ms, "
    "500ms, 750ms, 1s, 1.5s, 2s, 3s, 5s, 7.5s, 10s, 15s, 30s, 1m, 2m, 5m, 10m, 30m, 1h, 4h, 1d). "
    "The exact nearest-rank p95 always lies inside p95_bounds_seconds (one band: at most 1.67x "
    "wide between 200ms and 15s, at most 2x up to 2m); p95_seconds interpolates linearly inside "
    "it. The exact average always lies inside average_bounds_seconds; average_seconds counts each "
    "run at its band's midpoint (runs longer than 1 day at 1 day). Figures cover completed and "
    "failed runs that started in the window."
)

LAG_NOTE = (
    "From Temporal visibility, which lags the runs by a moment (a run that just ended may still "
    "count as running); only runs within the namespace's retention period are counted."
)


def duration_quote(ms: int) -> str:
    return quote(f"{ms}ms")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    bucket: Bucket

    @staticmethod
    def resolve(
        start: datetime | None, end: datetime | None, bucket: Bucket, now: datetime
    ) -> Window:
        """Fill the defaults (to: now; from: 24 hours before by hour, 7 days before by day) and
        check the window has between 1 and `MAX_BUCKETS` buckets."""
        end = as_utc(end) if end is not None else now
        if start is None:
            start = end - (timedelta(hours=24) if bucket == "hour" else timedelta(days=7))
        start = as_utc(start)
        if start >= end:
            raise InvalidRunsQuery("from", "must be before 'to'")
        window = Window(start, end, bucket)
        if len(window.buckets()) > MAX_BUCKETS:
            raise InvalidRunsQuery(
                "bucket",
                f"the window spans more than {MAX_BUCKETS} {bucket}s; narrow from/to or use a "
                "larger bucket",
            )
        return window

    def buckets(self) -> list[tuple[datetime, datetime]]:
        """UTC-aligned hours or days, the first and last clipped to the window."""
        step = timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)
        edge = self.start.replace(minute=0, second=0, microsecond=0)
        if self.bucket == "day":
            edge = edge.replace(hour=0)
        out: list[tuple[datetime, datetime]] = []
        while edge < self.end:
            out.append((max(edge, self.start), min(edge + step, self.end)))
            edge += step
            if len(out) > MAX_BUCKETS:
                break
        return out


def duration_stats(measured: int, below: Sequence[int], longest_possible: float) -> DurationStats:
    """Average and p95 from band counts. `below[k]` = runs with ExecutionDuration below
    `DURATION_EDGES_MS[k]`; `measured` = all of them; `longest_possible` bounds the last band
    (no run of the window can have run longer than from the window's start until now)."""
    edges = [ms / 1000 for ms in DURATION_EDGES_MS]
    # Queries run one after the other on a changing store: keep the counts monotonic.
    cumulative: list[int] = []
    for count in below:
        cumulative.append(max(count, cumulative[-1] if cumulative else 0))
    total = max(measured, cumulative[-1] if cumulative else 0)
    lowers = [0.0, *edges]
    uppers: list[float | None] = [*edges, None]
    counts = [b - a for a, b in zip([0, *cumulative], [*cumulative, total], strict=True)]
    bands = [
        DurationBand(lower_seconds=lo, upper_seconds=hi, runs=n)
        for lo, hi, n in zip(lowers, uppers, counts, strict=True)
    ]
    if total == 0:
        return DurationStats(
            runs_measured=0,
            average_seconds=None,
            average_bounds_seconds=None,
            p95_seconds=None,
            p95_bounds_seconds=None,
            bands=bands,
            accuracy=DURATION_ACCURACY,
        )
    top = max(longest_possible, edges[-1])
    his = [hi if hi is not None else top for hi in uppers]
    mids = [
        (lo + hi) / 2 if up is not None else lo
        for lo, hi, up in zip(lowers, his, uppers, strict=True)
    ]
    average = sum(n * m for n, m in zip(counts, mids, strict=True)) / total
    low = sum(n * lo for n, lo in zip(counts, lowers, strict=True)) / total
    high = sum(n * hi for n, hi in zip(counts, his, strict=True)) / total
    rank = math.ceil(0.95 * total)  # nearest rank
    seen = 0
    p95 = p95_low = p95_high = 0.0
    for n, lo, hi, up in zip(counts, lowers, his, uppers, strict=True):
        if n and seen + n >= rank:
            p95_low, p95_high = lo, hi
            position = (rank - seen - 0.5) / n
            p95 = lo + (hi - lo) * position if up is not None else lo
            break
        seen += n
    return DurationStats(
        runs_measured=total,
        average_seconds=round(average, 6),
        average_bounds_seconds=(round(low, 6), round(high, 6)),
        p95_seconds=round(p95, 6),
        p95_bounds_seconds=(p95_low, p95_high),
        bands=bands,
        accuracy=DURATION_ACCURACY,
    )


#: The closed statuses whose runs have a duration worth measuring.
MEASURED_STATUSES: tuple[RunStatus, ...] = ("completed", "failed", "timed_out")

CountQuery = Callable[[str], Awaitable[tuple[int, dict[str, int]]]]


def started_between(a: datetime, b: datetime) -> str:
    return f"StartTime >= {timestamp(a)} AND StartTime < {timestamp(b)}"


def bucket_clause(a: datetime, b: datetime) -> str:
    """Runs started in [a, b). Our runs start at once (no start delay, cron or workflow retry:
    `temporal_edge.starts`), so their ExecutionTime is their StartTime; bounding both lets a
    visibility store read one bucket through its execution-time index (the dev server's SQLite
    has none on StartTime and would read every run for every bucket)."""
    executed = f"ExecutionTime >= {timestamp(a)} AND ExecutionTime < {timestamp(b)}"
    return f"{started_between(a, b)} AND {executed}"


async def runs_below_edges(count: CountQuery, measured: str, total: int) -> list[int]:
    """For each edge of `DURATION_EDGES_MS`, how many of the `total` runs matching `measured`
    ran for less. By bisection: an edge between two edges with equal counts is not asked (at
    most one query per edge, far fewer when durations cluster), and each edge is asked on the
    side expected to hold fewer runs (`>=` and subtracted from `total` above the middle), since
    an indexed count reads the runs it counts."""
    below = [0] * len(DURATION_EDGES_MS)

    async def probe(k: int, low: int, high: int) -> int:
        edge = duration_quote(DURATION_EDGES_MS[k])
        if low + high <= total:  # about as many runs below this edge as half of `total`, or fewer
            return (await count(f"{measured} AND ExecutionDuration < {edge}"))[0]
        above = (await count(f"{measured} AND ExecutionDuration >= {edge}"))[0]
        return max(total - above, 0)

    async def fill(lo: int, hi: int, low: int, high: int) -> None:
        """Edges strictly between `lo` and `hi`, whose counts are `low` and `high` (-1 and
        len(edges) stand for 0 and `total`)."""
        if hi - lo < 2:
            return
        if low >= high:
            below[lo + 1 : hi] = [low] * (hi - lo - 1)
            return
        mid = (lo + hi) // 2
        below[mid] = found = min(max(await probe(mid, low, high), low), high)
        await asyncio.gather(fill(lo, mid, low, found), fill(mid, hi, found, high))

    await fill(-1, len(DURATION_EDGES_MS), 0, total)
    return below


def _status_counts(groups: Mapping[str, int], started: int) -> dict[str, int]:
    def get(name: RunStatus) -> int:
        return groups.get(VISIBILITY_STATUS[name], 0)

    return {
        "started": started,
        "running": get("running"),
        "completed": get("completed") + get("continued_as_new"),
        "failed": get("failed") + get("timed_out"),
        "cancelled": get("cancelled"),
        "terminated": get("terminated"),
    }


async def analytics_report(
    gateway: TemporalGateway,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    bucket: Bucket = "day",
    workflow_id: str | None = None,
    definitions: Mapping[str, str] | None = None,
    top: int = 5,
    now: datetime | None = None,
) -> AnalyticsReport:
    """Trend, rates, durations and the most triggered workflows of runs started in
    [start, end), from count queries only, so their number is bounded whatever the number of
    runs.

    Query budget (run `QUERY_CONCURRENCY` at a time): one `GROUP BY ExecutionStatus` count per
    bucket (at most `MAX_BUCKETS`), one count per ranked definition (at most
    `MAX_RANKED_DEFINITIONS` of `definitions`, id -> name, most recently updated first; only
    `workflow_id` when given) and one for `stopped`; then at most one count per duration band
    edge (`len(DURATION_EDGES_MS)` = 23, `runs_below_edges`). Totals, and the runs whose
    durations are measured, are the sums of the buckets.

    Accuracy: counts are exact as of each query (visibility lags completion by a moment). The
    average and the p95 duration come from the band counts: the exact values are guaranteed
    inside the reported bounds; see `DURATION_ACCURACY`.

    A run counts in the bucket in which it *started*, with its status *now*; "completed"
    includes runs stopped by a condition (Temporal sees both as a completed workflow); `stopped`
    (one more count, on the `RunOutcome` search attribute) says how many of them were.
    """
    now = as_utc(now) if now is not None else datetime.now(UTC)
    window = Window.resolve(start, end, bucket, now)
    base = gateway.runs_scope
    if workflow_id:
        base += f" AND {SearchAttr.DEFINITION_ID} = {quote(workflow_id)}"
    limit = asyncio.Semaphore(QUERY_CONCURRENCY)
    queries = 0

    async def count(query: str) -> tuple[int, dict[str, int]]:
        nonlocal queries
        async with limit:
            queries += 1
            return await gateway.count(query)

    in_window = f"{base} AND {started_between(window.start, window.end)}"
    buckets = window.buckets()
    trend_calls = [
        count(f"{base} AND {bucket_clause(a, b)} GROUP BY ExecutionStatus") for a, b in buckets
    ]
    ranked = [workflow_id] if workflow_id else list(definitions or {})[:MAX_RANKED_DEFINITIONS]
    rank_calls = [count(f"{in_window} AND {SearchAttr.DEFINITION_ID} = {quote(d)}") for d in ranked]
    stopped_call = count(f"{in_window} AND {status_clause('stopped')}")
    results = await asyncio.gather(*trend_calls, *rank_calls, stopped_call)
    trend_results = results[: len(buckets)]
    rank_results = results[len(buckets) : -1]
    stopped_count = results[-1][0]
    measured_count = sum(
        groups.get(VISIBILITY_STATUS[status], 0)
        for _, groups in trend_results
        for status in MEASURED_STATUSES
    )
    closed = ", ".join(quote(VISIBILITY_STATUS[status]) for status in MEASURED_STATUSES)
    measured = f"{in_window} AND ExecutionStatus IN ({closed})"
    below = await runs_below_edges(count, measured, measured_count)

    trend = [
        TrendBucket(start=a, end=b, **_status_counts(groups, total))
        for (a, b), (total, groups) in zip(buckets, trend_results, strict=True)
    ]
    totals = StatusCounts(
        **{
            name: sum(getattr(b, name) for b in trend)
            for name in ("started", "running", "completed", "failed", "cancelled", "terminated")
        }
    )
    ended = totals.completed + totals.failed + totals.cancelled + totals.terminated
    durations = duration_stats(
        measured_count,
        below,
        longest_possible=(now - window.start).total_seconds(),
    )
    names = definitions or {}
    top_workflows = sorted(
        (
            TopWorkflow(workflow_id=d, name=names.get(d), executions=n)
            for d, (n, _) in zip(ranked, rank_results, strict=True)
            if n > 0
        ),
        key=lambda t: (-t.executions, t.name or "", t.workflow_id),
    )[: max(top, 0)]
    return AnalyticsReport(
        window=AnalyticsWindow.model_validate(
            {
                "from": window.start,
                "to": window.end,
                "bucket": window.bucket,
                "workflow_id": workflow_id,
            }
        ),
        totals=totals,
        success_rate=round(totals.completed / ended, 6) if ended else None,
        failure_rate=round(totals.failed / ended, 6) if ended else None,
        stopped=min(stopped_count, totals.completed),  # queried apart: keep it consistent
        durations=durations,
        trend=trend,
        top_workflows=top_workflows,
        queries=queries,
        generated_at=now,
        note=LAG_NOTE,
    )
