"""The Temporal test environments start, and carry what supportflow needs."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import create_engine, inspect, text
from temporalio import workflow
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.temporal_fixtures import assert_eventually

CONVERSATION_ID = SearchAttributeKey.for_keyword("ConversationId")
DEFINITION_VERSION = SearchAttributeKey.for_int("WorkflowDefinitionVersion")


@workflow.defn
class SleepThenReturn:
    @workflow.run
    async def run(self, hours: int) -> str:
        await workflow.sleep(timedelta(hours=hours))
        return "woke"


def _attributes(conversation_id: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(CONVERSATION_ID, conversation_id),
            SearchAttributePair(DEFINITION_VERSION, 3),
        ]
    )


async def test_dev_server_has_the_supportflow_search_attributes(
    dev_env: WorkflowEnvironment,
) -> None:
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=dev_env.client.namespace)
    )
    assert dict(listed.custom_attributes) == dict(listed.custom_attributes) | {
        "WorkflowDefinitionId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "WorkflowDefinitionVersion": IndexedValueType.INDEXED_VALUE_TYPE_INT,
        "TriggerType": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "ConversationId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    }


async def test_dev_server_finds_runs_by_search_attribute(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    conversation_id = f"c-{uuid.uuid4()}"
    handle = await dev_env.client.start_workflow(
        "SleepThenReturn",
        1,
        id=f"fixture-{uuid.uuid4()}",
        task_queue=task_queue,
        search_attributes=_attributes(conversation_id),
    )

    async def listed_once() -> None:
        ids = [
            w.id
            async for w in dev_env.client.list_workflows(f'ConversationId = "{conversation_id}"')
        ]
        assert ids == [handle.id]

    await assert_eventually(listed_once)
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.typed_search_attributes[DEFINITION_VERSION] == 3
    await handle.terminate()


async def test_dev_server_namespace_is_usable(dev_env: WorkflowEnvironment) -> None:
    described = await dev_env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=dev_env.client.namespace)
    )
    assert described.namespace_info.name == dev_env.client.namespace


async def test_time_skipping_server_skips_timers_and_accepts_search_attributes(
    time_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with Worker(time_env.client, task_queue=task_queue, workflows=[SleepThenReturn]):
        result = await time_env.client.execute_workflow(
            SleepThenReturn.run,
            24 * 30,
            id=f"fixture-{uuid.uuid4()}",
            task_queue=task_queue,
            search_attributes=_attributes("c-1"),
        )
    assert result == "woke"


def test_db_url_is_a_fresh_database(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY)"))
        assert inspect(engine).get_table_names() == ["probe"]
    finally:
        engine.dispose()
