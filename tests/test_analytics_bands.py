"""The pure parts of analytics and run listing: duration bands (the stated accuracy holds for any
set of durations), bucket windows, cursors and query literals. No server needed."""

from __future__ import annotations

import asyncio
import math
import random
import re
from bisect import bisect_right
from datetime import UTC, datetime, timedelta

import pytest

from app.temporal.analytics import (
    DURATION_EDGES_MS,
    MAX_BUCKETS,
    Window,
    duration_stats,
    runs_below_edges,
)
from app.temporal.errors import InvalidRunsQuery
from app.temporal.runs import decode_cursor, encode_cursor
from definitions.runs import retry_base
from temporal_edge import quote as literal

NOW = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def stats_for(durations: list[float], longest: float = 30 * 86400.0):  # type: ignore[no-untyped-def]
    """What the gateway computes from the count queries, for known durations (seconds)."""
    edges = [ms / 1000 for ms in DURATION_EDGES_MS]
    below = [sum(1 for d in durations if d < edge) for edge in edges]
    return duration_stats(len(durations), below, longest_possible=longest)


def exact_p95(durations: list[float]) -> float:
    ordered = sorted(durations)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def below_by_bisection(durations_ms: list[int]) -> tuple[list[int], list[str]]:
    """`runs_below_edges` answered from known durations; returns the counts and the questions."""
    asked: list[str] = []

    async def count(query: str) -> tuple[int, dict[str, int]]:
        asked.append(query)
        found = re.fullmatch(r"measured AND ExecutionDuration (<|>=) '(\d+)ms'", query)
        assert found is not None, query
        edge = int(found.group(2))
        below = sum(1 for d in durations_ms if d < edge)
        return (below if found.group(1) == "<" else len(durations_ms) - below), {}

    below = asyncio.run(runs_below_edges(count, "measured", len(durations_ms)))
    return below, asked


@pytest.mark.parametrize("seed", range(25))
def test_bisection_counts_runs_below_every_edge_asking_each_edge_at_most_once(seed: int) -> None:
    rng = random.Random(seed)
    durations = [
        int(rng.lognormvariate(rng.uniform(4, 12), rng.uniform(0.1, 3))) for _ in range(300)
    ]
    below, asked = below_by_bisection(durations)
    assert below == [sum(1 for d in durations if d < edge) for edge in DURATION_EDGES_MS]
    edges_asked = [re.findall(r"'(\d+)ms'", q)[0] for q in asked]
    assert len(edges_asked) == len(set(edges_asked)) <= len(DURATION_EDGES_MS)


def test_bisection_asks_few_questions_and_each_on_its_smaller_side() -> None:
    """Runs of 3 to 7 s: the edges above 7.5 s (the middle one, asked first) are asked with
    `>=` (few runs above them), the ones below with `<`; edges between two equal counts are not
    asked."""
    durations = [3_000 + 40 * i for i in range(100)]  # 3.0 .. 6.96 s
    below, asked = below_by_bisection(durations)
    assert below == [sum(1 for d in durations if d < edge) for edge in DURATION_EDGES_MS]
    assert len(asked) <= 10, asked
    for query in asked:
        edge = int(re.findall(r"'(\d+)ms'", query)[0])
        if edge != 7_500:
            assert ("<" in query) == (edge < 7_500), query


def test_bisection_asks_nothing_without_runs() -> None:
    assert below_by_bisection([]) == ([0] * len(DURATION_EDGES_MS), [])


@pytest.mark.parametrize("seed", range(25))
def test_exact_average_and_p95_always_lie_within_the_reported_bounds(seed: int) -> None:
    rng = random.Random(seed)
    durations = [rng.lognormvariate(rng.uniform(-2, 3), rng.uniform(0.1, 1.5)) for _ in range(500)]
    stats = stats_for(durations)
    assert stats.runs_measured == 500
    assert stats.average_bounds_seconds is not None and stats.p95_bounds_seconds is not None
    low, high = stats.average_bounds_seconds
    assert low <= sum(durations) / len(durations) <= high
    p95_low, p95_high = stats.p95_bounds_seconds
    assert p95_low <= exact_p95(durations) <= p95_high
    assert stats.p95_seconds is not None and p95_low <= stats.p95_seconds <= p95_high
    assert sum(band.runs for band in stats.bands) == 500


