"""POST /events and GET /conversations/{id} over HTTP, with the real Temporal dev server and, for
the end-to-end case, a real worker on the test's task queue."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from definitions.runs import SLA_EVENT_SIGNAL, RunResult, sla_workflow_id
from temporal_edge import SearchAttr
from tests import api_fixtures, test_api_workflows
from tests.api_fixtures import Api, error_of
from tests.temporal_fixtures import assert_eventually
from tests.test_api_workflows import VIP

api = api_fixtures.api
admin = api_fixtures.admin
vip_team = test_api_workflows.vip_team  # autouse: the team VIP routes to exists


def vip_event(event_id: str, conversation_id: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id,
        "type": "conversation.created",
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": {
            "id": conversation_id,
            "channel": "whatsapp",
            "status": "open",
            "priority": "normal",
            "subject": "Refund",
            "tags": [],
        },
        "customer": {
            "id": "u-4",
            "name": "Ada",
            "email": "ada@example.com",
            "lifecycle": "customer",
            "segment": "vip",
            "attributes": {"plan": "gold"},
        },
    }
    event.update(changes)
    return event


async def runs_of(client: Client, definition_id: str) -> list[str]:
    query = f'{SearchAttr.DEFINITION_ID}="{definition_id}"'
    return [execution.id async for execution in client.list_workflows(query)]


async def test_event_starts_runs_once(
    api: Api, admin: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    created = (await admin.post("/workflows", json=VIP)).json()
    wid = created["id"]
    integration = await api.client("integration")
    event = vip_event(f"evt-{wid}", f"c-{wid}")

    first = await integration.post("/events", json=event)
    assert first.status_code == 202, first.text
    expected = [f"run:{wid}:{event['id']}"]
    assert first.json() == {
        "event_id": event["id"],
        "run_ids": expected,
        "duplicate": False,
        "queued": False,
    }

    again = await integration.post("/events", json=event)
    assert again.status_code == 202
    assert again.json() == {
        "event_id": event["id"],
        "run_ids": expected,
        "duplicate": True,
        "queued": False,
    }

    handle = dev_env.client.get_workflow_handle(expected[0])
    description = await handle.describe()
    assert description.workflow_type == "WorkflowRun"
    assert description.task_queue == api.settings.task_queue
    attributes = {key.name: value for key, value in description.typed_search_attributes}
    assert attributes == {
        "WorkflowDefinitionId": wid,
        "WorkflowDefinitionVersion": 1,
        "TriggerType": "new_conversation",
        "ConversationId": event["conversation"]["id"],
    }
    # No sla_breach definition exists, so no SLA tracker is started for the conversation.
    with pytest.raises(RPCError):
        await dev_env.client.get_workflow_handle(
            sla_workflow_id(event["conversation"]["id"])
        ).describe()

    async def one_run_counted() -> None:
        assert await runs_of(dev_env.client, wid) == expected
        card = (await admin.get(f"/workflows/{wid}")).json()
        assert card["execution_count"] == 1

    await assert_eventually(one_run_counted, timeout=20)


async def test_event_matching_nothing_starts_nothing(admin: httpx.AsyncClient) -> None:
    draft = (await admin.post("/workflows", json={**VIP, "status": "draft"})).json()
    other_channel = copy.deepcopy(VIP)
    other_channel["trigger"]["channels"] = ["email"]
    await admin.post("/workflows", json=other_channel)
    response = await admin.post(
        "/events", json=vip_event(f"evt-none-{draft['id']}", f"c-none-{draft['id']}")
    )
    assert response.status_code == 202
    assert response.json()["run_ids"] == []


async def test_bad_event_names_the_field(api: Api) -> None:
    integration = await api.client("integration")
    bad_channel = vip_event("evt-bad", "c-bad")
    bad_channel["conversation"]["channel"] = "fax"
    response = await integration.post("/events", json=bad_channel)
    assert response.status_code == 422
    error = error_of(response)
    assert error["details"][0]["loc"] == ["body", "conversation", "channel"]

    no_message = vip_event("evt-bad-2", "c-bad", type="message.created")
    response = await integration.post("/events", json=no_message)
    assert response.status_code == 422
    assert "message" in error_of(response)["message"]
    assert error_of(response)["details"][0]["loc"] == ["body", "message"]

    no_status = vip_event("evt-bad-4", "c-bad", type="conversation.status_changed")
    response = await integration.post("/events", json=no_status)
    assert response.status_code == 422
    assert error_of(response)["details"][0]["loc"] == ["body", "to_status"]

    missing_id = vip_event("evt-bad-3", "c-bad")
    del missing_id["id"]
    response = await integration.post("/events", json=missing_id)
    assert error_of(response)["details"][0]["loc"] == ["body", "id"]

    # Nothing of the rejected events reached the desk mirror.
    admin = await api.client("admin")
    assert (await admin.get("/conversations/c-bad")).status_code == 404


async def test_conversation_view_mirrors_events(api: Api) -> None:
    integration = await api.client("integration")
    viewer = await api.client("viewer")
    await integration.post("/events", json=vip_event("evt-mirror-1", "c-mirror"))
    message = {
        "id": "evt-mirror-2",
        "type": "message.created",
        "occurred_at": "2026-11-27T10:01:00Z",
        "conversation": {"id": "c-mirror", "channel": "whatsapp"},
        "message": {"id": "m-1", "sender_type": "customer", "content": "I love this, thank you!"},
    }
    assert (await integration.post("/events", json=message)).status_code == 202

    response = await viewer.get("/conversations/c-mirror")
    assert response.status_code == 200
    view = response.json()
    assert view["id"] == "c-mirror"
    assert view["channel"] == "whatsapp"
    assert view["status"] == "open"
    assert view["customer"]["name"] == "Ada"
    assert [m["content"] for m in view["messages"]] == ["I love this, thank you!"]
    assert view["messages"][0]["sentiment"] == "positive"  # computed by the service
    assert view["tickets"] == [] and view["notifications"] == []

    missing = await viewer.get("/conversations/c-never-seen")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "conversation 'c-never-seen' not found"


async def test_vip_flow_end_to_end_with_a_worker(
    api: Api, admin: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    """SPEC's VIP example: the run routes to the VIP team and greets the customer, once."""
    from worker.main import build_worker

    assert (
        await admin.put("/teams/vip-support", json={"name": "VIP support", "members": ["ana"]})
    ).status_code == 200  # replaces the team the autouse fixture made
    await admin.put("/agents/ana", json={"name": "Ana", "email": "ana@example.com"})
    wid = (await admin.post("/workflows", json=VIP)).json()["id"]
    event = vip_event(f"evt-e2e-{wid}", f"c-e2e-{wid}")

    worker = build_worker(dev_env.client, api.engine, api.settings)
    async with worker:
        accepted = (await admin.post("/events", json=event)).json()
        (run_id,) = accepted["run_ids"]
        handle = dev_env.client.get_workflow_handle(run_id, result_type=RunResult)
        result = await handle.result()
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        # The condition and the route it guards ran in one call: the route's time spans it too.
        condition, route = result.steps[0], result.steps[1]
        assert route.step_id == "route" and route.started_at == condition.started_at
        assert route.finished_at is not None and route.finished_at >= condition.finished_at

        view = (await admin.get(f"/conversations/{event['conversation']['id']}")).json()
        assert view["assignment"]["team"] == "vip-support"
        automated = [m for m in view["messages"] if m["sender_type"] == "automation"]
        assert [m["content"] for m in automated] == ["Hi Ada, a VIP specialist is here."]

        repeat = (await admin.post("/events", json=event)).json()
        assert repeat["duplicate"] is True and repeat["run_ids"] == [run_id]
        view_again = (await admin.get(f"/conversations/{event['conversation']['id']}")).json()
        assert view_again["messages"] == view["messages"]


