"""/schedules over HTTP: create or replace, read with open_now / next_opening, list, roles,
bad schedules rejected at the offending field with nothing stored, and the link with definitions
(a definition names an existing schedule; a schedule in use cannot be deleted)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from definitions.schedules import SUPPORT_HOURS_EXAMPLE, WEEKDAYS
from tests import api_fixtures
from tests.api_fixtures import Api, error_of
from tests.test_api_workflows import VIP

api = api_fixtures.api
admin = api_fixtures.admin


def schedule(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(SUPPORT_HOURS_EXAMPLE)
    body.update(changes)
    return body


def always(zone: str = "UTC") -> dict[str, Any]:
    return schedule(
        name="Around the clock",
        timezone=zone,
        hours={day: [["00:00", "24:00"]] for day in WEEKDAYS},
        holidays=[],
        holiday_calendar=None,
    )


async def test_put_schedule_creates_then_replaces_and_anyone_may_read(
    api: Api, admin: httpx.AsyncClient
) -> None:
    created = await admin.put("/schedules/support-hours", json=schedule())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == "support-hours"
    assert {k: body[k] for k in SUPPORT_HOURS_EXAMPLE} == SUPPORT_HOURS_EXAMPLE
    assert isinstance(body["open_now"], bool) and body["next_opening"] is not None

    replaced = await admin.put(
        "/schedules/support-hours", json=schedule(name="Hours", holidays=["2026-12-31"])
    )
    assert replaced.status_code == 200
    assert replaced.json()["holidays"] == ["2026-12-31"]

    viewer = await api.client("viewer")
    assert (await viewer.get("/schedules/support-hours")).json()["name"] == "Hours"
    listed = (await viewer.get("/schedules")).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == "support-hours"
    forbidden = await viewer.put("/schedules/other", json=schedule())
    assert forbidden.status_code == 403
    assert (await viewer.delete("/schedules/support-hours")).status_code == 403
    assert (await (await api.client()).get("/schedules")).status_code == 401

    missing = await viewer.get("/schedules/nope")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "schedule 'nope' not found"
    assert (await admin.delete("/schedules/support-hours")).status_code == 204
    assert (await admin.get("/schedules/support-hours")).status_code == 404
    assert (await admin.delete("/schedules/support-hours")).status_code == 404


async def test_read_says_whether_it_is_open_now_and_when_it_next_opens(
    admin: httpx.AsyncClient,
) -> None:
    before = datetime.now(UTC)
    await admin.put("/schedules/always", json=always("Pacific/Auckland"))
    opened = (await admin.get("/schedules/always")).json()
    assert opened["open_now"] is True
    assert before <= datetime.fromisoformat(opened["next_opening"]) <= datetime.now(UTC)

    await admin.put("/schedules/never", json=schedule(name="Never", hours={}))
    never = (await admin.get("/schedules/never")).json()
    assert never["open_now"] is False and never["next_opening"] is None

    # The SPEC schedule, closed now or not: its next opening is 09:00 or 14:00 Berlin on a
    # weekday within the next week (or now, when it is open).
    await admin.put("/schedules/support", json=schedule())
    support = (await admin.get("/schedules/support")).json()
    opening = datetime.fromisoformat(support["next_opening"])
    assert opening - before < timedelta(days=8)
    if not support["open_now"]:
        local = opening.astimezone(ZoneInfo("Europe/Berlin"))
        assert local.strftime("%H:%M") in ("09:00", "14:00") and local.weekday() < 5


BAD_SCHEDULES = [
    ("time-out-of-range", {"hours": {"mon": [["09:00", "25:00"]]}}, ["hours", "mon", 0, 1]),
    ("closes-before-opening", {"hours": {"fri": [["17:00", "09:00"]]}}, ["hours", "fri", 0]),
    ("starts-at-24:00", {"hours": {"fri": [["24:00", "24:00"]]}}, ["hours", "fri", 0]),
    (
        "overlap",
        {"hours": {"fri": [["09:00", "13:00"], ["12:00", "17:00"]]}},
        ["hours", "fri", 1],
    ),
    (
        "out-of-order",
        {"hours": {"tue": [["14:00", "17:00"], ["09:00", "13:00"]]}},
        ["hours", "tue", 1],
    ),
    ("unknown-day", {"hours": {"monday": [["09:00", "17:00"]]}}, ["hours", "monday"]),
    ("no-closing-time", {"hours": {"mon": [["09:00"]]}}, ["hours", "mon", 0, 1]),
    ("unknown-zone", {"timezone": "Mars/Olympus"}, ["timezone"]),
    ("bad-holiday", {"holidays": ["2026-02-30"]}, ["holidays", 0]),
    ("calendar-shape", {"holiday_calendar": "germany"}, ["holiday_calendar"]),
    ("unknown-country", {"holiday_calendar": "QQ"}, ["holiday_calendar"]),
    ("unknown-subdivision", {"holiday_calendar": "DE-ZZ"}, ["holiday_calendar"]),
    ("no-hours", {"hours": None}, ["hours"]),
]


@pytest.mark.parametrize(
    ("change", "loc"), [case[1:] for case in BAD_SCHEDULES], ids=[c[0] for c in BAD_SCHEDULES]
)
async def test_bad_schedule_is_rejected_at_the_field_and_nothing_is_stored(
    admin: httpx.AsyncClient, change: dict[str, Any], loc: list[str | int]
) -> None:
    response = await admin.put("/schedules/bad", json=schedule(**change))
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["details"][0]["loc"] == ["body", *loc], error
    assert (await admin.get("/schedules/bad")).status_code == 404


async def test_overlap_and_calendar_messages_say_what_to_fix(admin: httpx.AsyncClient) -> None:
    overlap = await admin.put(
        "/schedules/bad",
        json=schedule(hours={"fri": [["09:00", "13:00"], ["12:00", "17:00"]]}),
    )
    assert "opens at 12:00, before the previous one closes (13:00)" in error_of(overlap)["message"]
    calendar = await admin.put("/schedules/bad", json=schedule(holiday_calendar="DE-ZZ"))
    assert "DE has no subdivision 'ZZ'" in error_of(calendar)["message"]
    assert "BY" in error_of(calendar)["message"]


async def test_a_bad_schedule_id_is_rejected(admin: httpx.AsyncClient) -> None:
    response = await admin.put("/schedules/no%20spaces", json=schedule())
    assert response.status_code == 422
    assert error_of(response)["details"][0]["loc"] == ["path", "schedule_id"]


async def test_a_definition_names_an_existing_schedule_which_then_cannot_be_deleted(
    admin: httpx.AsyncClient,
) -> None:
    named = {**VIP, "schedule": "support-hours"}
    await admin.put("/teams/vip-support", json={"name": "VIP"})  # VIP routes there
    missing = await admin.post("/workflows", json=named)
    assert missing.status_code == 422
    error = error_of(missing)
    assert error["details"][0]["loc"] == ["body", "schedule"]
    assert "PUT /schedules/support-hours" in error["message"]

    await admin.put("/schedules/support-hours", json=schedule())
    created = await admin.post("/workflows", json=named)
    assert created.status_code == 201, created.text
    workflow = created.json()
    assert workflow["schedule"] == "support-hours"
    other = (await admin.post("/workflows", json={**VIP, "name": "No schedule"})).json()
    assert other["schedule"] is None

    in_use = await admin.delete("/schedules/support-hours")
    assert in_use.status_code == 409
    error = error_of(in_use)
    assert error["code"] == "schedule_in_use"
    assert workflow["id"] in error["message"] and VIP["name"] in error["message"]
    assert [d["loc"] for d in error["details"]] == [["workflow", workflow["id"]]]
    assert (await admin.get("/schedules/support-hours")).status_code == 200

    unnamed = await admin.patch(f"/workflows/{workflow['id']}", json={"schedule": None})
    assert unnamed.status_code == 200 and unnamed.json()["schedule"] is None
    assert (await admin.delete("/schedules/support-hours")).status_code == 204
    renamed = await admin.patch(f"/workflows/{workflow['id']}", json={"schedule": "support-hours"})
    assert renamed.status_code == 422
    assert error_of(renamed)["details"][0]["loc"] == ["body", "schedule"]


async def test_openapi_documents_the_schedules_api(admin: httpx.AsyncClient) -> None:
    document = (await admin.get("/openapi.json")).json()
    assert {"get", "put", "delete"} <= set(document["paths"]["/schedules/{schedule_id}"])
    put = document["paths"]["/schedules/{schedule_id}"]["put"]
    assert (
        put["summary"]
        and "409" in document["paths"]["/schedules/{schedule_id}"]["delete"]["responses"]
    )
    body = put["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Schedule"}
    schema = document["components"]["schemas"]["Schedule"]
    assert schema["properties"]["timezone"]["description"]
    assert schema["examples"][0]["timezone"] == "Europe/Berlin"
