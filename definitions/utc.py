"""Aware UTC datetimes everywhere: the one conversion helper, pure so workflow code may use it.

The clock itself (`utcnow()`) lives outside `definitions/`, in `store.models`: workflow code reads
`workflow.now()` and never the wall clock.
"""

from datetime import UTC, datetime
from typing import overload

__all__ = ["UTC", "as_utc"]


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """`value` in UTC; a naive datetime is taken as UTC (SQLite hands them back naive)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