async def test_saving_sla_definitions_signals_no_tracker_and_bumps_the_version(
    api: Api, admin: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    """Issue 17: a save costs no call per tracker; trackers read the version instead."""
    from sqlmodel import Session

    from store import sla_version

    def version() -> int:
        with Session(api.engine) as session:
            return sla_version.current(session)

    conversation_id = f"c-sla-{api.settings.task_queue}"
    # A draft SLA definition is enough for conversations to get a tracker.
    draft = {
        "name": "Reply breach (draft)",
        "trigger": {"type": "sla_breach", "sla_type": "reply", "threshold": "2h"},
        "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
    }
    assert (await admin.post("/workflows", json=draft)).status_code == 201
    assert version() == 1
    await admin.post("/events", json=vip_event(f"evt-{conversation_id}", conversation_id))
    tracker = dev_env.client.get_workflow_handle(sla_workflow_id(conversation_id))

    async def history_length() -> int:
        return len((await tracker.fetch_history()).events)

    async def started() -> int:  # started with the event's signal
        length = await history_length()
        assert length >= 3
        return length

    before = await assert_eventually(started, timeout=20)
    await admin.post("/workflows", json=VIP)  # not an SLA rule: the version stays
    assert version() == 1
    sla = {
        "name": "First response breach",
        "status": "active",
        "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "30m"},
        "steps": [
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["late"]}}
        ],
    }
    created = (await admin.post("/workflows", json=sla)).json()
    await admin.patch(f"/workflows/{created['id']}", json={"status": "draft"})
    await admin.delete(f"/workflows/{created['id']}")
    assert version() == 4
    await asyncio.sleep(1)
    assert await history_length() == before  # no signal (each would add events)


