"""Backtests (SPEC §4): what a definition would have done with the events recorded in a window.

`POST /workflows/{id}/backtest` for a saved definition (draft or active), `POST /backtest` for a
definition in the body (a template from the gallery, an edit not saved yet). Read-only: viewers
may run them. The walk is pure (definitions/backtest.py); this module reads the window's events
and the definition's schedule, then hands them over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.api.deps import CanRead, DefinitionDep, SessionDep
from app.backtest_schemas import TITLE, BacktestDefinition, BacktestWindow
from app.errors import responses
from definitions.backtest import BacktestReport, backtest, check_backtestable
from definitions.business_time import BusinessClock
from definitions.errors import NotFound, reject_at
from definitions.models import WorkflowDefinitionIn
from store import definitions_repo, events_repo, schedules_repo
from store.holiday_calendars import business_clock
from store.models import utcnow

router = APIRouter(tags=["workflows"])


def _clock(
    session: Session, definition: WorkflowDefinitionIn, around: datetime, loc: tuple[str, ...]
) -> BusinessClock | None:
    if definition.schedule is None:
        return None
    try:
        schedule = schedules_repo.get(session, definition.schedule)
    except NotFound:
        reject_at(
            (*loc, "schedule"),
            f"schedule {definition.schedule!r} does not exist: create it (PUT /schedules/"
            f"{definition.schedule}) to backtest business time",
            definition.schedule,
            title=TITLE,
        )
    return business_clock(schedule, around)


def _backtest(
    session: Session,
    definition: WorkflowDefinitionIn,
    window: BacktestWindow,
    loc: tuple[str, ...] = (),
) -> BacktestReport:
    check_backtestable(definition)
    start, end = window.bounds(utcnow())
    clock = _clock(session, definition, start, loc)
    events, truncated = events_repo.recorded_window(session, start, end, window.limit)
    return backtest(
        definition, events, window_from=start, window_to=end, truncated=truncated, clock=clock
    )


@router.post(
    "/workflows/{workflow_id}/backtest",
    response_model=BacktestReport,
    dependencies=[CanRead],
    responses=responses(401, 403, 404, 422),
)
async def backtest_workflow(
    *,
    session: SessionDep,
    row: DefinitionDep,
    window: Annotated[BacktestWindow | None, Body()] = None,
) -> BacktestReport:
    """What the workflow (draft or active) would have done with the events recorded in a window
    (default: the last 7 days, up to 10,000 events, in arrival order): events scanned and
    matched, outcomes, stops by step, actions by type, matches per day and sample
    conversations. Nothing is changed anywhere."""
    definition = definitions_repo.definition_of(row)
    return await run_in_threadpool(_backtest, session, definition, window or BacktestWindow())


@router.post(
    "/backtest",
    response_model=BacktestReport,
    dependencies=[CanRead],
    responses=responses(401, 403, 422),
)
async def backtest_definition(*, session: SessionDep, body: BacktestDefinition) -> BacktestReport:
    """Backtest a definition given in the body (a template, an unsaved edit) against the events
    recorded in a window; the same answer as POST /workflows/{id}/backtest, nothing saved."""
    return await run_in_threadpool(_backtest, session, body.definition, body, ("definition",))
