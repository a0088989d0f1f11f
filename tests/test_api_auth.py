"""API keys and roles over HTTP: every route × every role (SPEC §4).

The matrix is built from the app's own routes, so a route added later is walked too: without a
key every route but /health answers 401 (with `WWW-Authenticate: Bearer`); with a key, a role that
may not use the route answers 403, and a role that may never gets 401/403 (a 404 or 422 for the
placeholder ids and empty bodies used here is fine: it got past auth).
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import Session, select

from store import keys
from store.keys import create_key, list_keys, revoke_key
from store.models import ApiKeyRow, utcnow
from tests import api_fixtures
from tests.api_fixtures import Api, error_of

api = api_fixtures.api

PUBLIC = {"/health"}
ROLES = ("admin", "integration", "viewer")
#: POSTs that change nothing, which viewers may make (issue 15: viewers may backtest).
READ_ONLY_POSTS = {"/workflows/{workflow_id}/backtest", "/backtest"}


def expected_allowed(role: str, method: str, path: str) -> bool:
    """The role table as the SPEC states it."""
    if role == "admin":
        return True
    if role == "integration":
        return method == "POST" and path == "/events"
    if role == "viewer":
        return method == "GET" or (method == "POST" and path in READ_ONLY_POSTS)
    raise AssertionError(role)


def api_routes(api: Api) -> list[tuple[str, str]]:
    """(method, path) of every documented route (the OpenAPI document lists them all)."""
    paths = api.app.openapi()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if path not in PUBLIC
        for method in operations
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "does-not-exist", path)


async def test_every_route_needs_a_key_and_the_right_role(api: Api) -> None:
    routes = api_routes(api)
    assert ("POST", "/events") in routes and ("GET", "/workflows") in routes
    assert len(routes) >= 20
    anonymous = await api.client()
    clients = {role: await api.client(role) for role in ROLES}
    failures: list[str] = []
    for method, path in routes:
        url = concrete(path)
        body: dict[str, object] | None = None if method in ("GET", "DELETE") else {}
        response = await anonymous.request(method, url, json=body)
        if response.status_code != 401:
            failures.append(f"{method} {path} without a key: {response.status_code}")
        elif response.headers.get("WWW-Authenticate") != "Bearer":
            failures.append(f"{method} {path}: 401 without WWW-Authenticate: Bearer")
        else:
            assert error_of(response)["code"] == "unauthorized"
        for role, client in clients.items():
            response = await client.request(method, url, json=body)
            allowed = expected_allowed(role, method, path)
            if allowed and response.status_code in (401, 403):
                failures.append(
                    f"{method} {path} as {role}: {response.status_code}, expected access"
                )
            if not allowed:
                if response.status_code != 403:
                    failures.append(
                        f"{method} {path} as {role}: {response.status_code}, expected 403"
                    )
                else:
                    error = error_of(response)
                    assert error["code"] == "forbidden"
                    assert role in error["message"]
    assert not failures, "\n".join(failures)


async def test_health_needs_no_key(api: Api) -> None:
    response = await (await api.client()).get("/health")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["Bearer sf_admin_not-a-real-key", "Basic YWRtaW46YWRtaW4=", "Bearer", "sf_admin_x"],
)
async def test_bad_credentials_are_unauthorized(api: Api, authorization: str) -> None:
    client = await api.client(Authorization=authorization)
    response = await client.get("/workflows")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert error_of(response)["code"] == "unauthorized"


async def test_revoked_key_is_unauthorized(api: Api) -> None:
    key = create_key(api.engine, "admin", name="to revoke")
    client = await api.client(Authorization=f"Bearer {key}")
    assert (await client.get("/workflows")).status_code == 200
    (info,) = [k for k in list_keys(api.engine) if k.name == "to revoke"]
    assert revoke_key(api.engine, info.id)
    response = await client.get("/workflows")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


async def test_a_key_revoked_by_another_process_stops_working_within_the_cache_time(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = create_key(api.engine, "admin", name="revoked elsewhere")
    client = await api.client(Authorization=f"Bearer {key}")
    assert (await client.get("/workflows")).status_code == 200
    with Session(api.engine) as session:  # as `supportflow keys revoke` does, in its own process
        row = session.exec(select(ApiKeyRow).where(ApiKeyRow.name == "revoked elsewhere")).one()
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
    assert (await client.get("/workflows")).status_code == 200  # trusted for KEY_CACHE_SECONDS
    monkeypatch.setattr(keys, "KEY_CACHE_SECONDS", 0.0)  # ... which have now passed
    response = await client.get("/workflows")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


async def test_keys_are_stored_hashed(api: Api) -> None:
    key = create_key(api.engine, "viewer")
    assert key.startswith("sf_view_") and len(key) > 40
    (info,) = [k for k in list_keys(api.engine) if key.startswith(k.prefix)]
    assert info.role == "viewer"
    assert key not in info.model_dump_json()
    with api.engine.connect() as connection:
        dumped = str(connection.exec_driver_sql("SELECT * FROM api_keys").fetchall())
    assert key not in dumped


async def test_viewer_reads_but_cannot_write(api: Api) -> None:
    viewer = await api.client("viewer")
    admin = await api.client("admin")
    created = await admin.post(
        "/workflows",
        json={
            "name": "Tagger",
            "trigger": {"type": "new_conversation"},
            "steps": [
                {"id": "t", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}
            ],
        },
    )
    wid = created.json()["id"]
    assert (await viewer.get(f"/workflows/{wid}")).status_code == 200
    assert (await viewer.get("/workflows")).json()["count"] == 1
    response = await viewer.patch(f"/workflows/{wid}", json={"status": "active"})
    assert response.status_code == 403
    assert (await admin.get(f"/workflows/{wid}")).json()["status"] == "draft"


async def test_openapi_documents_bearer_auth_and_descriptions(api: Api) -> None:
    client: httpx.AsyncClient = await api.client()
    schema = (await client.get("/openapi.json")).json()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), (method, path)
            assert operation.get("tags"), (method, path)
    definition = schema["components"]["schemas"]["WorkflowDefinitionIn-Input"]
    assert definition["properties"]["name"].get("examples")