async def test_sla_tracker_keeps_its_events_after_the_sla_definitions_go(
    api: Api, admin: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    sla = {
        "name": "First response breach",
        "status": "active",
        "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "30m"},
        "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
    }
    created = (await admin.post("/workflows", json=sla)).json()
    conversation_id = f"c-keep-{api.settings.task_queue}"
    await admin.post("/events", json=vip_event(f"evt-a-{conversation_id}", conversation_id))
    tracker = dev_env.client.get_workflow_handle(sla_workflow_id(conversation_id))
    assert (await tracker.describe()).workflow_type == "ConversationSla"

    assert (await admin.delete(f"/workflows/{created['id']}")).status_code == 204
    closed = vip_event(f"evt-b-{conversation_id}", conversation_id)
    closed.update(type="conversation.status_changed", from_status="open", to_status="closed")
    assert (await admin.post("/events", json=closed)).status_code == 202

    async def tracker_saw_the_close() -> None:
        signals = [
            e.workflow_execution_signaled_event_attributes.signal_name
            async for e in tracker.fetch_history_events()
            if e.HasField("workflow_execution_signaled_event_attributes")
        ]
        assert signals.count(SLA_EVENT_SIGNAL) == 2  # created, then closed

    await assert_eventually(tracker_saw_the_close, timeout=20)


async def test_many_concurrent_events_all_accepted(api: Api, admin: httpx.AsyncClient) -> None:
    """Regression (found by the benchmark): with 16+ events in flight every request failed after
    30 s with "QueuePool limit reached" — authentication held a pooled session for the whole
    request while ingestion needed more connections."""
    await admin.post("/workflows", json=VIP)
    integration = await api.client("integration")
    events = [vip_event(f"evt-burst-{i}", f"c-burst-{i}") for i in range(60)]

    responses = await asyncio.wait_for(
        asyncio.gather(*(integration.post("/events", json=event) for event in events)), timeout=60
    )

    assert [r.status_code for r in responses] == [202] * len(events)
    assert all(len(r.json()["run_ids"]) == 1 for r in responses)
