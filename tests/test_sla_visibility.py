"""What the Temporal UI shows of a tracker, on the dev server (the time-skipping server keeps no
user metadata): the static summary, timer summaries naming clock and threshold, current details
listing the running clocks and deadlines, and the ConversationId search attribute."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sla import SlaActivities
from definitions.runs import (
    CONVERSATION_SLA,
    SLA_EVENT_SIGNAL,
    SlaSignal,
    SlaTrackerInput,
    sla_workflow_id,
)
from definitions.sla import sla_static_summary
from tests.sla_support import RecordingRun, event, sla_definition, store_definition
from tests.temporal_fixtures import assert_eventually
from worker.sla_workflow import ConversationSla


async def test_tracker_is_readable_in_the_temporal_ui(
    dev_env: WorkflowEnvironment, task_queue: str, engine: Engine
) -> None:
    store_definition(engine, "wf-ui-30", sla_definition("First reply 30m", "first_response", "30m"))
    store_definition(engine, "wf-ui-4h", sla_definition("Resolve 4h", "resolution", "4h"))
    client = dev_env.client
    conversation = f"ui-{uuid.uuid4().hex[:8]}"
    activities = SlaActivities(engine)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ConversationSla, RecordingRun],
        activities=[activities.lookup_sla_definitions, activities.start_sla_breach_run],
    ):
        created = event(
            f"{conversation}-1", "created", conversation, await dev_env.get_current_time()
        )
        handle = await client.start_workflow(
            CONVERSATION_SLA,
            SlaTrackerInput(conversation_id=conversation),
            id=sla_workflow_id(conversation),
            task_queue=task_queue,
            start_signal=SLA_EVENT_SIGNAL,
            start_signal_args=[SlaSignal(event=created)],
            static_summary=sla_static_summary(conversation),
        )

        async def timers() -> list[str]:
            history = await handle.fetch_history()
            converter = client.data_converter.payload_converter
            summaries = [
                str(converter.from_payload(item.user_metadata.summary, str))
                for item in history.events
                if item.event_type == EventType.EVENT_TYPE_TIMER_STARTED
                and item.user_metadata.HasField("summary")
            ]
            assert sorted(summaries) == ["first_response 30m", "resolution 4h"], summaries
            return summaries

        await assert_eventually(timers)
        description = await handle.describe()
        assert await description.static_summary() == f"SLA clocks of conversation {conversation}"
        key = SearchAttributeKey.for_keyword("ConversationId")
        assert description.typed_search_attributes.get(key) == conversation

        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        details = metadata.current_details
        assert f"`{conversation}`" in details
        assert "**first_response**" in details and "**resolution**" in details
        assert "First reply 30m (30m): deadline" in details
        await handle.terminate("test done")
