"""Events caused by runs (a `change_status` action) go through the same ingestion as POST /events.

`TemporalRunStarter` is the Temporal side of `store.ingest.RunStarter`:
- `start_run` starts workflow type "WorkflowRun" (by name) with id
  `run_workflow_id(definition_id, event_id)`, the four search attributes, `USE_EXISTING` for a run
  that is still going and `REJECT_DUPLICATE` for one that has closed — so the same id twice is
  never a second run — and treats WorkflowAlreadyStartedError as success.
- `signal_sla` signal-with-starts "ConversationSla" `sla_workflow_id(conversation)` with the
  `SLA_EVENT_SIGNAL` signal carrying `SlaSignal(event)`; its input is `SlaTrackerInput`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from definitions.events import Event
from definitions.runs import (
    ACT_DISPATCH_EVENT,
    CONVERSATION_SLA,
    SA_CONVERSATION_ID,
    SA_DEFINITION_ID,
    SA_DEFINITION_VERSION,
    SA_TRIGGER_TYPE,
    SLA_EVENT_SIGNAL,
    WORKFLOW_RUN,
    DispatchResult,
    RunInput,
    SlaSignal,
    SlaTrackerInput,
    run_workflow_id,
    sla_workflow_id,
)
from definitions.sla import sla_static_summary  # SLA engineer (issue 4)
from store.ingest import EventIngestor

DEFINITION_ID_KEY = SearchAttributeKey.for_keyword(SA_DEFINITION_ID)
DEFINITION_VERSION_KEY = SearchAttributeKey.for_int(SA_DEFINITION_VERSION)
TRIGGER_TYPE_KEY = SearchAttributeKey.for_keyword(SA_TRIGGER_TYPE)
CONVERSATION_ID_KEY = SearchAttributeKey.for_keyword(SA_CONVERSATION_ID)


def run_search_attributes(run_input: RunInput) -> TypedSearchAttributes:
    """The search attributes every WorkflowRun carries (SPEC §5)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(DEFINITION_ID_KEY, run_input.definition_id),
            SearchAttributePair(DEFINITION_VERSION_KEY, run_input.definition_version),
            SearchAttributePair(TRIGGER_TYPE_KEY, run_input.definition.trigger.type),
            SearchAttributePair(CONVERSATION_ID_KEY, run_input.event.conversation.id),
        ]
    )


class TemporalRunStarter:
    """`store.ingest.RunStarter` over a Temporal client (pydantic data converter)."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start_run(self, run_input: RunInput) -> None:
        try:
            await self.client.start_workflow(
                WORKFLOW_RUN,
                run_input,
                id=run_workflow_id(run_input.definition_id, run_input.event.id),
                task_queue=self.task_queue,
                search_attributes=run_search_attributes(run_input),
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # started before (a retried dispatch or a duplicate event): nothing to do

    async def signal_sla(self, event: Event) -> None:
        conversation_id = event.conversation.id
        await self.client.start_workflow(
            CONVERSATION_SLA,
            SlaTrackerInput(conversation_id=conversation_id),
            id=sla_workflow_id(conversation_id),
            task_queue=self.task_queue,
            start_signal=SLA_EVENT_SIGNAL,
            start_signal_args=[SlaSignal(event=event, accepted_at=datetime.now(UTC))],
            static_summary=sla_static_summary(conversation_id),  # SLA engineer: UI summary
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(CONVERSATION_ID_KEY, conversation_id)]
            ),
        )


class DispatchActivities:
    """`engine`: the supportflow database; `client`: a Temporal client with the pydantic data
    converter; `task_queue`: where runs and SLA trackers are started."""

    def __init__(self, engine: Engine, client: Client, task_queue: str) -> None:
        self.ingestor = EventIngestor(engine, TemporalRunStarter(client, task_queue))

    @activity.defn(name=ACT_DISPATCH_EVENT)
    async def dispatch_event(self, event: Event) -> DispatchResult:
        """Ingest an event a run caused (mirror, loop guard, start matching runs, feed the SLA
        tracker). Idempotent by event id, so retries are safe."""
        result = await self.ingestor.ingest(event)
        return DispatchResult(run_ids=result.run_ids)
