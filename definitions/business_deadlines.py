"""Deadlines counted in business time, as the conversation tracker asks for them (SPEC §2.3).

The tracker never does business-time arithmetic itself: time zones and holiday calendars must not
enter workflow replay. When a clock or an idle period needs a business deadline, the tracker asks
the local activity `compute_business_deadlines` once (activities/business_deadlines.py), keeps the
absolute instant it answers under `business_key(schedule, seconds)`, and never asks again for that
clock start or period: a schedule edited later moves no running deadline.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

ACT_COMPUTE_BUSINESS_DEADLINES = "compute_business_deadlines"


def business_key(schedule: str, seconds: int) -> str:
    """Which business deadline of one start: the schedule and the amount (a definition edited to
    another amount or schedule gets a new deadline; one edited elsewhere keeps its own)."""
    return f"{schedule}|{seconds}"


class BusinessDeadlineRequest(BaseModel):
    schedule: str = Field(description="Schedule id")
    start: datetime = Field(description="When the clock or idle period started")
    seconds: int = Field(gt=0, description="Business time to add")

    @property
    def key(self) -> str:
        return business_key(self.schedule, self.seconds)


class BusinessDeadline(BaseModel):
    due_at: datetime | None = Field(
        default=None, description="start + seconds of open time; None when it cannot be computed"
    )
    error: str | None = Field(default=None, description="Why not (missing schedule, never open)")


class BusinessDeadlinesInput(BaseModel):
    requests: list[BusinessDeadlineRequest]


class BusinessDeadlines(BaseModel):
    results: list[BusinessDeadline] = Field(description="One per request, in order")