def test_p95_band_is_at_most_one_and_two_thirds_wide_between_200ms_and_15s() -> None:
    edges = [ms / 1000 for ms in DURATION_EDGES_MS]
    for lower, upper in zip(edges, edges[1:], strict=False):
        if 0.2 <= lower and upper <= 15:
            assert upper / lower <= 5 / 3 + 1e-9, (lower, upper)
        if upper <= 120:
            assert upper / lower <= 2 + 1e-9, (lower, upper)


def test_runs_in_one_band_report_that_band() -> None:
    stats = stats_for([1.2] * 19 + [4.0])  # p95 rank 19 of 20: 1.2 s, in [1, 1.5)
    assert stats.p95_bounds_seconds == (1.0, 1.5)
    assert stats.average_bounds_seconds == pytest.approx(
        (0.95 * 1.0 + 0.05 * 3.0, 0.95 * 1.5 + 0.05 * 5.0)
    )


def test_no_runs_means_no_figures() -> None:
    stats = stats_for([])
    assert stats.runs_measured == 0
    assert stats.average_seconds is None and stats.p95_seconds is None
    assert len(stats.bands) == len(DURATION_EDGES_MS) + 1


def test_runs_longer_than_the_last_edge_are_bounded_by_the_window() -> None:
    stats = stats_for([2 * 86400.0] * 3, longest=3 * 86400.0)
    assert stats.p95_bounds_seconds == (86400.0, 3 * 86400.0)
    assert stats.average_bounds_seconds == (86400.0, 3 * 86400.0)


def test_counts_that_moved_between_queries_stay_monotonic() -> None:
    below = [0] * len(DURATION_EDGES_MS)
    below[bisect_right([ms / 1000 for ms in DURATION_EDGES_MS], 1.0)] = 5
    below[-1] = 4  # a later query saw fewer (lag): never a negative band
    stats = duration_stats(4, below, longest_possible=100.0)
    assert all(band.runs >= 0 for band in stats.bands)
    assert stats.runs_measured == 5


def test_hour_buckets_are_utc_aligned_and_clipped_to_the_window() -> None:
    window = Window.resolve(NOW - timedelta(hours=2), NOW, "hour", NOW)
    assert window.buckets() == [
        (NOW - timedelta(hours=2), datetime(2026, 11, 27, 9, tzinfo=UTC)),
        (datetime(2026, 11, 27, 9, tzinfo=UTC), datetime(2026, 11, 27, 10, tzinfo=UTC)),
        (datetime(2026, 11, 27, 10, tzinfo=UTC), NOW),
    ]


def test_default_windows_are_a_day_by_hour_and_a_week_by_day() -> None:
    assert Window.resolve(None, None, "hour", NOW).start == NOW - timedelta(hours=24)
    by_day = Window.resolve(None, None, "day", NOW)
    assert by_day.start == NOW - timedelta(days=7)
    assert len(by_day.buckets()) == 8  # a partial day at each end


def test_a_window_with_too_many_buckets_names_the_bucket() -> None:
    with pytest.raises(InvalidRunsQuery) as caught:
        Window.resolve(NOW - timedelta(hours=MAX_BUCKETS + 1), NOW, "hour", NOW)
    assert caught.value.field == "bucket"
    with pytest.raises(InvalidRunsQuery) as backwards:
        Window.resolve(NOW, NOW - timedelta(hours=1), "hour", NOW)
    assert backwards.value.field == "from"


def test_cursor_round_trips_and_rejects_garbage() -> None:
    token = b'{"CloseTime":"2026-11-28T01:43:07Z","RunID":"01a2"}'
    cursor = encode_cursor(token)
    assert cursor is not None and decode_cursor(cursor) == token
    assert encode_cursor(None) is None and decode_cursor(None) is None
    with pytest.raises(InvalidRunsQuery) as caught:
        decode_cursor("not base64!")
    assert caught.value.field == "cursor"


def test_literals_double_single_quotes_and_keep_backslashes() -> None:
    assert literal("o'brien") == "'o''brien'"
    assert literal("a\\b") == "'a\\b'"


def test_retries_of_retries_are_numbered_on_the_first_run() -> None:
    assert retry_base("run:wf_1:evt-1:retry:3") == "run:wf_1:evt-1"
    assert retry_base("run:wf_1:evt-1") == "run:wf_1:evt-1"
