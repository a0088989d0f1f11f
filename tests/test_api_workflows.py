"""/workflows over HTTP: create, read, list, filter, paginate, replace, patch, versions,
optimistic concurrency, duplicate, delete, and bad definitions rejected with nothing stored."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select

from store.models import TriggerIndexRow, WorkflowDefinitionRow, WorkflowVersionRow
from tests import api_fixtures
from tests.api_fixtures import Api, error_of

# Fixtures used here (assigned, not imported, so their parameter names do not shadow imports).
api = api_fixtures.api
admin = api_fixtures.admin

VIP: dict[str, Any] = {
    "name": "VIP Customer Auto-Route",
    "description": "Send VIP customers on WhatsApp straight to the VIP team",
    "status": "active",
    "trigger": {"type": "new_conversation", "channels": ["whatsapp"], "customer_segments": ["vip"]},
    "steps": [
        {
            "id": "is-customer",
            "type": "condition",
            "field": "customer.lifecycle",
            "operator": "equals",
            "value": "customer",
            "on_false": "stop",
        },
        {"id": "route", "type": "action", "action": "route", "params": {"team": "vip-support"}},
        {
            "id": "greet",
            "type": "action",
            "action": "auto_reply",
            "params": {
                "message": 'Hi {{customer.name | default: "there"}}, a VIP specialist is here.'
            },
        },
    ],
}


@pytest.fixture(autouse=True)
async def vip_team(admin: httpx.AsyncClient) -> None:
    """The team VIP routes to: an active definition may only name teams that exist."""
    assert (await admin.put("/teams/vip-support", json={"name": "VIP support"})).is_success


def definition(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(VIP)
    body.update(changes)
    return body


def refund_definition(name: str = "Refund to billing", status: str = "draft") -> dict[str, Any]:
    return {
        "name": name,
        "description": "Tag refund requests",
        "status": status,
        "trigger": {"type": "new_message", "content_patterns": ["refund"]},
        "steps": [
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["refund"]}}
        ],
    }


def table_counts(api: Api) -> tuple[int, int, int]:
    with Session(api.engine) as session:
        return (
            session.exec(select(func.count()).select_from(WorkflowDefinitionRow)).one(),
            session.exec(select(func.count()).select_from(WorkflowVersionRow)).one(),
            session.exec(select(func.count()).select_from(TriggerIndexRow)).one(),
        )


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/workflows", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_workflow_returns_read_model(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/workflows", json=VIP)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("wf_")
    assert created["version"] == 1
    assert created["steps_count"] == 3
    assert created["execution_count"] == 0
    assert created["name"] == VIP["name"]
    assert created["trigger"]["channels"] == ["whatsapp"]
    assert created["steps"][2]["params"] == VIP["steps"][2]["params"]
    assert response.headers["Location"] == f"/workflows/{created['id']}"
    assert response.headers["ETag"] == '"1"'

    read = await admin.get(f"/workflows/{created['id']}")
    assert read.status_code == 200
    body = read.json()
    assert body["id"] == created["id"]
    assert body["execution_count"] == 0
    assert body["created_at"] and body["updated_at"]
    assert {k: body[k] for k in ("name", "description", "status")} == {
        k: VIP[k] for k in ("name", "description", "status")
    }


async def test_create_active_workflow_indexes_trigger(api: Api, admin: httpx.AsyncClient) -> None:
    created = await create(admin, VIP)
    with Session(api.engine) as session:
        rows = session.exec(
            select(TriggerIndexRow).where(TriggerIndexRow.definition_id == created["id"])
        ).all()
    assert [(r.trigger_type, r.channel) for r in rows] == [("new_conversation", "whatsapp")]

    await admin.patch(f"/workflows/{created['id']}", json={"status": "draft"})
    with Session(api.engine) as session:
        assert not session.exec(
            select(TriggerIndexRow).where(TriggerIndexRow.definition_id == created["id"])
        ).all()


async def test_list_workflows_filters_and_paginates(admin: httpx.AsyncClient) -> None:
    vip = await create(admin, VIP)
    refund = await create(admin, refund_definition())
    other = await create(
        admin,
        {**refund_definition(name="Billing follow-up", status="active"), "description": "Billing"},
    )

    everything = (await admin.get("/workflows")).json()
    assert everything["count"] == 3
    assert {card["id"] for card in everything["data"]} == {vip["id"], refund["id"], other["id"]}
    card = next(c for c in everything["data"] if c["id"] == vip["id"])
    assert set(card) == {
        "id",
        "name",
        "description",
        "status",
        "trigger_type",
        "steps_count",
        "execution_count",
        "failed_24h",
        "waiting",
        "version",
        "updated_at",
    }
    assert card["trigger_type"] == "new_conversation"
    assert card["steps_count"] == 3
    assert card["execution_count"] == 0
    assert card["failed_24h"] == 0
    assert card["waiting"] == 0

    active = (await admin.get("/workflows", params={"status": "active"})).json()
    assert {c["id"] for c in active["data"]} == {vip["id"], other["id"]}
    assert active["count"] == 2

    by_trigger = (await admin.get("/workflows", params={"trigger_type": "new_message"})).json()
    assert {c["id"] for c in by_trigger["data"]} == {refund["id"], other["id"]}

    by_text = (await admin.get("/workflows", params={"q": "REFUND"})).json()
    assert [c["id"] for c in by_text["data"]] == [refund["id"]]
    by_description = (await admin.get("/workflows", params={"q": "whatsapp"})).json()
    assert [c["id"] for c in by_description["data"]] == [vip["id"]]
    nothing = (await admin.get("/workflows", params={"q": "%"})).json()
    assert nothing == {"data": [], "count": 0}

    first = (await admin.get("/workflows", params={"limit": 2, "offset": 0})).json()
    second = (await admin.get("/workflows", params={"limit": 2, "offset": 2})).json()
    assert first["count"] == second["count"] == 3
    assert len(first["data"]) == 2 and len(second["data"]) == 1
    paged = [c["id"] for c in first["data"] + second["data"]]
    assert sorted(paged) == sorted([vip["id"], refund["id"], other["id"]])
    # Most recently updated first.
    assert paged[0] == other["id"]


@pytest.mark.parametrize(
    "params",
    [{"status": "paused"}, {"trigger_type": "cron"}, {"limit": 0}, {"limit": 1000}, {"offset": -1}],
)
async def test_list_workflows_rejects_bad_filters(
    admin: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await admin.get("/workflows", params=params)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["query", next(iter(params))]


async def test_summary_counts_workflows(admin: httpx.AsyncClient) -> None:
    await create(admin, VIP)
    await create(admin, refund_definition())
    summary = (await admin.get("/workflows/summary")).json()
    assert summary["total_workflows"] == 2
    assert summary["active_workflows"] == 1
    assert summary["total_executions"] == 0


async def test_update_workflow_bumps_version_and_keeps_history(admin: httpx.AsyncClient) -> None:
    created = await create(admin, VIP)
    wid = created["id"]
    replaced = await admin.put(f"/workflows/{wid}", json=definition(name="VIP route v2"))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["version"] == 2
    assert replaced.json()["name"] == "VIP route v2"
    assert replaced.headers["ETag"] == '"2"'
    assert replaced.json()["created_at"] == created["created_at"]

    versions = (await admin.get(f"/workflows/{wid}/versions")).json()
    assert versions["count"] == 2
    assert [v["version"] for v in versions["data"]] == [1, 2]
    assert versions["data"][0]["definition"]["name"] == VIP["name"]
    assert versions["data"][1]["definition"]["name"] == "VIP route v2"
    assert versions["data"][1]["definition"]["steps"] == replaced.json()["steps"]
    assert all(v["created_at"] for v in versions["data"])


async def test_patch_toggles_status(api: Api, admin: httpx.AsyncClient) -> None:
    created = await create(admin, refund_definition())
    wid = created["id"]
    on = await admin.patch(f"/workflows/{wid}", json={"status": "active"})
    assert on.status_code == 200, on.text
    assert on.json()["status"] == "active"
    assert on.json()["version"] == 2
    assert on.json()["steps"] == created["steps"]  # untouched keys stay
    assert table_counts(api)[2] == 1  # indexed
    off = await admin.patch(f"/workflows/{wid}", json={"status": "draft"})
    assert off.json()["status"] == "draft"
    assert off.json()["version"] == 3
    assert table_counts(api)[2] == 0
    versions = (await admin.get(f"/workflows/{wid}/versions")).json()
    assert [v["definition"]["status"] for v in versions["data"]] == ["draft", "active", "draft"]


async def test_patch_steps_revalidates_merged_definition(
    api: Api, admin: httpx.AsyncClient
) -> None:
    created = await create(admin, VIP)
    wid = created["id"]
    # A step referring to the output of a step that no longer exists.
    response = await admin.patch(
        f"/workflows/{wid}",
        json={
            "steps": [
                {
                    "id": "greet",
                    "type": "action",
                    "action": "auto_reply",
                    "params": {"message": "Ticket {{steps.ticket.ticket_id}}"},
                }
            ]
        },
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["details"][0]["loc"] == ["body", "steps", 0, "params", "message"]
    assert "ticket" in error["details"][0]["msg"]
    read = (await admin.get(f"/workflows/{wid}")).json()
    assert read["version"] == 1 and read["steps"] == created["steps"]
    assert table_counts(api) == (1, 1, 1)


async def test_patch_rejects_unknown_and_null_keys(admin: httpx.AsyncClient) -> None:
    wid = (await create(admin, VIP))["id"]
    unknown = await admin.patch(f"/workflows/{wid}", json={"colour": "red"})
    assert unknown.status_code == 422
    assert error_of(unknown)["details"][0]["loc"] == ["body", "colour"]
    null_name = await admin.patch(f"/workflows/{wid}", json={"name": None})
    assert null_name.status_code == 422
    assert error_of(null_name)["details"][0]["loc"] == ["body", "name"]


async def test_stale_version_is_a_conflict(admin: httpx.AsyncClient) -> None:
    wid = (await create(admin, VIP))["id"]
    ok = await admin.patch(f"/workflows/{wid}", json={"name": "v2"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["version"] == 2

    stale_header = await admin.patch(
        f"/workflows/{wid}", json={"name": "lost"}, headers={"If-Match": "1"}
    )
    assert stale_header.status_code == 409
    error = error_of(stale_header)
    assert error["code"] == "version_conflict"
    assert "version 2" in error["message"] and "version 1" in error["message"]
    assert error["details"][0]["loc"] == ["header", "If-Match"]

    stale_body = await admin.put(
        f"/workflows/{wid}", json={**definition(name="lost"), "version": 1}
    )
    assert stale_body.status_code == 409
    assert error_of(stale_body)["details"][0]["loc"] == ["body", "version"]
    stale_patch = await admin.patch(f"/workflows/{wid}", json={"status": "draft", "version": 1})
    assert stale_patch.status_code == 409

    current = (await admin.get(f"/workflows/{wid}")).json()
    assert current["name"] == "v2" and current["version"] == 2
    fresh = await admin.put(f"/workflows/{wid}", json={**definition(name="v3"), "version": 2})
    assert fresh.status_code == 200 and fresh.json()["version"] == 3

    bad_header = await admin.patch(f"/workflows/{wid}", json={}, headers={"If-Match": "abc"})
    assert bad_header.status_code == 422
    assert error_of(bad_header)["details"][0]["loc"] == ["header", "If-Match"]


async def test_duplicate_makes_a_draft_copy(admin: httpx.AsyncClient) -> None:
    original = await create(admin, VIP)
    response = await admin.post(f"/workflows/{original['id']}/duplicate")
    assert response.status_code == 201, response.text
    copy_ = response.json()
    assert copy_["id"] != original["id"]
    assert copy_["name"] == "VIP Customer Auto-Route (copy)"
    assert copy_["status"] == "draft"
    assert copy_["version"] == 1
    assert copy_["steps"] == original["steps"]
    assert copy_["trigger"] == original["trigger"]
    missing = await admin.post("/workflows/wf_missing/duplicate")
    assert missing.status_code == 404


async def test_delete_then_not_found(api: Api, admin: httpx.AsyncClient) -> None:
    wid = (await create(admin, VIP))["id"]
    deleted = await admin.delete(f"/workflows/{wid}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    for method, path in [
        ("GET", f"/workflows/{wid}"),
        ("GET", f"/workflows/{wid}/versions"),
        ("DELETE", f"/workflows/{wid}"),
        ("PATCH", f"/workflows/{wid}"),
    ]:
        response = await admin.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)
        error = error_of(response)
        assert error["code"] == "not_found"
        assert wid in error["message"]
    assert table_counts(api) == (0, 0, 0)


def _bad(mutate: Any) -> dict[str, Any]:
    body = copy.deepcopy(VIP)
    mutate(body)
    return body


BAD_DEFINITIONS: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("missing name", _bad(lambda b: b.pop("name")), ["body", "name"]),
    ("unknown top-level key", _bad(lambda b: b.update(colour="red")), ["body", "colour"]),
    ("no steps", _bad(lambda b: b.update(steps=[])), ["body", "steps"]),
    (
        "unknown trigger type",
        _bad(lambda b: b.update(trigger={"type": "cron"})),
        ["body", "trigger"],
    ),
    (
        "unknown channel",
        _bad(lambda b: b["trigger"].update(channels=["fax"])),
        ["body", "trigger", "new_conversation", "channels", 0],
    ),
    (
        "unknown field",
        _bad(lambda b: b["steps"][0].update(field="customer.shoe_size")),
        ["body", "steps", 0, "condition"],
    ),
    (
        "operator does not fit the field",
        _bad(
            lambda b: b["steps"][0].update(field="customer.name", operator="greater_than", value=3)
        ),
        ["body", "steps", 0, "condition"],
    ),
    (
        "value of the wrong type",
        _bad(
            lambda b: b["steps"][0].update(
                field="conversation.message_count", operator="greater_than", value="many"
            )
        ),
        ["body", "steps", 0, "condition"],
    ),
    (
        "invalid regex",
        _bad(
            lambda b: b.update(trigger={"type": "new_message", "content_patterns": ["(unclosed"]})
        ),
        ["body", "trigger", "new_message", "content_patterns"],
    ),
    (
        "unknown placeholder",
        _bad(lambda b: b["steps"][2]["params"].update(message="Hi {{customer.shoe_size}}")),
        ["body", "steps", 2, "params", "message"],
    ),
    (
        "duplicate step ids",
        _bad(lambda b: b["steps"][2].update(id="route")),
        ["body", "steps", 2, "id"],
    ),
    (
        "route with both agent and team",
        _bad(lambda b: b["steps"][1]["params"].update(agent="ana")),
        ["body", "steps", 1, "action", "route", "params"],
    ),
    (
        "route with neither agent nor team",
        _bad(lambda b: b["steps"][1].update(params={})),
        ["body", "steps", 1, "action", "route", "params"],
    ),
    (
        "bad duration",
        _bad(
            lambda b: b.update(
                trigger={"type": "sla_breach", "sla_type": "reply", "threshold": "soon"}
            )
        ),
        ["body", "trigger", "sla_breach", "threshold"],
    ),
    (
        "unknown action",
        _bad(lambda b: b["steps"][1].update(action="teleport")),
        ["body", "steps", 1, "action"],
    ),
]


@pytest.mark.parametrize(
    ("body", "loc"),
    [(b, loc) for _, b, loc in BAD_DEFINITIONS],
    ids=[n for n, _, _ in BAD_DEFINITIONS],
)
async def test_bad_definition_is_rejected_naming_the_field(
    api: Api, admin: httpx.AsyncClient, body: dict[str, Any], loc: list[Any]
) -> None:
    existing = await create(admin, refund_definition())
    before = table_counts(api)

    for method, path in [
        ("POST", "/workflows"),
        ("PUT", f"/workflows/{existing['id']}"),
    ]:
        response = await admin.request(method, path, json=body)
        assert response.status_code == 422, (method, response.text)
        error = error_of(response)
        assert error["code"] == "validation_error"
        locs = [detail["loc"] for detail in error["details"]]
        assert any(found[: len(loc)] == loc for found in locs), locs
        assert all(detail["msg"] for detail in error["details"])

    assert table_counts(api) == before
    unchanged = (await admin.get(f"/workflows/{existing['id']}")).json()
    assert unchanged["version"] == 1 and unchanged["name"] == existing["name"]


async def test_malformed_json_is_a_validation_error(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/workflows", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


async def test_unknown_workflow_is_not_found(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/workflows/wf_nope")
    assert response.status_code == 404
    error = error_of(response)
    assert error == {
        "code": "not_found",
        "message": "workflow 'wf_nope' not found",
        "details": [{"loc": ["path", "workflow_id"], "msg": "workflow 'wf_nope' not found"}],
    }


async def test_concurrent_updates_from_the_same_version_one_wins(
    api: Api, admin: httpx.AsyncClient
) -> None:
    import asyncio

    wid = (await create(admin, VIP))["id"]
    responses = await asyncio.gather(
        *(
            admin.patch(
                f"/workflows/{wid}", json={"name": f"writer {i}"}, headers={"If-Match": "1"}
            )
            for i in range(5)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409, 409]
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    current = (await admin.get(f"/workflows/{wid}")).json()
    assert current["version"] == 2 and current["name"] == winner["name"]
    assert table_counts(api)[1] == 2  # versions 1 and 2, nothing else
