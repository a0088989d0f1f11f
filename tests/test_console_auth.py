"""The console's sign-in, session cookie and CSRF protection, over HTTP (no browser): the cookie's
flags, login CSRF, the cookie accepted by the JSON API only with the page's CSRF token for unsafe
calls, viewers read-only, tampering, revocation, sign-out and no open redirect."""

from __future__ import annotations

import re

import httpx

from app.console.session import CSRF_HEADER, SESSION_COOKIE
from store.keys import create_key, list_keys, revoke_key
from tests import api_fixtures
from tests.api_fixtures import Api, error_of

api = api_fixtures.api

DEFINITION = {
    "name": "Console test",
    "trigger": {"type": "new_conversation"},
    "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
}


async def browser(api: Api, base_url: str = api_fixtures.BASE_URL) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url=base_url)
    return await api.stack.enter_async_context(client)


async def sign_in(client: httpx.AsyncClient, key: str, next_: str = "") -> httpx.Response:
    form = await client.get("/console/login")
    assert form.status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    return await client.post(
        "/console/login", data={"api_key": key, "csrf": token.group(1), "next": next_}
    )


def page_csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match is not None
    return match.group(1)


async def test_pages_redirect_to_sign_in_and_root_goes_to_workflows(api: Api) -> None:
    client = await browser(api)
    root = await client.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/console/workflows"
    page = await client.get("/console/workflows")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/workflows"
    assert (await client.get("/console/static/console.css")).status_code == 200


async def test_sign_in_sets_an_httponly_samesite_strict_cookie(api: Api) -> None:
    client = await browser(api)
    answer = await sign_in(client, api.key("admin"), next_="/console/analytics")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/analytics"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http here; https gets Secure (next test)
    assert api.key("admin") not in cookie  # the key itself never goes into the cookie
    page = await client.get("/console/workflows")
    assert page.status_code == 200 and "Create Workflow" in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_cookie_is_secure_over_https(api: Api) -> None:
    client = await browser(api, base_url="https://supportflow.test")
    answer = await sign_in(client, api.key("admin"))
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    assert "secure" in cookie.lower()


async def test_sign_in_refuses_bad_keys_integration_keys_and_forged_forms(api: Api) -> None:
    client = await browser(api)
    unknown = await sign_in(client, "sf_admin_not-a-real-key")
    assert unknown.status_code == 401 and "unknown or has been revoked" in unknown.text
    integration = await sign_in(client, api.key("integration"))
    assert integration.status_code == 403 and "can only post events" in integration.text
    # Login CSRF: a form posted without the double-submit token (e.g. from another site).
    fresh = await browser(api)
    forged = await fresh.post(
        "/console/login", data={"api_key": api.key("admin"), "csrf": "guess", "next": ""}
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.cookies


async def test_no_open_redirect_after_sign_in(api: Api) -> None:
    client = await browser(api)
    for target in ("https://evil.example/", "//evil.example/", "/workflows"):
        answer = await sign_in(client, api.key("admin"), next_=target)
        assert answer.headers["location"] == "/console/workflows"
        client.cookies.clear()


async def test_cookie_calls_the_json_api_and_unsafe_calls_need_the_csrf_token(api: Api) -> None:
    client = await browser(api)
    await sign_in(client, api.key("admin"))
    assert (await client.get("/workflows")).status_code == 200
    token = page_csrf((await client.get("/console/workflows")).text)

    missing = await client.post("/workflows", json=DEFINITION)
    assert missing.status_code == 403 and error_of(missing)["code"] == "csrf_failed"
    wrong = await client.post("/workflows", json=DEFINITION, headers={CSRF_HEADER: "x" * 64})
    assert wrong.status_code == 403 and error_of(wrong)["code"] == "csrf_failed"
    # Nothing was created by the refused calls.
    assert (await client.get("/workflows")).json()["count"] == 0

    created = await client.post("/workflows", json=DEFINITION, headers={CSRF_HEADER: token})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    toggled = await client.patch(
        f"/workflows/{workflow_id}", json={"status": "active"}, headers={CSRF_HEADER: token}
    )
    assert toggled.status_code == 200 and toggled.json()["status"] == "active"
    deleted = await client.delete(f"/workflows/{workflow_id}")
    assert deleted.status_code == 403


async def test_a_token_from_another_session_is_refused(api: Api) -> None:
    first, second = await browser(api), await browser(api)
    await sign_in(first, api.key("admin"))
    await sign_in(second, api.key("admin"))
    other = page_csrf((await second.get("/console/workflows")).text)
    refused = await first.post("/workflows", json=DEFINITION, headers={CSRF_HEADER: other})
    assert refused.status_code == 403


async def test_viewer_session_is_read_only(api: Api) -> None:
    client = await browser(api)
    await sign_in(client, api.key("viewer"))
    page = await client.get("/console/workflows")
    assert page.status_code == 200
    assert 'data-can-write="false"' in page.text and "read-only" in page.text
    token = page_csrf(page.text)
    assert (await client.get("/workflows")).status_code == 200
    refused = await client.post("/workflows", json=DEFINITION, headers={CSRF_HEADER: token})
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    builder = await client.get("/console/workflows/new")
    assert "<fieldset disabled" in builder.text


async def test_tampered_cookie_and_revoked_key_end_the_session(api: Api) -> None:
    client = await browser(api)
    key = create_key(api.engine, "admin", name="to revoke")
    await sign_in(client, key)
    value = client.cookies[SESSION_COOKIE]
    payload, signature = value.rsplit(".", 1)

    forged = await browser(api)
    forged.cookies.set(SESSION_COOKIE, f"{payload}.{'0' * len(signature)}")
    assert (await forged.get("/workflows")).status_code == 401
    assert (await forged.get("/console/workflows")).status_code == 303

    assert (await client.get("/workflows")).status_code == 200
    key_id = next(k.id for k in list_keys(api.engine) if k.name == "to revoke")
    assert revoke_key(api.engine, key_id)
    assert (await client.get("/workflows")).status_code == 401
    assert (await client.get("/console/workflows")).status_code == 303


async def test_bearer_keys_still_work_without_csrf(api: Api) -> None:
    admin = await api.client("admin")
    assert (await admin.post("/workflows", json=DEFINITION)).status_code == 201


async def test_sign_out_needs_the_token_and_clears_the_cookie(api: Api) -> None:
    client = await browser(api)
    await sign_in(client, api.key("admin"))
    token = page_csrf((await client.get("/console/workflows")).text)
    refused = await client.post("/console/logout", data={"csrf": "nope"})
    assert refused.status_code == 403
    assert (await client.get("/workflows")).status_code == 200
    out = await client.post("/console/logout", data={"csrf": token})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert (await client.get("/workflows")).status_code == 401
