"""Teams, agents and schedules a definition names: a draft saves with warnings, activating it is
refused with a 422 at each missing reference, templates answer with warnings when used."""

from __future__ import annotations

import httpx

from definitions.references import references
from tests import api_fixtures
from tests.api_fixtures import error_of
from tests.test_api_workflows import definition

api = api_fixtures.api
admin = api_fixtures.admin


def test_references_are_found_in_steps_schedule_and_on_failure() -> None:
    body = {
        "schedule": "hours",
        "on_failure": {"notify": {"agent": "sam"}},
        "steps": [
            {"id": "route", "type": "action", "action": "route", "params": {"team": "vip"}},
            {"id": "esc", "type": "action", "action": "escalate", "params": {"to": "boss"}},
            {"id": "tell", "type": "action", "action": "notify", "params": {"agent": "ana"}},
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}},
        ],
    }
    found = [(ref.loc, ref.kind, ref.id, ref.step_id) for ref in references(body)]
    assert found == [
        (("steps", 0, "params", "team"), "team", "vip", "route"),
        (("steps", 1, "params", "to"), "agent", "boss", "esc"),
        (("steps", 2, "params", "agent"), "agent", "ana", "tell"),
        (("schedule",), "schedule", "hours", None),
        (("on_failure", "notify", "agent"), "agent", "sam", None),
    ]


async def test_a_draft_saves_with_warnings_and_activation_is_refused(
    admin: httpx.AsyncClient,
) -> None:
    draft = await admin.post("/workflows", json=definition(status="draft"))
    assert draft.status_code == 201, draft.text
    [warning] = draft.json()["warnings"]
    assert warning == {
        "loc": ["steps", 1, "params", "team"],
        "step_id": "route",
        "kind": "team",
        "id": "vip-support",
        "message": "step 'route' names team 'vip-support', which does not exist",
    }
    wid = draft.json()["id"]
    assert (await admin.get(f"/workflows/{wid}")).json()["warnings"] == [warning]

    refused = await admin.patch(f"/workflows/{wid}", json={"status": "active"})
    assert refused.status_code == 422
    error = error_of(refused)
    assert error["details"][0]["loc"] == ["body", "steps", 1, "params", "team"]
    assert "step 'route'" in error["details"][0]["msg"]
    assert "PUT /teams/vip-support" in error["details"][0]["msg"]
    assert (await admin.get(f"/workflows/{wid}")).json()["version"] == 1  # nothing changed
    assert (await admin.post("/workflows", json=definition())).status_code == 422

    assert (await admin.put("/teams/vip-support", json={"name": "VIP"})).status_code == 201
    active = await admin.patch(f"/workflows/{wid}", json={"status": "active"})
    assert active.status_code == 200, active.text
    assert active.json()["warnings"] == []


async def test_templates_answer_with_warnings_when_used(admin: httpx.AsyncClient) -> None:
    used = await admin.post("/templates/vip-auto-route/use")
    assert used.status_code == 201, used.text
    assert used.json()["status"] == "draft"
    assert [w["kind"] for w in used.json()["warnings"]] == ["team"]


async def test_a_time_template_names_its_schedule_until_it_exists(admin: httpx.AsyncClient) -> None:
    used = await admin.post("/templates/after-hours-reply/use")
    assert used.status_code == 201, used.text
    [warning] = used.json()["warnings"]
    assert (warning["kind"], warning["id"], warning["loc"]) == (
        "schedule",
        "support-hours",
        ["schedule"],
    )
    wid = used.json()["id"]
    refused = await admin.patch(f"/workflows/{wid}", json={"status": "active"})
    assert refused.status_code == 422
    (detail,) = error_of(refused)["details"]
    assert detail["loc"] == ["body", "schedule"]
    assert "PUT /schedules/support-hours" in detail["msg"]

    hours = {"name": "Support", "timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "17:00"]]}}
    assert (await admin.put("/schedules/support-hours", json=hours)).status_code == 201
    active = await admin.patch(f"/workflows/{wid}", json={"status": "active"})
    assert active.status_code == 200, active.text
    assert active.json()["warnings"] == []
