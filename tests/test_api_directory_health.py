"""/teams, /agents and /health over HTTP, including an app whose Temporal is unreachable."""

from __future__ import annotations

import socket

import httpx
from temporalio.testing import WorkflowEnvironment

from store import outbox
from tests import api_fixtures
from tests.api_fixtures import Api, error_of, running_app
from tests.temporal_fixtures import assert_eventually
from tests.test_api_events import vip_event
from tests.test_api_workflows import VIP

api = api_fixtures.api
admin = api_fixtures.admin


async def test_put_team_creates_then_replaces(api: Api, admin: httpx.AsyncClient) -> None:
    created = await admin.put(
        "/teams/vip-support",
        json={"name": "VIP support", "members": ["ana", "bo", "ana"], "supervisor": "sam"},
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "id": "vip-support",
        "name": "VIP support",
        "members": ["ana", "bo"],
        "supervisor": "sam",
    }
    replaced = await admin.put("/teams/vip-support", json={"name": "VIP", "members": ["bo"]})
    assert replaced.status_code == 200
    assert replaced.json()["members"] == ["bo"] and replaced.json()["supervisor"] is None

    viewer = await api.client("viewer")
    assert (await viewer.get("/teams/vip-support")).json()["name"] == "VIP"
    listed = (await viewer.get("/teams")).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == "vip-support"
    missing = await viewer.get("/teams/nope")
    assert missing.status_code == 404 and error_of(missing)["message"] == "team 'nope' not found"

    bad = await admin.put("/teams/x", json={"members": ["ana"]})
    assert bad.status_code == 422
    assert error_of(bad)["details"][0]["loc"] == ["body", "name"]
    assert (await viewer.get("/teams/x")).status_code == 404

    assert (await admin.delete("/teams/vip-support")).status_code == 204
    assert (await admin.get("/teams/vip-support")).status_code == 404


async def test_put_agent_creates_then_replaces(admin: httpx.AsyncClient) -> None:
    created = await admin.put("/agents/ana", json={"name": "Ana", "email": "ana@example.com"})
    assert created.status_code == 201
    assert created.json() == {
        "id": "ana",
        "name": "Ana",
        "email": "ana@example.com",
        "available": True,
    }
    await admin.put("/agents/bo", json={"name": "Bo", "available": False})
    replaced = await admin.put("/agents/ana", json={"name": "Ana B", "available": False})
    assert replaced.status_code == 200 and replaced.json()["email"] is None
    assert (await admin.get("/agents/ana")).json()["name"] == "Ana B"
    listed = (await admin.get("/agents")).json()
    assert [a["id"] for a in listed["data"]] == ["ana", "bo"]
    await admin.put("/agents/bo", json={"name": "Bo"})
    available = (await admin.get("/agents", params={"available": True})).json()
    assert [a["id"] for a in available["data"]] == ["bo"]
    bad = await admin.put("/agents/cy", json={"name": "Cy", "available": "sometimes"})
    assert bad.status_code == 422
    assert error_of(bad)["details"][0]["loc"] == ["body", "available"]
    assert (await admin.get("/agents/nope")).status_code == 404


async def test_health_ok(api: Api) -> None:
    response = await (await api.client()).get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "temporal": "ok",
        "live_workers": 0,  # this app hosts no worker process
        "workflow_task_failures": 0,
        "last_workflow_task_failure": None,
    }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_health_503_when_temporal_is_unreachable(
    api: Api, dev_env: WorkflowEnvironment
) -> None:
    settings = api.settings.model_copy(update={"temporal_address": f"127.0.0.1:{closed_port()}"})
    async with running_app(settings) as down:
        anonymous = await down.client()
        response = await anonymous.get("/health")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "database": "ok",
            "temporal": "unavailable",
            "live_workers": 0,
            "workflow_task_failures": 0,
            "last_workflow_task_failure": None,
        }

        # What needs only the database still works; counts are null, not an error.
        admin = await down.client("admin")
        await admin.put("/teams/vip-support", json={"name": "VIP"})
        created = await admin.post("/workflows", json=VIP)
        assert created.status_code == 201
        assert (await admin.get(f"/workflows/{created.json()['id']}")).json()[
            "execution_count"
        ] is None
        cards = (await admin.get("/workflows")).json()
        assert cards["data"][0]["execution_count"] is None
        summary = (await admin.get("/workflows/summary")).json()
        assert summary == {"total_workflows": 1, "active_workflows": 1, "total_executions": None}

        # Events are still accepted for good (SPEC §3.1): recorded with their outbox rows, the
        # answer says queued, and no 503 asks the help desk to send them again.
        event = vip_event("evt-down", "c-down")
        queued = await admin.post("/events", json=event)
        assert queued.status_code == 202, queued.text
        assert queued.json()["queued"] is True and queued.json()["duplicate"] is False
        [run_id] = queued.json()["run_ids"]
        assert outbox.pending_for_event(down.engine, "evt-down") == 1

    # The same database with Temporal back: the relay starts the run without a resend.
    async with running_app(api.settings) as up:

        async def started() -> None:
            assert outbox.pending_for_event(up.engine, "evt-down") == 0

        await assert_eventually(started, timeout=10)
        handle = dev_env.client.get_workflow_handle(run_id)
        assert (await handle.describe()).id == run_id
        admin = await up.client("admin")
        again = await admin.post("/events", json=event)
        assert again.status_code == 202
        assert again.json() == {**queued.json(), "duplicate": True, "queued": False}
