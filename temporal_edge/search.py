"""The search attributes of supportflow (SPEC §5), declared once, and the visibility queries
built on them.

As Tracecat's `TemporalSearchAttr`: the enum's value is the attribute's name on the server, `kind`
its type as `temporal operator search-attribute create` spells it, `key` the SDK's typed key.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from definitions.runs import WORKFLOW_RUN, RunInput


class SearchAttr(StrEnum):
    DEFINITION_ID = "WorkflowDefinitionId"
    DEFINITION_VERSION = "WorkflowDefinitionVersion"
    TRIGGER_TYPE = "TriggerType"
    CONVERSATION_ID = "ConversationId"
    #: Upserted by a run around each wait (SPEC §2.3): `running` or `waiting`.
    RUN_PHASE = "RunPhase"
    #: While waiting: the wait's deadline.
    WAITING_UNTIL = "WaitingUntil"
    #: While waiting: what for, in words (`4h`, `customer_message`).
    WAITING_FOR = "WaitingFor"
    #: Set at the end of a run only when it ends other than as its execution status says: today
    #: "stopped" (a condition stopped it; Temporal sees a completed run). Absent otherwise.
    RUN_OUTCOME = "RunOutcome"

    @property
    def kind(self) -> Literal["Keyword", "Int", "Datetime"]:
        if self is SearchAttr.DEFINITION_VERSION:
            return "Int"
        return "Datetime" if self is SearchAttr.WAITING_UNTIL else "Keyword"

    @property
    def key(self) -> SearchAttributeKey[Any]:
        if self.kind == "Int":
            return SearchAttributeKey.for_int(self.value)
        if self.kind == "Datetime":
            return SearchAttributeKey.for_datetime(self.value)
        return SearchAttributeKey.for_keyword(self.value)


#: The phases a run upserts as `RunPhase`.
PHASE_RUNNING = "running"
PHASE_WAITING = "waiting"


def run_search_attributes(run_input: RunInput) -> TypedSearchAttributes:
    """The search attributes every WorkflowRun carries, whoever starts it."""
    values: dict[SearchAttr, Any] = {
        SearchAttr.DEFINITION_ID: run_input.definition_id,
        SearchAttr.DEFINITION_VERSION: run_input.definition_version,
        SearchAttr.TRIGGER_TYPE: run_input.definition.trigger.type,
        SearchAttr.CONVERSATION_ID: run_input.event.conversation.id,
    }
    return TypedSearchAttributes([SearchAttributePair(a.key, v) for a, v in values.items()])


#: The `RunOutcome` of a run stopped by a condition.
OUTCOME_STOPPED = "stopped"


def quote(value: str) -> str:
    """A string literal for a visibility query: single-quoted, `'` doubled, backslashes as they
    are (the list-filter parser takes them literally; checked against the dev server)."""
    return "'" + value.replace("'", "''") + "'"


#: A run that continued as new goes on in its next segment (same workflow id): the closed segment
#: is not a run of its own, so lists and counts leave it out.
NOT_A_SEGMENT = "ExecutionStatus != 'ContinuedAsNew'"


# Beside a keyword (a definition, a phase), an ExecutionStatus equality made the dev server's
# SQLite visibility read every run of that status in the namespace (~100 ms against ~4 ms with
# 20,000 runs, bench/RESULTS.md sixth session): these clauses leave it out where it adds nothing.
#: Runs waiting in a wait or wait_for: not closed (a run has no close time until then) and in
#: the waiting phase (a run cancelled while waiting keeps that phase).
WAITING_RUNS = f"CloseTime IS NULL AND {SearchAttr.RUN_PHASE} = {quote(PHASE_WAITING)}"
#: Runs stopped by a condition: only the workflow task that completes such a run sets
#: `RunOutcome` (worker/run_workflow.py `_mark_stopped`), so the attribute alone says it.
STOPPED_RUNS = f"{SearchAttr.RUN_OUTCOME} = {quote(OUTCOME_STOPPED)}"


def runs_scope(task_queue: str) -> str:
    """Our runs on our task queue: the filter every run list and count starts with, so SLA
    trackers never show up as runs, deployments sharing a namespace stay apart and a run that
    continued as new counts once."""
    return (
        f"WorkflowType = {quote(WORKFLOW_RUN)} AND TaskQueue = {quote(task_queue)} "
        f"AND {NOT_A_SEGMENT}"
    )
