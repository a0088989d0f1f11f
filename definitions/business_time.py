"""Business-time arithmetic on a `Schedule`: open at an instant, next opening, add business time,
business time between two instants. Pure: no clock (instants are arguments), and the holidays of
`holiday_calendar` are passed in by the caller (see `store.holiday_calendars`).

What "open" means, across daylight saving too: the schedule is open at an instant when the local
clock then shows a time inside one of that local date's intervals, and that date is not a holiday.
So a wall time the clocks skip is never shown (an interval 02:00-04:00 on the night Berlin springs
forward is open one real hour, 03:00-04:00 CEST), and a doubled hour is lived twice (an interval
02:00-02:30 on the night it falls back is open for both occurrences, one real hour).

How it stays linear and bounded: time is walked in chunks (from a local midnight or a DST change
to the next one, at most a day each); a whole ordinary day is counted from its precomputed weekday
total without looking at its intervals. Searches stop after `HORIZON` (about ten years) and raise
`NoOpenTime`; a schedule with no open hours at all raises at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from definitions.schedules import WEEKDAYS, Schedule, minutes_of

ZERO = timedelta(0)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
HORIZON = timedelta(days=3653)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NoOpenTime(ValueError):
    """The schedule is not open (long enough) within `HORIZON` of the instant asked about."""


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Instants [start, end) that share one local date and one UTC offset."""

    start: datetime
    end: datetime
    day: date
    offset: timedelta
    whole_day: bool  # from local 00:00 to 24:00 with no DST change inside


def utc_instant(at: datetime) -> datetime:
    """`at` in UTC; naive datetimes are refused (an instant needs a zone)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"instant {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


class BusinessClock:
    """A schedule's business time, with the holidays of its calendar (`calendar_holidays`) added to
    its listed ones. Instants in, UTC instants out; amounts are timedeltas."""

    def __init__(self, schedule: Schedule, calendar_holidays: Iterable[date] = ()) -> None:
        self.schedule = schedule
        self.zone = ZoneInfo(schedule.timezone)
        self.holidays = frozenset(schedule.holidays) | frozenset(calendar_holidays)
        # Per weekday (0 = Monday): intervals as offsets from local midnight, and their total.
        self._wall = [
            [
                (timedelta(minutes=minutes_of(s)), timedelta(minutes=minutes_of(e)))
                for s, e in schedule.hours.of(day)
            ]
            for day in WEEKDAYS
        ]
        self._wall_total = [sum((e - s for s, e in day), ZERO) for day in self._wall]
        self.never_open = not any(self._wall)

    # ------------------------------------------------------------ queries

    def local(self, at: datetime) -> datetime:
        """`at` on the schedule's local clock (for `time.weekday` / `time.local_time`)."""
        return utc_instant(at).astimezone(self.zone)

    def is_open(self, at: datetime) -> bool:
        """Whether the schedule is open at `at` (intervals include their opening minute, not
        their closing one)."""
        local = self.local(at)
        day = local.date()
        if day in self.holidays:
            return False
        since_midnight = local.replace(tzinfo=None) - datetime.combine(day, time())
        return any(s <= since_midnight < e for s, e in self._wall[day.weekday()])

    def next_opening(self, at: datetime) -> datetime:
        """`at` if the schedule is open then, else the instant it next opens (`NoOpenTime` if
        that is not within `HORIZON`)."""
        start = utc_instant(at)
        self._require_open_hours()
        for chunk in self._chunks(start, start + HORIZON):
            for opens, _ in self._open_in(chunk):
                return opens
        raise NoOpenTime(
            f"schedule {self.schedule.name!r} does not open within {HORIZON.days} days "
            f"of {start.isoformat()}"
        )

    def add(self, at: datetime, amount: timedelta) -> datetime:
        """The earliest instant by which `amount` of business time has passed since `at`: `at`
        itself for zero, a closing time when the amount ends exactly there. `NoOpenTime` when the
        schedule does not have that much open time within `HORIZON`."""
        start = utc_instant(at)
        if amount < ZERO:
            raise ValueError(f"cannot add a negative business time ({amount})")
        if amount == ZERO:
            return start
        self._require_open_hours()
        remaining = amount
        for chunk in self._chunks(start, start + HORIZON):
            if self._closed_all_day(chunk.day):
                continue
            total = self._wall_total[chunk.day.weekday()]
            if chunk.whole_day and total < remaining:
                remaining -= total
                continue
            for opens, closes in self._open_in(chunk):
                if closes - opens >= remaining:
                    return opens + remaining
                remaining -= closes - opens
        raise NoOpenTime(
            f"schedule {self.schedule.name!r} is not open for {amount} within {HORIZON.days} "
            f"days of {start.isoformat()}"
        )

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (zero when `end` is not after `start`)."""
        first, last = utc_instant(start), utc_instant(end)
        if last <= first or self.never_open:
            return ZERO
        total = ZERO
        for chunk in self._chunks(first, last):
            if self._closed_all_day(chunk.day):
                continue
            if chunk.whole_day:
                total += self._wall_total[chunk.day.weekday()]
            else:
                total += sum((closes - opens for opens, closes in self._open_in(chunk)), ZERO)
        return total

    # ------------------------------------------------------------ walking time

    def _require_open_hours(self) -> None:
        if self.never_open:
            raise NoOpenTime(f"schedule {self.schedule.name!r} has no open hours on any day")

    def _closed_all_day(self, day: date) -> bool:
        return day in self.holidays or not self._wall[day.weekday()]

    def _offset(self, at: datetime) -> timedelta:
        offset = at.astimezone(self.zone).utcoffset()
        assert offset is not None
        return offset

    def _chunks(self, start: datetime, until: datetime) -> Iterator[_Chunk]:
        """Consecutive chunks covering [start, until) (the first and last one clipped)."""
        at = start
        while at < until:
            offset = self._offset(at)
            day = (at + offset).date()
            midnight = datetime.combine(day, time(), tzinfo=UTC) - offset  # local 00:00
            end = midnight + DAY  # local 24:00, if the offset holds all day
            if self._offset(end - timedelta(microseconds=1)) != offset:
                end = self._change_after(at, end, offset)
            whole_day = at == midnight and end == midnight + DAY
            yield _Chunk(at, min(end, until), day, offset, whole_day and end <= until)
            at = end

    def _change_after(self, at: datetime, before: datetime, offset: timedelta) -> datetime:
        """The DST change in (at, before): the first whole second whose offset is not `offset`
        (zones change offsets on whole seconds)."""
        low = (at - _EPOCH) // SECOND  # offset(low) == offset
        high = -((_EPOCH - before) // SECOND)  # ceil; offset(high) != offset
        while high - low > 1:
            middle = (low + high) // 2
            if self._offset(_EPOCH + middle * SECOND) == offset:
                low = middle
            else:
                high = middle
        return _EPOCH + high * SECOND

    def _open_in(self, chunk: _Chunk) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals of the chunk's local date, as UTC instants clipped to the chunk."""
        if self._closed_all_day(chunk.day):
            return
        midnight = datetime.combine(chunk.day, time(), tzinfo=UTC) - chunk.offset
        for s, e in self._wall[chunk.day.weekday()]:
            opens, closes = max(chunk.start, midnight + s), min(chunk.end, midnight + e)
            if opens < closes:
                yield opens, closes
