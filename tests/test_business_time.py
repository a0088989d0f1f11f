"""Business-time arithmetic (definitions.business_time): properties checked with hypothesis
around the daylight-saving changes of several zones, with holidays and empty days, plus worked
examples with the schedule of SPEC §2.3.

The reference for "how much is open" is a scan, minute by minute, of `is_open` (which only reads
the local clock): every interval boundary and every DST change of the zones used falls on a whole
minute, so openness is constant within a minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from definitions.business_time import HORIZON, BusinessClock, NoOpenTime
from definitions.schedules import SUPPORT_HOURS_EXAMPLE, WEEKDAYS, Schedule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)

# Berlin and New York as asked; Santiago falls back at midnight, Havana springs forward at
# midnight, Lord Howe moves by 30 minutes; UTC never changes.
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
    "UTC",
]


def dst_changes(zone_name: str, year: int = 2026) -> list[datetime]:
    """The whole-hour UTC instants of `year` just after which the zone's offset has changed."""
    zone = ZoneInfo(zone_name)
    changes = []
    at = datetime(year, 1, 1, tzinfo=UTC)
    previous = at.astimezone(zone).utcoffset()
    while at.year == year:
        at += timedelta(hours=1)
        offset = at.astimezone(zone).utcoffset()
        if offset != previous:
            changes.append(at)
        previous = offset
    return changes


ANCHORS = {zone: dst_changes(zone) or [datetime(2026, 6, 1, tzinfo=UTC)] for zone in ZONES}
assert len(ANCHORS["Europe/Berlin"]) == 2 and len(ANCHORS["America/New_York"]) == 2


