"""Version history over HTTP: who saved each version, a one-line summary of each change, and
restore (a new version with an earlier body; 404 unknown, 409 already current or stale)."""

from __future__ import annotations

import httpx
from sqlmodel import Session, select

from definitions.version_changes import summarize_change
from store.models import WorkflowVersionRow
from tests import api_fixtures
from tests.api_fixtures import Api, error_of
from tests.test_api_workflows import VIP, create, definition, refund_definition

api = api_fixtures.api
admin = api_fixtures.admin


def test_summaries_name_the_change() -> None:
    before = refund_definition()
    assert summarize_change(None, before) == "created"
    assert summarize_change(before, {**before, "status": "active"}) == "status draft → active"
    tag = before["steps"][0]
    more = [
        {**tag, "id": "a"},
        {**tag, "id": "b"},
    ]
    assert summarize_change(before, {**before, "steps": [tag, *more]}) == "2 steps added"
    assert summarize_change(before, {**before, "steps": [{**tag, "params": {"tags": ["y"]}}]}) == (
        "step 'tag' changed"
    )
    assert summarize_change(before, {**before, "steps": []}) == "step 'tag' removed"
    assert summarize_change({**before, "steps": more}, {**before, "steps": more[::-1]}) == (
        "steps reordered"
    )
    renamed = {**before, "name": "New", "description": "other"}
    assert summarize_change(before, renamed) == (
        "renamed 'Refund to billing' → 'New'; description changed"
    )
    new_trigger = {**before, "trigger": {"type": "new_conversation"}}
    assert summarize_change(before, new_trigger) == "trigger new_message → new_conversation"
    assert summarize_change(before, before, restored_from=1) == "restored version 1: no change"


async def test_versions_record_who_saved_them_and_what_changed(admin: httpx.AsyncClient) -> None:
    await admin.put("/teams/vip-support", json={"name": "VIP"})
    await admin.put("/teams/billing", json={"name": "Billing"})
    created = await create(admin, definition(status="draft"))
    wid = created["id"]
    assert (await admin.patch(f"/workflows/{wid}", json={"status": "active"})).status_code == 200
    steps = [*VIP["steps"][:1], {**VIP["steps"][1], "params": {"team": "billing"}}]
    assert (await admin.patch(f"/workflows/{wid}", json={"steps": steps})).status_code == 200

    versions = (await admin.get(f"/workflows/{wid}/versions")).json()["data"]
    assert [v["changed_by"] for v in versions] == ["test admin"] * 3
    assert [v["summary"] for v in versions] == [
        "created",
        "status draft → active",
        "step 'greet' removed; step 'route' changed",
    ]


async def test_restore_saves_an_earlier_body_as_a_new_version(
    api: Api, admin: httpx.AsyncClient
) -> None:
    created = await create(admin, refund_definition())
    wid = created["id"]
    await admin.patch(f"/workflows/{wid}", json={"name": "Renamed", "status": "active"})

    restored = await admin.post(f"/workflows/{wid}/versions/1/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["version"] == 3
    assert body["name"] == "Refund to billing" and body["status"] == "draft"
    assert restored.headers["ETag"] == '"3"'

    versions = (await admin.get(f"/workflows/{wid}/versions")).json()["data"]
    assert versions[-1]["restored_from"] == 1
    assert versions[-1]["summary"] == (
        "restored version 1: status active → draft; renamed 'Renamed' → 'Refund to billing'"
    )
    with Session(api.engine) as session:
        rows = session.exec(select(WorkflowVersionRow)).all()
        assert sorted(row.version for row in rows) == [1, 2, 3]


async def test_restore_refusals(api: Api, admin: httpx.AsyncClient) -> None:
    created = await create(admin, refund_definition())
    wid = created["id"]
    missing = await admin.post(f"/workflows/{wid}/versions/9/restore")
    assert missing.status_code == 404
    assert "version" in error_of(missing)["message"]
    assert (await admin.post("/workflows/wf_nope/versions/1/restore")).status_code == 404

    current = await admin.post(f"/workflows/{wid}/versions/1/restore")
    assert current.status_code == 409
    assert error_of(current)["code"] == "already_current"

    await admin.patch(f"/workflows/{wid}", json={"name": "Two"})
    stale = await admin.post(f"/workflows/{wid}/versions/1/restore", headers={"If-Match": "1"})
    assert stale.status_code == 409
    assert error_of(stale)["code"] == "version_conflict"

    viewer = await api.client("viewer")
    assert (await viewer.post(f"/workflows/{wid}/versions/1/restore")).status_code == 403
    assert (await viewer.get(f"/workflows/{wid}/versions")).status_code == 200
