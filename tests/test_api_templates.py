"""Templates and Test in Draft over HTTP: browse by category, preview, use as a draft, then dry-run
it against a sample event and prove that nothing happened to the desk store or Temporal."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel import Session, func, select
from temporalio.testing import WorkflowEnvironment

from store.models import (
    ActionEffectRow,
    ConversationRow,
    CustomerRow,
    EventRow,
    MessageRow,
    NotificationRow,
    TicketRow,
)
from temporal_edge import SearchAttr
from tests import api_fixtures, test_api_workflows
from tests.api_fixtures import Api, error_of
from tests.test_api_events import vip_event
from tests.test_api_workflows import VIP

api = api_fixtures.api
admin = api_fixtures.admin
vip_team = test_api_workflows.vip_team  # autouse: the team VIP routes to exists


async def test_templates_by_category(api: Api) -> None:
    viewer = await api.client("viewer")
    everything = (await viewer.get("/templates")).json()
    assert everything["count"] == len(everything["data"]) >= 12
    card = everything["data"][0]
    assert set(card) == {"id", "category", "name", "summary", "trigger_type", "steps_count"}
    seen = 0
    for category in ("customer_service", "sales", "operations"):
        page = (await viewer.get("/templates", params={"category": category})).json()
        assert page["count"] >= 3
        assert {c["category"] for c in page["data"]} == {category}
        seen += page["count"]
    assert seen == everything["count"]
    bad = await viewer.get("/templates", params={"category": "marketing"})
    assert bad.status_code == 422
    assert error_of(bad)["details"][0]["loc"] == ["query", "category"]


async def test_template_preview_and_use(admin: httpx.AsyncClient) -> None:
    template_id = (await admin.get("/templates")).json()["data"][0]["id"]
    preview = await admin.get(f"/templates/{template_id}")
    assert preview.status_code == 200
    template = preview.json()
    assert template["id"] == template_id
    assert template["definition"]["steps"]

    used = await admin.post(f"/templates/{template_id}/use")
    assert used.status_code == 201, used.text
    draft = used.json()
    assert draft["status"] == "draft"
    assert draft["version"] == 1
    assert draft["steps"] == template["definition"]["steps"]
    assert draft["trigger"] == template["definition"]["trigger"]
    assert (await admin.get(f"/workflows/{draft['id']}")).status_code == 200

    named = await admin.post(f"/templates/{template_id}/use", json={"name": "Mine"})
    assert named.status_code == 201 and named.json()["name"] == "Mine"

    missing = await admin.get("/templates/nope")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "template 'nope' not found"
    assert (await admin.post("/templates/nope/use")).status_code == 404


def desk_counts(api: Api) -> dict[str, int]:
    tables: list[Any] = [
        ConversationRow,
        MessageRow,
        TicketRow,
        NotificationRow,
        ActionEffectRow,
        EventRow,
    ]
    with Session(api.engine) as session:
        return {
            table.__tablename__: session.exec(select(func.count()).select_from(table)).one()
            for table in tables
        }


async def test_dry_run_reports_and_changes_nothing(
    api: Api, admin: httpx.AsyncClient, dev_env: WorkflowEnvironment
) -> None:
    workflow = (await admin.post("/workflows", json={**VIP, "status": "draft"})).json()
    wid = workflow["id"]
    before = desk_counts(api)

    report = await admin.post(
        f"/workflows/{wid}/test", json={"event": vip_event("evt-dry", "c-dry")}
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["trigger"]["matched"] is True
    assert body["outcome"] == "would_complete"
    condition, route, greet = body["steps"]
    assert condition["status"] == "passed"
    assert condition["rules"][0]["resolved"] == "customer"
    assert route["status"] == "would_run" and route["params"]["team"] == "vip-support"
    assert greet["rendered"]["message"] == "Hi Ada, a VIP specialist is here."

    lead = vip_event("evt-dry-2", "c-dry")
    lead["customer"]["lifecycle"] = "lead"
    stopped = (await admin.post(f"/workflows/{wid}/test", json={"event": lead})).json()
    assert stopped["outcome"] == "would_stop"
    assert stopped["stopped_at"] == "is-customer"
    assert [s["status"] for s in stopped["steps"]] == ["failed", "skipped", "skipped"]

    email = vip_event("evt-dry-3", "c-dry")
    email["conversation"]["channel"] = "email"
    unmatched = (await admin.post(f"/workflows/{wid}/test", json={"event": email})).json()
    assert unmatched["trigger"]["matched"] is False
    assert "email" in unmatched["trigger"]["reason"]

    assert desk_counts(api) == before
    assert [
        e async for e in dev_env.client.list_workflows(f'{SearchAttr.DEFINITION_ID}="{wid}"')
    ] == []
    assert (await admin.get("/conversations/c-dry")).status_code == 404
    assert (await admin.get(f"/workflows/{wid}")).json()["version"] == 1


async def test_dry_run_reads_the_desk_state_when_it_has_the_conversation(
    api: Api, admin: httpx.AsyncClient
) -> None:
    workflow = (await admin.post("/workflows", json={**VIP, "status": "draft"})).json()
    # The desk knows the customer as a lead; the sample event claims "customer".
    known = vip_event("evt-known", "c-known")
    known["customer"]["lifecycle"] = "lead"
    assert (await admin.post("/events", json=known)).status_code == 202
    before = desk_counts(api)

    # The sample does not say the lifecycle: as ingestion would, the dry run keeps the desk's.
    sample = vip_event("evt-sample", "c-known")
    del sample["customer"]["lifecycle"]
    report = (await admin.post(f"/workflows/{workflow['id']}/test", json={"event": sample})).json()
    assert report["steps"][0]["rules"][0]["resolved"] == "lead"
    assert report["outcome"] == "would_stop"
    # A sample that does say it replaces it, as ingestion would; and nothing is written.
    claims = vip_event("evt-sample-2", "c-known")
    report = (await admin.post(f"/workflows/{workflow['id']}/test", json={"event": claims})).json()
    assert report["steps"][0]["rules"][0]["resolved"] == "customer"
    assert report["outcome"] == "would_complete"
    assert desk_counts(api) == before
    with Session(api.engine) as session:
        stored = session.get(CustomerRow, "u-4")
        assert stored is not None and stored.lifecycle == "lead"


async def test_dry_run_rejects_a_bad_sample(admin: httpx.AsyncClient) -> None:
    wid = (await admin.post("/workflows", json=VIP)).json()["id"]
    response = await admin.post(f"/workflows/{wid}/test", json={"event": {"id": "x"}})
    assert response.status_code == 422
    locs = [d["loc"] for d in error_of(response)["details"]]
    assert ["body", "event", "type"] in locs
    assert (
        await admin.post("/workflows/wf_nope/test", json={"event": vip_event("e", "c")})
    ).status_code == 404
