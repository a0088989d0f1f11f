"""POST /workflows/{id}/backtest and POST /backtest on the real app (SQLite, the session's dev
server): events recorded by the real ingestion at chosen instants, then replayed; bad input is a
422 naming the field; viewers may run it; nothing is written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, select

from definitions.events import Event
from definitions.gallery import get_template
from desk.ingestion import EventIngestor
from store.models import ConversationRow, EventRow, utcnow
from tests import api_fixtures
from tests.api_fixtures import Api

api = api_fixtures.api
admin = api_fixtures.admin

REFUNDS = {
    "name": "Refund follow-up",
    "status": "draft",
    "trigger": {"type": "new_message", "sender_types": ["customer"]},
    "steps": [
        {"id": "refund", "type": "condition", "field": "message.content", "operator": "contains",
         "value": "refund", "on_false": "stop"},
        {"id": "agent", "type": "wait_for", "event": "agent_message", "timeout": "1h",
         "on_event": "stop", "on_timeout": "continue"},
        {"id": "sorry", "type": "action", "action": "auto_reply",
         "params": {"message": "Sorry {{customer.name | default: \"there\"}}, an agent is here"}},
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["refund"]}},
    ],
}  # fmt: skip


class Recorder:
    """Records events through the real ingestion, each at the instant given."""

    def __init__(self, api: Api) -> None:
        self.now = utcnow()
        self.ingestor = EventIngestor(api.engine, api.app.state.gateway, clock=lambda: self.now)
        self.count = 0

    async def message(
        self, at: datetime, conversation: str, sender: str, content: str, name: str = "Ada"
    ) -> None:
        self.count += 1
        self.now = at
        raw: dict[str, Any] = {
            "id": f"evt-{self.count}",
            "type": "message.created",
            "occurred_at": at.isoformat(),
            "conversation": {"id": conversation, "channel": "email"},
            "customer": {"id": f"u-{conversation}", "name": name},
            "message": {"id": f"m-{self.count}", "sender_type": sender, "content": content},
        }
        await self.ingestor.ingest(Event.model_validate(raw))


async def create(admin: httpx.AsyncClient, body: dict[str, Any]) -> str:
    response = await admin.post("/workflows", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_backtest_counts_what_the_draft_would_have_done(
    api: Api, admin: httpx.AsyncClient
) -> None:
    workflow_id = await create(admin, REFUNDS)
    recorder = Recorder(api)
    base = utcnow().replace(microsecond=0) - timedelta(days=3)
    # c-1: refund, an agent answers 20 minutes later -> stopped by the wait_for.
    await recorder.message(base, "c-1", "customer", "I want a refund")
    await recorder.message(base + timedelta(minutes=20), "c-1", "agent", "Looking into it")
    # c-2: refund, nobody answers within the hour -> reply and tag.
    await recorder.message(base + timedelta(minutes=5), "c-2", "customer", "Refund please", "Bo")
    # c-3: not about a refund -> stopped by the condition.
    await recorder.message(base + timedelta(days=1), "c-3", "customer", "Where is my parcel?")
    # c-4: a refund 10 minutes ago: the hour is not over yet -> still waiting.
    await recorder.message(utcnow() - timedelta(minutes=10), "c-4", "customer", "refund!")
    # Older than the default window (7 days): not scanned.
    await recorder.message(utcnow() - timedelta(days=8), "c-5", "customer", "refund")
    with Session(api.engine) as session:
        events_before = session.exec(select(func.count()).select_from(EventRow)).one()
        conversations_before = session.exec(select(func.count()).select_from(ConversationRow)).one()

    response = await admin.post(f"/workflows/{workflow_id}/backtest")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["events_scanned"] == 5
    assert report["truncated"] is False
    assert report["matched"] == 4  # the customer messages
    assert report["conversations"] == 4
    assert report["outcomes"] == {"would_complete": 1, "would_stop": 2, "would_wait": 1}
    assert report["stopped_by_step"] == {"refund": 1, "agent": 1}
    assert report["waiting_by_step"] == {"agent": 1}
    assert report["actions"] == {"auto_reply": 1, "add_tag": 1}
    assert len(report["matches_per_day"]) in (7, 8)  # a window not starting at midnight
    assert sum(day["matched"] for day in report["matches_per_day"]) == 4
    assert "as each recorded event carried them" in report["state_note"]
    samples = {sample["conversation_id"]: sample for sample in report["samples"]}
    assert samples["c-2"]["outcome"] == "would_complete"
    assert samples["c-2"]["actions"][0] == {
        "step_id": "sorry",
        "action": "auto_reply",
        "rendered": {"message": "Sorry Bo, an agent is here"},
    }
    assert samples["c-1"]["stopped_at"] == "agent"
    assert samples["c-1"]["waits"] == ["agent: event: agent message 20m later (evt-2)"]
    assert samples["c-4"]["waiting_at"] == "agent"

    # A window: only the first day, only 2 events.
    start, end = base - timedelta(hours=1), base + timedelta(hours=2)
    window = {"from": start.isoformat(), "to": end.isoformat(), "limit": 2}
    response = await admin.post(f"/workflows/{workflow_id}/backtest", json=window)
    assert response.status_code == 200, response.text
    cut = response.json()
    assert cut["events_scanned"] == 2 and cut["truncated"] is True
    assert cut["from"] == window["from"].replace("+00:00", "Z")
    # Nothing was written by either backtest.
    with Session(api.engine) as session:
        assert session.exec(select(func.count()).select_from(EventRow)).one() == events_before
        assert (
            session.exec(select(func.count()).select_from(ConversationRow)).one()
            == conversations_before
        )


async def test_viewers_may_backtest_integrations_may_not(
    api: Api, admin: httpx.AsyncClient
) -> None:
    workflow_id = await create(admin, REFUNDS)
    viewer = await api.client("viewer")
    assert (await viewer.post(f"/workflows/{workflow_id}/backtest")).status_code == 200
    integration = await api.client("integration")
    assert (await integration.post(f"/workflows/{workflow_id}/backtest")).status_code == 403
    assert (
        await (await api.client()).post(f"/workflows/{workflow_id}/backtest")
    ).status_code == 401


async def test_bad_input_is_a_422_naming_the_field(admin: httpx.AsyncClient) -> None:
    workflow_id = await create(admin, REFUNDS)
    url = f"/workflows/{workflow_id}/backtest"

    async def error(body: dict[str, Any], url: str = url) -> dict[str, Any]:
        response = await admin.post(url, json=body)
        assert response.status_code == 422, response.text
        return dict(response.json()["error"])

    late = await error({"from": "2026-11-20T00:00:00Z", "to": "2026-11-10T00:00:00Z"})
    assert late["details"][0]["loc"] == ["body", "from"]
    assert "before 'to'" in late["message"]
    future = (utcnow() + timedelta(days=1)).isoformat()
    assert (await error({"from": future}))["details"][0]["loc"] == ["body", "from"]
    long = await error({"from": "2024-01-01T00:00:00Z", "to": "2026-11-10T00:00:00Z"})
    assert "366 days" in long["message"]
    for limit in (0, 10_001):
        assert (await error({"limit": limit}))["details"][0]["loc"] == ["body", "limit"]
    assert (await error({"form": "2026-11-20T00:00:00Z"}))["details"][0]["loc"] == ["body", "form"]

    missing = await admin.post("/workflows/wf_nope/backtest")
    assert missing.status_code == 404
    assert missing.json()["error"]["details"][0]["loc"] == ["path", "workflow_id"]

    sla = {
        "name": "Late",
        "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "30m"},
        "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
    }
    refused = await error({"definition": sla}, "/backtest")
    assert refused["details"][0]["loc"][-2:] == ["trigger", "type"]
    assert "cannot be backtested" in refused["message"]

    business = {
        **REFUNDS,
        "schedule": "nope",
        "steps": [{"id": "w", "type": "wait", "until": "open"}],
    }
    unknown = await error({"definition": business}, "/backtest")
    assert unknown["details"][0]["loc"][-2:] == ["definition", "schedule"]


async def test_a_template_is_backtested_from_its_definition(api: Api) -> None:
    template = get_template("refund-request-ticket")
    assert template is not None
    recorder = Recorder(api)
    await recorder.message(
        utcnow() - timedelta(hours=2), "c-1", "customer", "I need a refund for order 12"
    )
    body = {"definition": template.definition.model_dump(mode="json", by_alias=True)}
    viewer = await api.client("viewer")
    response = await viewer.post("/backtest", json=body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["events_scanned"] == 1
    assert report["matched"] == 1
    assert report["samples"][0]["conversation_id"] == "c-1"
