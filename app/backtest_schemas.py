"""Bodies of the backtest endpoints (SPEC §4): the window, and for `POST /backtest` the definition.

The window is `[from, to)` by arrival time (UTC); defaults: `to` now, `from` 7 days before `to`.
Every problem is a 422 naming the field (`from` after `to`, `limit` out of range).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from definitions.errors import reject_at
from definitions.models import WorkflowDefinitionIn
from definitions.utc import as_utc

DEFAULT_WINDOW = timedelta(days=7)
#: The longest window (events are kept 30 days by default, at most 365).
MAX_WINDOW = timedelta(days=366)
MAX_EVENTS = 10_000
TITLE = "Backtest"

_EXAMPLE: dict[str, Any] = {
    "from": "2026-11-20T00:00:00Z",
    "to": "2026-11-27T00:00:00Z",
    "limit": 10000,
}


class BacktestWindow(BaseModel):
    """Body of POST /workflows/{id}/backtest (optional: the last 7 days, up to 10,000 events)."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"examples": [_EXAMPLE]}
    )

    window_from: datetime | None = Field(
        default=None,
        alias="from",
        description="Start of the window, by arrival time (default: 7 days before `to`)",
    )
    window_to: datetime | None = Field(
        default=None, alias="to", description="End of the window, exclusive (default: now)"
    )
    limit: int = Field(
        default=MAX_EVENTS,
        ge=1,
        le=MAX_EVENTS,
        description="At most this many events, the earliest of the window first",
    )

    @model_validator(mode="after")
    def _ordered(self) -> BacktestWindow:
        start, end = as_utc(self.window_from), as_utc(self.window_to)
        if start is not None and end is not None:
            self._check(start, end)
        return self

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The window in UTC with the defaults filled in."""
        end = as_utc(self.window_to) or now
        try:
            start = as_utc(self.window_from) or end - DEFAULT_WINDOW
        except OverflowError:  # `to` in the first week of year 1
            reject_at(("to",), "is too early for a 7-day window", self.window_to, title=TITLE)
        self._check(start, end)
        return start, end

    def _check(self, start: datetime, end: datetime) -> None:
        """422 at `from`: after `to` (given, or now), or a window longer than `MAX_WINDOW`."""
        if start >= end:
            message = "must be before 'to'" + ("" if self.window_to else " (default: now)")
            reject_at(("from",), message, self.window_from, title=TITLE)
        if end - start > MAX_WINDOW:
            message = f"the window may span at most {MAX_WINDOW.days} days"
            reject_at(("from",), message, self.window_from, title=TITLE)


class BacktestDefinition(BacktestWindow):
    """Body of POST /backtest: a definition that need not be saved (a template, an edit in
    progress) and the window."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "definition": {
                        "name": "Tag refunds",
                        "trigger": {"type": "new_message", "sender_types": ["customer"]},
                        "steps": [
                            {
                                "id": "tag",
                                "type": "action",
                                "action": "add_tag",
                                "params": {"tags": ["refund"]},
                            }
                        ],
                    },
                }
            ]
        },
    )

    definition: WorkflowDefinitionIn = Field(description="The definition to backtest")
