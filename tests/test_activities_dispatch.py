"""DispatchActivities against the real Temporal dev server (no worker polls the fresh task queue,
so started workflows just wait there to be described, then get terminated)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities import LOCAL_ACTIVITIES, REGULAR_ACTIVITIES, build_activities
from activities.dispatch import DispatchActivities
from definitions.runs import (
    ACT_DELIVER_WEBHOOK,
    ACT_DISPATCH_EVENT,
    ACT_EVALUATE_CONDITION,
    ACT_PERFORM_ACTION,
    CONVERSATION_SLA,
    MAX_CAUSAL_DEPTH,
    WORKFLOW_RUN,
    sla_workflow_id,
)
from desk.actions import apply_action
from desk.ingestion import runs_for_event
from desk.mirror import mirror_event
from desk.state import conversation_view
from store.db import session_scope
from store.models import EventRow
from store.settings import Settings
from store.trigger_index import index_definition
from temporal_edge import SearchAttr, TemporalRunStarter
from tests.desk_builders import action_input, make_event, seed_directory, store_definition

pytest_plugins = ["tests.db_fixtures"]

ON_RESOLVED = {
    "name": "Thank on resolve",
    "status": "active",
    "trigger": {"type": "status_change", "to_statuses": ["resolved"]},
    "steps": [
        {"id": "thanks", "type": "action", "action": "auto_reply", "params": {"message": "Thanks!"}}
    ],
}


# Workflow ids are unique per namespace, not per task queue: every test gets its own conversation
# and run scope on the shared dev server.
FIRST_RESPONSE_SLA = {
    "name": "First response breach",
    "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "30m"},
    "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["late"]}}],
}


@pytest.fixture
def ids() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"conversation": f"c-{tag}", "scope": f"run:def-1:evt-{tag}"}


@pytest.fixture
def desk(desk_engine: Engine, ids: dict[str, str]) -> Engine:
    seed_directory(desk_engine)
    with session_scope(desk_engine) as session:
        mirror_event(session, _event(ids))
        index_definition(session, store_definition(session, "on-resolved", ON_RESOLVED, version=2))
    return desk_engine


def _event(ids: dict[str, str]) -> Any:
    return make_event("evt-1", conversation={"id": ids["conversation"]})


@pytest_asyncio.fixture
async def started(dev_env: WorkflowEnvironment) -> AsyncIterator[list[str]]:
    """Workflow ids a test started; terminated afterwards."""
    ids: list[str] = []
    yield ids
    for workflow_id in ids:
        try:
            await dev_env.client.get_workflow_handle(workflow_id).terminate("test over")
        except Exception:
            pass


def _status_event(desk: Engine, ids: dict[str, str], chain: list[str]) -> Any:
    step = {"id": "resolve", "action": "change_status", "params": {"status": "resolved"}}
    args = action_input(step, _event(ids), scope=ids["scope"], causal_chain=chain)
    result = apply_action(desk, args)
    [event] = result.emitted_events
    return event


async def test_dispatch_starts_matching_runs_with_search_attributes_and_feeds_the_sla_tracker(
    desk: Engine,
    ids: dict[str, str],
    dev_env: WorkflowEnvironment,
    task_queue: str,
    started: list[str],
) -> None:
    client: Client = dev_env.client
    with Session(desk) as session:  # an SLA rule exists, so the conversation gets a tracker
        store_definition(session, "first-response", FIRST_RESPONSE_SLA)
        session.commit()
    event = _status_event(desk, ids, ["run:origin:evt-1"])
    activities = DispatchActivities(desk, client, task_queue)
    result = await ActivityEnvironment().run(activities.dispatch_event, event)
    run_id = f"run:on-resolved:{ids['scope']}:resolve"
    started.extend([run_id, sla_workflow_id(ids["conversation"])])
    assert result.run_ids == [run_id]

    run = await client.get_workflow_handle(run_id).describe()
    assert run.workflow_type == WORKFLOW_RUN and run.task_queue == task_queue
    attrs = run.typed_search_attributes
    assert attrs.get(SearchAttr.DEFINITION_ID.key) == "on-resolved"
    assert attrs.get(SearchAttr.DEFINITION_VERSION.key) == 2
    assert attrs.get(SearchAttr.TRIGGER_TYPE.key) == "status_change"
    assert attrs.get(SearchAttr.CONVERSATION_ID.key) == ids["conversation"]

    sla = await client.get_workflow_handle(sla_workflow_id(ids["conversation"])).describe()
    assert sla.workflow_type == CONVERSATION_SLA
    assert sla.status == WorkflowExecutionStatus.RUNNING

    # A retried dispatch (same event id) starts nothing new and answers the same ids.
    again = await ActivityEnvironment().run(activities.dispatch_event, event)
    assert again.run_ids == [run_id]
    with Session(desk) as session:
        assert session.get(EventRow, event.id) is not None
        view = conversation_view(session, ids["conversation"])
    assert view is not None and view["status"] == "resolved"


async def test_starting_the_same_run_twice_is_fine_running_or_closed(
    desk: Engine,
    ids: dict[str, str],
    dev_env: WorkflowEnvironment,
    task_queue: str,
    started: list[str],
) -> None:
    event = _status_event(desk, ids, ["run:origin:evt-1"])
    with Session(desk) as session:
        [run_input] = runs_for_event(session, event)
    starter = TemporalRunStarter(dev_env.client, task_queue)
    await starter.start_run(run_input)
    workflow_id = f"run:on-resolved:{ids['scope']}:resolve"
    started.append(workflow_id)
    handle = dev_env.client.get_workflow_handle(workflow_id)
    first = (await handle.describe()).run_id
    await starter.start_run(run_input)  # still running: the existing run is used
    assert (await handle.describe()).run_id == first
    await handle.terminate("closing it")
    await starter.start_run(run_input)  # closed: never a second run with the same id
    assert (await handle.describe()).run_id == first


async def test_dispatch_past_the_loop_guard_starts_no_run(
    desk: Engine,
    ids: dict[str, str],
    dev_env: WorkflowEnvironment,
    task_queue: str,
    started: list[str],
) -> None:
    chain = [f"run:d{i}:e" for i in range(MAX_CAUSAL_DEPTH + 1)]
    event = _status_event(desk, ids, chain)
    result = await ActivityEnvironment().run(
        DispatchActivities(desk, dev_env.client, task_queue).dispatch_event, event
    )
    started.append(sla_workflow_id(ids["conversation"]))
    assert result.run_ids == []


def test_build_activities_registers_every_activity_name(
    desk: Engine, dev_env: WorkflowEnvironment, tmp_path: Any
) -> None:
    settings = Settings(data_dir=tmp_path, webhook_url=None)
    callables = build_activities(desk, settings, dev_env.client)
    names = {fn.__temporal_activity_definition.name for fn in callables}  # type: ignore[attr-defined]
    assert names == {
        ACT_EVALUATE_CONDITION,
        ACT_PERFORM_ACTION,
        "perform_guarded_action",  # a condition and the action it guards (issue 13)
        ACT_DELIVER_WEBHOOK,
        ACT_DISPATCH_EVENT,
        "lookup_sla_definitions",  # ConversationSla (activities/sla.py)
        "start_sla_breach_run",
        "check_wait",  # waits (activities/waits.py)
        "wait_deadline",
        "start_idle_run",  # ConversationSla idle periods (activities/idle.py)
        "compute_business_deadlines",  # business-time deadlines (activities/business_deadlines.py)
        "notify_failure",  # on_failure (activities/failure_notice.py)
        "prune_events",  # the event-retention schedule (activities/retention.py)
    }
    assert LOCAL_ACTIVITIES | REGULAR_ACTIVITIES == names
    assert not LOCAL_ACTIVITIES & REGULAR_ACTIVITIES