def wall(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> list[list[str]]:
    """0-3 intervals on a quarter-hour grid (so 02:00-03:00 and "24:00" come up often)."""
    points = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    points = points[: len(points) // 2 * 2]
    return [[wall(points[i] * 15), wall(points[i + 1] * 15)] for i in range(0, len(points), 2)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[BusinessClock, datetime]:
    """A clock (random hours, a few holidays) and a whole-minute instant within 4 days of one of
    its zone's DST changes."""
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(ANCHORS[zone]))
    at = anchor + draw(st.integers(-4 * 1440, 4 * 1440)) * MINUTE
    hours = {day: draw(day_hours()) for day in WEEKDAYS}
    around = anchor.date()
    holidays = draw(
        st.sets(st.dates(around - timedelta(days=6), around + timedelta(days=30)), max_size=8)
    )
    schedule = Schedule(name="random", timezone=zone, hours=hours, holidays=sorted(holidays))
    return BusinessClock(schedule), at


def open_minutes(clock: BusinessClock, start: datetime, end: datetime) -> timedelta:
    """The reference: whole minutes in [start, end) at which the clock is open."""
    total, at = timedelta(0), start
    while at < end:
        if clock.is_open(at):
            total += MINUTE
        at += MINUTE
    return total


# ---------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(
    case=cases(),
    # Seconds, or whole quarter hours (which often end exactly at a closing time).
    amount=st.integers(0, 40 * 86400) | st.integers(0, 40 * 96).map(lambda q: q * 900),
)
def test_adding_business_time_then_counting_it_back_gives_the_same_amount(
    case: tuple[BusinessClock, datetime], amount: int
) -> None:
    clock, start = case
    assume(not clock.never_open)
    added = timedelta(seconds=amount)
    end = clock.add(start, added)
    assert end >= start
    assert clock.between(start, end) == added
    if amount:
        # The earliest such instant: business time was running just before it.
        assert clock.is_open(end - TICK)


@settings(max_examples=100, deadline=None)
@given(case=cases(), span=st.integers(0, 3 * 1440))
def test_business_time_between_matches_the_minute_by_minute_scan(
    case: tuple[BusinessClock, datetime], span: int
) -> None:
    clock, start = case
    end = start + span * MINUTE
    assert clock.between(start, end) == open_minutes(clock, start, end)
    assert clock.between(end, start) == timedelta(0)


@settings(max_examples=100, deadline=None)
@given(case=cases(), first=st.integers(0, 5 * 86400), second=st.integers(0, 5 * 86400))
def test_business_time_between_adds_up_over_consecutive_spans(
    case: tuple[BusinessClock, datetime], first: int, second: int
) -> None:
    clock, start = case
    middle = start + timedelta(seconds=first, microseconds=first % 7)
    end = middle + timedelta(seconds=second)
    assert clock.between(start, end) == clock.between(start, middle) + clock.between(middle, end)


@settings(max_examples=100, deadline=None)
@given(case=cases())
def test_next_opening_is_open_and_nothing_before_it_is(
    case: tuple[BusinessClock, datetime],
) -> None:
    clock, start = case
    assume(not clock.never_open)
    opening = clock.next_opening(start)
    assert opening >= start
    assert clock.is_open(opening)
    assert clock.between(start, opening) == timedelta(0)
    assert (opening == start) == clock.is_open(start)
    scanned_until = min(opening, start + timedelta(days=2))
    assert open_minutes(clock, start, scanned_until) == timedelta(0)
    if opening > start:
        assert not clock.is_open(opening - TICK)  # an interval starts exactly there


# ---------------------------------------------------------------- worked examples

SUPPORT = Schedule.model_validate(SUPPORT_HOURS_EXAMPLE)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_friday_afternoon_plus_one_business_hour_is_monday_morning() -> None:
    clock = BusinessClock(SUPPORT)
    due = clock.add(berlin(2026, 11, 27, 16, 30), timedelta(hours=1))
    assert due == berlin(2026, 11, 30, 9, 30)
    assert due.tzinfo == UTC


def test_split_friday_skips_the_lunch_break() -> None:
    clock = BusinessClock(SUPPORT)
    assert clock.add(berlin(2026, 11, 27, 12, 30), timedelta(hours=1)) == berlin(
        2026, 11, 27, 14, 30
    )
    assert not clock.is_open(berlin(2026, 11, 27, 13, 30))
    assert clock.next_opening(berlin(2026, 11, 27, 13, 30)) == berlin(2026, 11, 27, 14)
    assert clock.between(berlin(2026, 11, 27, 12), berlin(2026, 11, 27, 15)) == timedelta(hours=2)


def test_an_amount_that_ends_at_closing_time_is_due_at_closing_time() -> None:
    clock = BusinessClock(SUPPORT)
    assert clock.add(berlin(2026, 11, 27, 16), timedelta(hours=1)) == berlin(2026, 11, 27, 17)
    monday = berlin(2026, 11, 23)
    assert clock.add(monday, timedelta(hours=8.5)) == berlin(2026, 11, 23, 17, 30)
    assert clock.is_open(berlin(2026, 11, 27, 9)) and not clock.is_open(berlin(2026, 11, 27, 17))


def test_listed_and_calendar_holidays_are_closed() -> None:
    # Thursday 24 Dec is listed; Friday 25 is a public holiday in Germany (passed in).
    clock = BusinessClock(SUPPORT, [date(2026, 12, 25), date(2026, 12, 26)])
    assert not clock.is_open(berlin(2026, 12, 24, 10))
    assert clock.add(berlin(2026, 12, 23, 17), timedelta(hours=1)) == berlin(2026, 12, 28, 9, 30)
    assert clock.next_opening(berlin(2026, 12, 23, 18)) == berlin(2026, 12, 28, 9)


def test_the_week_of_the_spec_schedule_has_its_listed_hours() -> None:
    clock = BusinessClock(SUPPORT)
    week = clock.between(berlin(2026, 11, 23), berlin(2026, 11, 30))
    assert week == timedelta(hours=4 * 8.5 + 7)


def always_open(zone: str, **changes: object) -> Schedule:
    return Schedule.model_validate(
        {
            "name": "24/7",
            "timezone": zone,
            "hours": {day: [["00:00", "24:00"]] for day in WEEKDAYS},
            **changes,
        }
    )


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("UTC", date(2026, 3, 29), 24),
    ],
)
def test_a_day_open_around_the_clock_counts_its_real_length(
    zone: str, day: date, hours: int
) -> None:
    clock = BusinessClock(always_open(zone))
    tz = ZoneInfo(zone)
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    next_midnight = datetime.combine(day + timedelta(days=1), midnight.time(), tzinfo=tz)
    assert clock.between(midnight, next_midnight) == timedelta(hours=hours)
    assert clock.add(midnight, timedelta(hours=hours)) == next_midnight


def night_shift(zone: str, day: str, start: str, end: str) -> BusinessClock:
    return BusinessClock(Schedule(name="night", timezone=zone, hours={day: [[start, end]]}))


def test_an_interval_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    # Berlin, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:00-04:00 is open one hour.
    clock = night_shift("Europe/Berlin", "sun", "02:00", "04:00")
    saturday = berlin(2026, 3, 28, 12)
    assert clock.next_opening(saturday) == datetime(2026, 3, 29, 1, tzinfo=UTC)  # 03:00 CEST
    assert clock.between(saturday, berlin(2026, 3, 30)) == timedelta(hours=1)
    assert clock.add(saturday, timedelta(minutes=30)) == berlin(2026, 3, 29, 3, 30)


