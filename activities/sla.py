"""Activities of the SLA tracker (`ConversationSla`): threshold lookup and breach-run start.

A breach starts a normal `WorkflowRun` from this activity (not as a child workflow of the tracker):
- the run is independent of the tracker's lifetime (the tracker continues-as-new, ends on
  resolution, may be terminated or reset) without any parent-close policy to get right;
- the definition is re-read at fire time, so a definition deactivated after the tracker's last
  lookup never fires, and the run carries the version stored now; the outcome also carries the
  store's SLA definitions version (store/sla_version.py), which tells the tracker to look the
  definitions up again when any of them changed;
- a deterministic id with `REJECT_DUPLICATE` makes a retried activity or a replayed tracker start
  nothing twice, and the memo naming the clock start tells a duplicate from an id taken by an
  earlier tracker of the same conversation (a reopened conversation): then the next n is used.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.idle import idle_definition_from_row
from activities.tracker_definitions import DUE_TOLERANCE, active_definition
from definitions.context import SlaInfo
from definitions.models import SlaBreachTrigger
from definitions.runs import RunInput
from definitions.sla import (
    ACT_LOOKUP_SLA_DEFINITIONS,
    ACT_START_SLA_BREACH_RUN,
    SlaBreachInput,
    SlaBreachOutcome,
    SlaDefinition,
    SlaDefinitions,
    SlaLookupInput,
    breach_run_id,
)
from store import definitions_repo, sla_version
from store.db import read_session
from store.models import WorkflowDefinitionRow
from temporal_edge import Client, start_breach_run

SLA_TRIGGER = "sla_breach"
ERR_NO_FREE_RUN_ID = "SlaBreachRunIdsExhausted"
# How many ids taken by earlier trackers of the conversation a breach may skip.
MAX_NUMBER_PROBES = 100


def sla_definition_from_row(row: WorkflowDefinitionRow) -> SlaDefinition | None:
    """The row as an active sla_breach definition, or None when it is not one (any more)."""
    definition = active_definition(row, SLA_TRIGGER)
    if definition is None:
        return None
    trigger = definition.trigger
    if not isinstance(trigger, SlaBreachTrigger):
        return None
    return SlaDefinition(
        id=row.id,
        version=row.version,
        definition=definition,
        sla_type=trigger.sla_type,
        threshold=trigger.threshold,
        threshold_seconds=trigger.threshold_seconds,
        business_hours=trigger.business_hours,
        schedule=definition.schedule,
    )


def clock_memo(clock: str, started_at: datetime) -> str:
    return f"{clock}@{started_at.isoformat()}"


class SlaActivities:
    """Built with the database engine; the Temporal client is the worker's (`activity.client()`)
    unless one is given."""

    def __init__(self, engine: Engine, client: Client | None = None) -> None:
        self._engine = engine
        self._client = client

    # -------------------------------------------------------------- lookup

    def _active_definitions(self, known_version: int | None) -> SlaDefinitions:
        with read_session(self._engine) as session:
            # The version first: a save committed between the two reads makes the tracker look
            # up once more later, never miss the change.
            version = sla_version.current(session)
            if version == known_version:
                return SlaDefinitions(version=version, unchanged=True)
            rows = definitions_repo.active_tracker_rows(session)
        found = (sla_definition_from_row(row) for row in rows)
        definitions = sorted((d for d in found if d is not None), key=lambda d: d.id)
        idle_found = (idle_definition_from_row(row) for row in rows)
        idle = sorted((d for d in idle_found if d is not None), key=lambda d: d.id)
        return SlaDefinitions(definitions=definitions, idle=idle, version=version)

    def _definition(self, definition_id: str) -> tuple[SlaDefinition | None, int]:
        """The definition as stored now, and the definitions version."""
        with read_session(self._engine) as session:
            version = sla_version.current(session)
            row = session.get(WorkflowDefinitionRow, definition_id)
        return (sla_definition_from_row(row) if row is not None else None), version

    @activity.defn(name=ACT_LOOKUP_SLA_DEFINITIONS)
    async def lookup_sla_definitions(self, request: SlaLookupInput) -> SlaDefinitions:
        """The active sla_breach (every SLA type) and conversation_idle definitions, frozen as
        stored now, with the definitions version; only the version when it is the one the
        tracker knows.
        Thresholds do not depend on the conversation (SPEC §2.1 has no filters)."""
        return await asyncio.to_thread(self._active_definitions, request.known_version)

    # -------------------------------------------------------------- breach

    @activity.defn(name=ACT_START_SLA_BREACH_RUN)
    async def start_sla_breach_run(self, request: SlaBreachInput) -> SlaBreachOutcome:
        """Start the WorkflowRun of one breach, once; re-checks the definition first."""
        current, version = await asyncio.to_thread(self._definition, request.definition.id)
        if current is None or current.sla_type != request.clock:
            return SlaBreachOutcome(
                outcome="inactive", number=request.number, definitions_version=version
            )
        if current.business_schedule is None:
            due_at = request.clock_started_at + timedelta(seconds=current.threshold_seconds)
        elif request.due_at is not None and current.timing() == request.definition.timing():
            due_at = request.due_at  # computed by the tracker at the clock's start
        else:  # counted in business time now, or in another amount: the tracker recomputes
            due_at = datetime.max.replace(tzinfo=request.fired_at.tzinfo)
        if due_at > request.fired_at + DUE_TOLERANCE:
            return SlaBreachOutcome(
                outcome="not_due",
                number=request.number,
                definition=current,
                definitions_version=version,
            )

        client = self._client or activity.client()
        memo = clock_memo(request.clock, request.clock_started_at)
        elapsed = (request.fired_at - request.clock_started_at).total_seconds() / 60
        sla = SlaInfo(
            type=request.clock,
            elapsed_minutes=round(elapsed, 2),
            threshold=current.threshold,
            clock_started_at=request.clock_started_at,
        )
        number = request.number
        for _ in range(MAX_NUMBER_PROBES):
            run_id = breach_run_id(current.id, request.conversation_id, request.clock, number)
            run_input = RunInput(
                definition_id=current.id,
                definition_version=current.version,
                definition=current.definition,
                event=request.event,
                sla=sla,
                idempotency_scope=run_id,
            )
            started = await start_breach_run(
                client,
                run_input,
                workflow_id=run_id,
                task_queue=activity.info().task_queue,
                clock_memo=memo,
            )
            if started == "already_started":
                return SlaBreachOutcome(
                    outcome="already_started",
                    run_id=run_id,
                    number=number,
                    definition=current,
                    definitions_version=version,
                )
            if started == "id_taken":
                number += 1  # taken by an earlier start of this clock (a reopened conversation)
                continue
            activity.logger.info("SLA breach %s started", run_id)
            return SlaBreachOutcome(
                outcome="started",
                run_id=run_id,
                number=number,
                definition=current,
                definitions_version=version,
            )
        raise ApplicationError(
            f"no free breach run id after {MAX_NUMBER_PROBES} numbers",
            type=ERR_NO_FREE_RUN_ID,
            non_retryable=True,
        )
