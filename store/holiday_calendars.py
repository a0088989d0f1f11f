"""Public holidays of a schedule's `holiday_calendar`, from the `holidays` package.

`definitions.business_time` is pure and takes holiday dates as an argument; this module expands
`"DE"` or `"DE-BY"` into dates for the years a computation needs. A calendar only knows the years
it was expanded for: `business_clock` covers the year before the instant through `years_ahead`
after it, enough for any wait of the language (at most 90 days, about a year in office hours).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache

import holidays as holiday_data

from definitions.business_time import BusinessClock, utc_instant
from definitions.errors import reject_at
from definitions.schedules import TITLE, Schedule


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    # Cached per (calendar, year): a year's public holidays never change within a process.
    return frozenset(holiday_data.country_holidays(country, subdiv=subdivision, years=year))


def check_holiday_calendar(schedule: Schedule) -> None:
    """Reject (pydantic ValidationError at `holiday_calendar`) a calendar the package lacks."""
    if schedule.country is None:
        return
    country, subdivision = schedule.country
    supported = holiday_data.list_supported_countries()
    if country not in supported:
        message = f"no public-holiday calendar for country {country!r}"
    elif subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(code for code in supported[country] if len(code) <= 3)
        message = f"{country} has no subdivision {subdivision!r}; known: {known}"
    else:
        return
    reject_at(
        ("holiday_calendar",),
        message,
        schedule.holiday_calendar,
        title=TITLE,
        kind="invalid_schedule",
    )


def holiday_dates(schedule: Schedule, years: Iterable[int]) -> frozenset[date]:
    """The schedule's listed holidays plus its calendar's public holidays in `years`."""
    dates = set(schedule.holidays)
    if schedule.country is not None:
        country, subdivision = schedule.country
        for year in years:
            dates |= _public_holidays(country, subdivision, year)
    return frozenset(dates)


def business_clock(schedule: Schedule, around: datetime, *, years_ahead: int = 2) -> BusinessClock:
    """A clock for computations starting near `around`, with its calendar's holidays from the
    year before through `years_ahead` years after."""
    year = utc_instant(around).year
    return BusinessClock(schedule, holiday_dates(schedule, range(year - 1, year + years_ahead + 1)))
