"""Every response carries the security headers (issue 11): a Content-Security-Policy without any
other origin, `nosniff`, and framing refused; /docs and /redoc keep the policies their own pages
send (app/api_reference.py: no inline script either). The browser side (the console works under
the policy, an injected inline script does not run) is in tests/test_browser_console.py."""

from __future__ import annotations

import httpx
import pytest

from app.api_reference import REDOC_CSP, SWAGGER_CSP
from app.security_headers import CSP
from tests import api_fixtures
from tests.api_fixtures import Api

api = api_fixtures.api
admin = api_fixtures.admin


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (directive.split() for directive in policy.split(";") if directive)
    }


def assert_secured(response: httpx.Response, policy: str = CSP) -> None:
    assert response.headers["Content-Security-Policy"] == policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/openapi.json",
        "/workflows",  # 401 JSON error without a key
        "/nowhere",  # 404
        "/console/login",
        "/console/static/console.css",
        "/console/static/core.js",
        "/",  # redirect to the console
    ],
)
async def test_console_and_api_responses_carry_the_strict_policy(api: Api, path: str) -> None:
    client = await api.client()
    assert_secured(await client.get(path))


async def test_authorised_api_answers_carry_it_too(admin: httpx.AsyncClient) -> None:
    assert_secured(await admin.get("/workflows"))
    assert_secured(await admin.post("/workflows", json={}))  # 422


@pytest.mark.parametrize(("path", "policy"), [("/docs", SWAGGER_CSP), ("/redoc", REDOC_CSP)])
async def test_the_api_reference_keeps_its_own_policy(api: Api, path: str, policy: str) -> None:
    client = await api.client()
    assert_secured(await client.get(path), policy)


def test_the_policies() -> None:
    strict = _directives(CSP)
    assert strict["default-src"] == ["'self'"]
    assert strict["frame-ancestors"] == ["'none'"]
    assert strict["object-src"] == ["'none'"]
    assert "script-src" not in strict and "style-src" not in strict  # default-src 'self' rules
    for page in (SWAGGER_CSP, REDOC_CSP):
        docs = _directives(page)
        assert docs["frame-ancestors"] == ["'none'"]
        assert docs["script-src"] == ["'self'"]  # no inline script on the reference pages either
        every_source = [value for values in docs.values() for value in values]
        assert not [v for v in every_source if v.startswith("http") or "*" in v]
