"""The idle fire activity of the conversation tracker: start the `WorkflowRun` of one
conversation_idle definition for one idle period, once (definitions/idle.py says what a period is).

As a breach (activities/sla.py), through `temporal_edge.start_breach_run`: a deterministic id
(`run:{workflow_id}:idle:{conversation_id}:{period_start}`) with `REJECT_DUPLICATE`, so a retried
activity or a replayed tracker starts nothing twice. Before starting, it re-reads what may have
changed since the tracker armed its timer: the definition (still active, same timing) and the desk
store (`desk.idleness`: still idle in this period, in one of the statuses).
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.tracker_definitions import DUE_TOLERANCE, active_definition
from definitions.idle import (
    ACT_START_IDLE_RUN,
    IdleDefinition,
    IdleFireInput,
    IdleFireOutcome,
    idle_run_id,
    idle_timer_summary,
    period_memo,
)
from definitions.models import ConversationIdleTrigger
from definitions.runs import RunInput
from definitions.vocabulary import IDLE_TRIGGER
from desk.idleness import Idleness, idleness
from store import sla_version
from store.db import read_session
from store.models import WorkflowDefinitionRow
from temporal_edge import Client, start_breach_run


def idle_definition_from_row(row: WorkflowDefinitionRow) -> IdleDefinition | None:
    """The row as an active conversation_idle definition, or None when it is not one (any more)."""
    definition = active_definition(row, IDLE_TRIGGER)
    if definition is None:
        return None
    trigger = definition.trigger
    if not isinstance(trigger, ConversationIdleTrigger):
        return None
    return IdleDefinition(
        id=row.id,
        version=row.version,
        definition=definition,
        waiting_on=trigger.waiting_on,
        idle_for=trigger.idle_for,
        idle_seconds=trigger.idle_seconds,
        business_hours=trigger.business_hours,
        schedule=definition.schedule,
        statuses=list(trigger.statuses),
    )


class IdleActivities:
    """Built with the database engine; the Temporal client is the worker's unless one is given."""

    def __init__(self, engine: Engine, client: Client | None = None) -> None:
        self._engine = engine
        self._client = client

    def _read(self, request: IdleFireInput) -> tuple[IdleDefinition | None, int, Idleness]:
        """The definition as stored now, the definitions version, and the desk's idleness."""
        with read_session(self._engine) as session:
            version = sla_version.current(session)
            row = session.get(WorkflowDefinitionRow, request.definition.id)
            found = idleness(
                session,
                request.conversation_id,
                request.side,
                request.message_id,
                request.period_started_at,
            )
        return (idle_definition_from_row(row) if row is not None else None), version, found

    @activity.defn(name=ACT_START_IDLE_RUN)
    async def start_idle_run(self, request: IdleFireInput) -> IdleFireOutcome:
        """Start the run of one idle period, once; re-checks the definition and the desk."""
        current, version, desk = await asyncio.to_thread(self._read, request)
        if current is None:
            return IdleFireOutcome(outcome="inactive", definitions_version=version)
        if current.timing() != request.definition.timing():
            return IdleFireOutcome(
                outcome="changed", definition=current, definitions_version=version
            )
        if request.due_at > request.fired_at + DUE_TOLERANCE:
            return IdleFireOutcome(
                outcome="not_due", definition=current, definitions_version=version
            )
        answer = IdleFireOutcome(
            outcome="not_idle",
            definition=current,
            definitions_version=version,
            status=desk.status,
            reason=desk.reason,
        )
        if not desk.idle:
            return answer
        if not current.fires_in(desk.status):
            reason = f"status {desk.status!r} is not one of {current.statuses}"
            return answer.model_copy(update={"outcome": "status", "reason": reason})

        run_id = idle_run_id(current.id, request.conversation_id, request.period_started_at)
        run_input = RunInput(
            definition_id=current.id,
            definition_version=current.version,
            definition=current.definition,
            event=request.event,
            idempotency_scope=run_id,
        )
        client = self._client or activity.client()
        started = await start_breach_run(
            client,
            run_input,
            workflow_id=run_id,
            task_queue=activity.info().task_queue,
            clock_memo=period_memo(request.side, request.period_started_at),
            summary=(
                f"{idle_timer_summary(current)} on conversation {request.conversation_id} "
                f"— {current.definition.name}"
            ),
        )
        # "id_taken": the same definition and period start fired from another tracker of the
        # conversation; once per period either way.
        outcome = "started" if started == "started" else "already_started"
        if outcome == "started":
            activity.logger.info("idle run %s started", run_id)
        return answer.model_copy(update={"outcome": outcome, "run_id": run_id, "reason": ""})