def test_an_interval_entirely_in_the_skipped_hour_never_opens_that_day() -> None:
    clock = night_shift("America/New_York", "sun", "02:15", "02:45")
    saturday = datetime(2026, 3, 7, 12, tzinfo=NEW_YORK)
    assert clock.between(saturday, saturday + timedelta(days=2)) == timedelta(0)
    assert clock.next_opening(saturday) == datetime(2026, 3, 15, 2, 15, tzinfo=NEW_YORK)


def test_an_interval_in_the_doubled_hour_is_open_both_times() -> None:
    # Berlin, Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:00-02:30 happens twice.
    clock = night_shift("Europe/Berlin", "sun", "02:00", "02:30")
    first = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    second = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert clock.is_open(first) and clock.is_open(second)
    assert not clock.is_open(datetime(2026, 10, 25, 0, 45, tzinfo=UTC))  # 02:45 CEST
    assert clock.between(first, second + timedelta(hours=1)) == timedelta(hours=1)
    assert clock.add(first, timedelta(minutes=45)) == second + timedelta(minutes=15)


def test_24_00_ends_the_day_and_touches_the_next_morning() -> None:
    clock = BusinessClock(
        Schedule(
            name="late",
            timezone="Europe/Berlin",
            hours={"sat": [["22:00", "24:00"]], "sun": [["00:00", "02:00"]]},
        )
    )
    assert clock.is_open(berlin(2026, 11, 28, 23, 59, 59))
    assert clock.is_open(berlin(2026, 11, 29, 0))
    assert clock.add(berlin(2026, 11, 28, 23), timedelta(hours=2)) == berlin(2026, 11, 29, 1)
    assert clock.between(berlin(2026, 11, 28), berlin(2026, 11, 30)) == timedelta(hours=4)


def test_a_schedule_with_no_open_hours_is_never_open() -> None:
    clock = BusinessClock(Schedule(name="closed", timezone="UTC", hours={}))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.never_open and not clock.is_open(at)
    assert clock.between(at, at + timedelta(days=400)) == timedelta(0)
    assert clock.add(at, timedelta(0)) == at
    with pytest.raises(NoOpenTime, match="no open hours"):
        clock.next_opening(at)
    with pytest.raises(NoOpenTime, match="no open hours"):
        clock.add(at, timedelta(minutes=1))


def test_holidays_covering_every_open_day_stop_the_search_at_the_horizon() -> None:
    start = date(2026, 1, 1)
    every_day = [start + timedelta(days=i) for i in range(HORIZON.days + 10)]
    clock = BusinessClock(always_open("UTC"), every_day)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(NoOpenTime, match="does not open within 3653 days"):
        clock.next_opening(at)
    with pytest.raises(NoOpenTime, match="not open for 1:00:00 within 3653 days"):
        clock.add(at, timedelta(hours=1))


def test_a_90_day_wait_across_tiny_intervals_is_counted_per_day() -> None:
    # 48 one-minute intervals a day: 90 days of business time is about 7.4 years away. Whole
    # days are counted from their weekday total, so this walks ~2,700 days, not 130,000 intervals.
    tiny = [[wall(m), wall(m + 1)] for m in range(0, 1440, 30)]
    clock = BusinessClock(
        Schedule(name="tiny", timezone="Europe/Berlin", hours=dict.fromkeys(WEEKDAYS, tiny))
    )
    start = berlin(2026, 11, 27, 16, 30)
    due = clock.add(start, timedelta(days=90))
    assert clock.between(start, due) == timedelta(days=90)
    assert 2699 <= (due - start).days <= 2700
    # A minute a week is not enough within the horizon: a clear error, not an endless loop.
    weekly = BusinessClock(
        Schedule(name="weekly", timezone="UTC", hours={"mon": [["09:00", "09:01"]]})
    )
    with pytest.raises(NoOpenTime):
        weekly.add(start, timedelta(days=90))


def test_instants_must_carry_a_time_zone() -> None:
    clock = BusinessClock(SUPPORT)
    with pytest.raises(ValueError, match="no time zone"):
        clock.is_open(datetime(2026, 11, 27, 10))
    with pytest.raises(ValueError, match="negative"):
        clock.add(berlin(2026, 11, 27, 10), timedelta(minutes=-1))


def test_local_gives_weekday_and_wall_time_in_the_schedule_zone() -> None:
    local = BusinessClock(SUPPORT).local(datetime(2026, 11, 27, 23, 30, tzinfo=UTC))
    assert (WEEKDAYS[local.weekday()], local.strftime("%H:%M")) == ("sat", "00:30")
