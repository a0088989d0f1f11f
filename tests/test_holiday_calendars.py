"""Holiday calendars (store.holiday_calendars): a schedule's `holiday_calendar` expanded with the
`holidays` package, and the business clock built from it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from definitions.schedules import SUPPORT_HOURS_EXAMPLE, Schedule
from store.holiday_calendars import business_clock, check_holiday_calendar, holiday_dates

BERLIN = ZoneInfo("Europe/Berlin")


def support(**changes: object) -> Schedule:
    return Schedule.model_validate({**SUPPORT_HOURS_EXAMPLE, **changes})


def test_holiday_dates_add_the_country_and_subdivision_to_the_listed_ones() -> None:
    germany = holiday_dates(support(), [2026])
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 1, 1)} <= germany
    assert date(2026, 1, 6) not in germany  # Epiphany: Bavaria, not all of Germany
    bavaria = holiday_dates(support(holiday_calendar="DE-BY"), [2026, 2027])
    assert {date(2026, 1, 6), date(2027, 1, 6)} <= bavaria
    assert holiday_dates(support(holiday_calendar=None), [2026]) == {date(2026, 12, 24)}


def test_the_clock_skips_christmas_in_germany() -> None:
    # Wed 23 Dec 17:00 + 1 business hour: 30 min that day, then Thu 24 (listed), Fri 25 and
    # Sat 26 (German public holidays), Sunday closed: Monday 28 Dec 09:30.
    start = datetime(2026, 12, 23, 17, tzinfo=BERLIN)
    clock = business_clock(support(), start)
    assert clock.add(start, timedelta(hours=1)) == datetime(2026, 12, 28, 9, 30, tzinfo=BERLIN)
    # Next year's holidays are known too: 1 Jan 2027 is a Friday.
    new_year = datetime(2026, 12, 31, 17, 30, tzinfo=BERLIN)  # Thursday, closing
    assert clock.next_opening(new_year) == datetime(2027, 1, 4, 9, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("code", "message"),
    [("QQ", "no public-holiday calendar for country 'QQ'"), ("DE-ZZ", "no subdivision 'ZZ'")],
)
def test_an_unknown_calendar_is_rejected_at_its_field(code: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        check_holiday_calendar(support(holiday_calendar=code))
    assert raised.value.errors()[0]["loc"] == ("holiday_calendar",)
    check_holiday_calendar(support(holiday_calendar="US-CA"))
