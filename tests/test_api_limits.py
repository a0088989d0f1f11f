"""The limits of SPEC §3.1 over HTTP (issue 11): each refused input is a 413 or a 422 naming the
field, nothing is written, and the OpenAPI document shows the limit. Each case below was a 500, a
503 or an accepted body before."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from definitions.limits import MAX_BODY_BYTES
from desk.mirror import union_tags
from tests import api_fixtures
from tests.api_fixtures import Api, error_of
from tests.test_api_events import vip_event
from tests.test_api_workflows import VIP, definition, table_counts, vip_team

vip_team = vip_team  # autouse: the team VIP routes to exists
api = api_fixtures.api
admin = api_fixtures.admin


def locations(response: httpx.Response) -> list[list[str | int]]:
    assert response.status_code == 422, response.text
    return [detail["loc"] for detail in error_of(response)["details"]]


def nested(depth: int) -> dict[str, Any]:
    """A condition step whose groups nest `depth` deep."""
    condition: dict[str, Any] = {"field": "customer.segment", "operator": "equals", "value": "vip"}
    for _ in range(depth - 1):
        condition = {"all": [condition]}
    return {"id": "deep", "type": "condition", "all": [condition]}


async def conversation_exists(client: httpx.AsyncClient, conversation_id: str) -> bool:
    response = await client.get(f"/conversations/{conversation_id}")
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


# ---------------------------------------------------------------- body size


async def test_a_body_over_1_mib_is_413_before_it_is_read(api: Api) -> None:
    sender = await api.client("integration")
    event = vip_event("evt-big", "c-big", conversation={"id": "c-big", "channel": "email"})
    event["conversation"]["subject"] = "x" * MAX_BODY_BYTES
    response = await sender.post("/events", json=event)
    assert response.status_code == 413, response.text
    assert error_of(response)["code"] == "payload_too_large"
    assert not await conversation_exists(await api.client("admin"), "c-big")


async def test_a_chunked_body_over_1_mib_is_413_too(api: Api) -> None:
    sender = await api.client("integration")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the bytes are counted
        yield b'{"id": "evt-chunked", "junk": "'
        for _ in range(20):
            yield b"x" * 64 * 1024
        yield b'"}'

    response = await sender.post(
        "/events", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert error_of(response)["code"] == "payload_too_large"


async def test_a_body_that_is_not_text_is_422(admin: httpx.AsyncClient) -> None:
    response = await admin.post(
        "/workflows", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert locations(response) == [["body"]]


# ---------------------------------------------------------------- events


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda e: e.update(id="evt\x00nul"), ["body", "id"]),
        (lambda e: e["conversation"].update(id="c\x00"), ["body", "conversation", "id"]),
        (lambda e: e["customer"].update(name="Ada\x00"), ["body", "customer", "name"]),
        (lambda e: e.update(id="e" * 201), ["body", "id"]),
        (
            lambda e: e["conversation"].update(tags=[f"t{i}" for i in range(201)]),
            ["body", "conversation", "tags"],
        ),
        (lambda e: e["conversation"].update(tags=["t" * 201]), ["body", "conversation", "tags", 0]),
        (
            lambda e: e.update(
                type="message.created",
                message={"id": "m-1", "sender_type": "customer", "content": "hi\x00"},
            ),
            ["body", "message", "content"],
        ),
        (
            lambda e: e.update(
                type="message.created",
                message={"id": "m-1", "sender_type": "customer", "content": "x" * 65_537},
            ),
            ["body", "message", "content"],
        ),
    ],
    ids=["nul-id", "nul-conversation", "nul-name", "long-id", "201-tags", "long-tag",
         "nul-content", "long-content"],
)  # fmt: skip
async def test_an_event_over_a_limit_is_422_and_writes_nothing(
    api: Api, change: Any, loc: list[str | int]
) -> None:
    event = vip_event("evt-limit", "c-limit")
    change(event)
    response = await (await api.client("integration")).post("/events", json=event)
    assert locations(response) == [loc]
    assert not await conversation_exists(await api.client("admin"), "c-limit")


async def test_message_content_keeps_newlines_and_tabs(api: Api) -> None:
    event = vip_event(
        "evt-lines",
        "c-lines",
        type="message.created",
        message={"id": "m-1", "sender_type": "customer", "content": "line 1\r\nline\t2\n"},
    )
    response = await (await api.client("integration")).post("/events", json=event)
    assert response.status_code == 202, response.text


# ---------------------------------------------------------------- definitions


async def test_a_condition_nested_6_deep_is_refused_5_deep_is_saved(
    api: Api, admin: httpx.AsyncClient
) -> None:
    before = table_counts(api)
    response = await admin.post("/workflows", json=definition(steps=[nested(150)]))
    assert locations(response) == [
        ["body", "steps", 0, "condition", "all", 0, "all", 0, "all", 0, "all", 0, "all", 0]
    ]
    assert table_counts(api) == before
    response = await admin.post("/workflows", json=definition(steps=[nested(5)]))
    assert response.status_code == 201, response.text


async def test_put_and_patch_of_a_deep_condition_write_nothing(
    api: Api, admin: httpx.AsyncClient
) -> None:
    created = (await admin.post("/workflows", json=VIP)).json()
    url = f"/workflows/{created['id']}"
    before = table_counts(api)
    assert locations(await admin.put(url, json=definition(steps=[nested(7)])))
    assert locations(await admin.patch(url, json={"steps": [nested(7)]}))
    assert table_counts(api) == before
    for path in (url, f"{url}/versions"):
        assert (await admin.get(path)).status_code == 200
    assert (await admin.post(f"{url}/duplicate")).status_code == 201


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda d: d.update(name="VIP\x00"), ["body", "name"]),
        (lambda d: d.update(steps=[d["steps"][1]] * 101), ["body", "steps"]),
        (lambda d: d["steps"][0].update(operator="in", value=[f"v{i}" for i in range(201)]),
         ["body", "steps", 0, "condition", "value"]),
        (lambda d: d["steps"].append({"id": "tag", "type": "action", "action": "add_tag",
                                      "params": {"tags": [f"t{i}" for i in range(51)]}}),
         ["body", "steps", 3, "action", "add_tag", "params", "tags"]),
        (lambda d: d["steps"][1]["params"].update(team="vip\x00"),
         ["body", "steps", 1, "action", "route", "params", "team"]),
    ],
    ids=["nul-name", "101-steps", "201-values", "51-action-tags", "nul-team"],
)  # fmt: skip
async def test_a_definition_over_a_limit_is_422_and_writes_nothing(
    api: Api, admin: httpx.AsyncClient, change: Any, loc: list[str | int]
) -> None:
    body = copy.deepcopy(VIP)
    change(body)
    before = table_counts(api)
    assert locations(await admin.post("/workflows", json=body)) == [loc]
    assert table_counts(api) == before


async def test_a_definition_over_256_kib_of_json_is_422(api: Api, admin: httpx.AsyncClient) -> None:
    body = definition()
    rule = {"field": "customer.segment", "operator": "equals", "value": "v" * 60_000}
    body["steps"][0] = {"id": "big", "type": "condition", "any": [rule] * 5}
    assert len(json.dumps(body)) < MAX_BODY_BYTES
    before = table_counts(api)
    response = await admin.post("/workflows", json=body)
    assert locations(response) == [["body"]]
    assert "256 KiB" in error_of(response)["message"]
    assert table_counts(api) == before


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/workflows", {"offset": "99999999999999999999"}, ["query", "offset"]),
        ("/workflows", {"offset": "1000001"}, ["query", "offset"]),
        ("/workflows", {"q": "a\x00b"}, ["query", "q"]),
        ("/runs", {"cursor": "abc"}, ["query", "cursor"]),
        ("/runs", {"cursor": "x" * 400}, ["query", "cursor"]),
        ("/runs", {"cursor": "not a cursor!"}, ["query", "cursor"]),
        ("/analytics", {"workflow_id": "wf\x00"}, ["query", "workflow_id"]),
        ("/workflows/wf%00", {}, ["path", "workflow_id"]),
        ("/conversations/c%00", {}, ["path", "conversation_id"]),
        ("/teams/t%00", {}, ["path", "team_id"]),
    ],
)
async def test_a_bad_parameter_is_422_never_5xx(
    admin: httpx.AsyncClient, path: str, params: dict[str, str], loc: list[str]
) -> None:
    response = await admin.get(path, params=params)
    assert locations(response) == [loc]
    assert "Retry-After" not in response.headers


async def test_a_team_with_nul_in_its_name_is_422(admin: httpx.AsyncClient) -> None:
    response = await admin.put("/teams/vip", json={"name": "VIP\x00", "members": ["ana\x00"]})
    assert locations(response) == [["body", "name"], ["body", "members", 0]]
    assert (await admin.get("/teams/vip")).status_code == 404


# ---------------------------------------------------------------- documented and linear


async def test_the_openapi_document_shows_the_limits(admin: httpx.AsyncClient) -> None:
    document = (await admin.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    conversation = schemas["ConversationIn"]["properties"]
    assert conversation["tags"]["maxItems"] == 200
    assert conversation["tags"]["items"]["maxLength"] == 200
    assert schemas["Event"]["properties"]["id"]["maxLength"] == 200
    assert "pattern" in schemas["Event"]["properties"]["id"]
    events = document["paths"]["/events"]["post"]["responses"]
    assert {"202", "401", "403", "413", "422"} <= set(events)
    offset = next(
        p for p in document["paths"]["/workflows"]["get"]["parameters"] if p["name"] == "offset"
    )
    assert offset["schema"]["maximum"] == 1_000_000


def test_merging_tags_is_linear() -> None:
    current = [f"a{i}" for i in range(100_000)]
    extra = [f"b{i}" for i in range(100_000)] + current
    started = time.perf_counter()
    merged = union_tags(current, extra)
    assert time.perf_counter() - started < 1.0  # quadratic took minutes
    assert merged == current + extra[:100_000]
