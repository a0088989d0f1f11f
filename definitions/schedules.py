"""Business-hours schedules (SPEC §2.3): the `Schedule` model.

A schedule names an IANA time zone, open intervals per weekday as `["HH:MM", "HH:MM"]` wall-clock
times (`"24:00"` ends a day; a day's intervals are listed in order and may not overlap), holiday
dates, and optionally a country's public holidays (`holiday_calendar`, expanded outside this pure
package). The arithmetic on a schedule lives in `definitions.business_time`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from definitions.errors import reject_at

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday()
MAX_INTERVALS_PER_DAY = 48
TITLE = "Schedule"

SUPPORT_HOURS_EXAMPLE: dict[str, Any] = {
    "name": "Support hours",
    "timezone": "Europe/Berlin",
    "hours": {
        "mon": [["09:00", "17:30"]],
        "tue": [["09:00", "17:30"]],
        "wed": [["09:00", "17:30"]],
        "thu": [["09:00", "17:30"]],
        "fri": [["09:00", "13:00"], ["14:00", "17:00"]],
        "sat": [],
        "sun": [],
    },
    "holidays": ["2026-12-24"],
    "holiday_calendar": "DE",
}


def minutes_of(wall_time: str) -> int:
    """`"09:30"` -> 570; `"24:00"` -> 1440."""
    hours, minutes = wall_time.split(":")
    return int(hours) * 60 + int(minutes)


WallTime = Annotated[
    str,
    Field(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description='Local wall-clock time "HH:MM", from "00:00" to "24:00"',
        examples=["09:00"],
    ),
]


def _opens_before_it_closes(interval: tuple[str, str]) -> tuple[str, str]:
    start, end = interval
    if minutes_of(start) >= minutes_of(end):
        raise ValueError(f"an interval must open before it closes: {start} is not before {end}")
    return interval


Interval = Annotated[tuple[WallTime, WallTime], AfterValidator(_opens_before_it_closes)]


def _day(name: str) -> Any:
    return Field(
        default=[],
        max_length=MAX_INTERVALS_PER_DAY,
        description=f"Open intervals on {name}, in order, not overlapping; empty = closed",
    )


class WeeklyHours(BaseModel):
    """Open intervals per weekday; a missing or empty day is closed all day."""

    model_config = ConfigDict(extra="forbid")

    mon: list[Interval] = _day("Monday")
    tue: list[Interval] = _day("Tuesday")
    wed: list[Interval] = _day("Wednesday")
    thu: list[Interval] = _day("Thursday")
    fri: list[Interval] = _day("Friday")
    sat: list[Interval] = _day("Saturday")
    sun: list[Interval] = _day("Sunday")

    @model_validator(mode="after")
    def _in_order_without_overlap(self) -> WeeklyHours:
        for day in WEEKDAYS:
            intervals = self.of(day)
            for index in range(1, len(intervals)):
                previous_end, start = intervals[index - 1][1], intervals[index][0]
                if minutes_of(start) < minutes_of(previous_end):
                    reject_at(
                        (day, index),
                        f"this interval opens at {start}, before the previous one closes "
                        f"({previous_end}): list a day's intervals in order, without overlaps",
                        list(intervals[index]),
                        title=TITLE,
                        kind="invalid_schedule",
                    )
        return self

    def of(self, day: str) -> list[tuple[str, str]]:
        """The intervals of `day` ("mon".."sun")."""
        intervals: list[tuple[str, str]] = getattr(self, day)
        return intervals


class Schedule(BaseModel):
    """Business hours: when a team is open, in one time zone."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [SUPPORT_HOURS_EXAMPLE]}
    )

    name: str = Field(min_length=1, max_length=200, description="Name", examples=["Support hours"])
    timezone: str = Field(
        description="IANA time zone the hours are in (daylight saving is followed)",
        examples=["Europe/Berlin"],
    )
    hours: WeeklyHours = Field(description="Open intervals per weekday, mon..sun")
    holidays: list[date] = Field(
        default=[],
        max_length=1000,
        description="Dates (YYYY-MM-DD, local) on which it is closed all day",
        examples=[["2026-12-24"]],
    )
    holiday_calendar: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$",
        description=(
            "ISO country code, optionally with a subdivision (e.g. DE or DE-BY): that country's "
            "public holidays are closed too"
        ),
        examples=["DE"],
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'"
            ) from None
        return name

    @field_validator("holidays")
    @classmethod
    def _sorted_unique(cls, holidays: list[date]) -> list[date]:
        return sorted(set(holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def country(self) -> tuple[str, str | None] | None:
        """`holiday_calendar` split into (country, subdivision), or None."""
        if self.holiday_calendar is None:
            return None
        country, _, subdivision = self.holiday_calendar.partition("-")
        return country, subdivision or None
