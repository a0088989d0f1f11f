"""The API reference (`/docs`, `/redoc`) and the favicon are served by the service itself, without
a key, and their pages name no external URL (issue 18). The browser side is in
`tests/test_browser_api_reference.py`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from app.api_reference import STATIC_DIR
from tests import api_fixtures
from tests.api_fixtures import BASE_URL, Api

api = api_fixtures.api

URL = re.compile(r"https?://[^\s\"'<>)]+")
ASSET_REFS = re.compile(r"""(?:src|href|spec-url|data-openapi-url)="([^"]+)\"""")
ROOT = Path(__file__).resolve().parent.parent
OUR_ASSETS = {path.name for path in (STATIC_DIR / "reference").iterdir()}


def external_urls(text: str) -> list[str]:
    return [url for url in URL.findall(text) if not url.startswith(BASE_URL)]


async def test_reference_pages_need_no_key_and_name_no_external_url(api: Api) -> None:
    anonymous = await api.client()
    for path in ("/docs", "/redoc"):
        response = await anonymous.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        html = response.text
        assert external_urls(html) == [], (path, external_urls(html))
        assert "<script>" not in html, "an inline script would need 'unsafe-inline'"
        # Everything the page loads is served here, to a caller without a key.
        refs = ASSET_REFS.findall(html)
        assert len(refs) >= 3, refs
        for ref in refs:
            asset = await anonymous.get(ref)
            assert asset.status_code == 200, (path, ref, asset.status_code)
            if Path(ref).name in OUR_ASSETS:  # fastapi-offline's bundles hold licence URLs
                assert external_urls(asset.text) == [], (ref, external_urls(asset.text))


async def test_swagger_ui_starts_from_a_file_without_the_online_validator(api: Api) -> None:
    anonymous = await api.client()
    init = (await anonymous.get("/reference/static/swagger-init.js")).text
    assert "SwaggerUIBundle(" in init
    assert "validatorUrl: null" in init  # the default badge asks validator.swagger.io


async def test_fastapis_cdn_pages_are_gone(api: Api) -> None:
    anonymous = await api.client()
    assert (await anonymous.get("/docs/oauth2-redirect")).status_code == 404
    paths = {getattr(route, "path", None) for route in api.app.routes}
    assert {"/docs", "/redoc", "/openapi.json"} <= paths
    html = (await anonymous.get("/docs")).text
    assert "cdn.jsdelivr.net" not in html and "fastapi.tiangolo.com" not in html


async def test_favicon_is_served_without_a_key(api: Api) -> None:
    anonymous = await api.client()
    ico = await anonymous.get("/favicon.ico")
    assert ico.status_code == 200
    assert ico.headers["content-type"] == "image/x-icon"
    assert ico.content[:4] == b"\x00\x00\x01\x00"  # ICO header, type 1 (icon)
    svg = await anonymous.get("/favicon.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")


async def test_openapi_still_offers_the_bearer_key_for_try_it_out(api: Api) -> None:
    anonymous = await api.client()
    schema = (await anonymous.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    bearer = {"type": "http", "scheme": "bearer"}.items()
    assert any(bearer <= scheme.items() for scheme in schemes.values()), schemes


def test_reference_assets_are_package_data() -> None:
    """A wheel of the service carries the favicon and the reference's own files."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["app"]
    app_dir = ROOT / "app"
    ours = [STATIC_DIR / "favicon.ico", STATIC_DIR / "favicon.svg"]
    ours += sorted((STATIC_DIR / "reference").iterdir())
    assert len(ours) >= 4
    packaged = {path for pattern in patterns for path in app_dir.glob(pattern)}
    assert set(ours) <= packaged, (set(ours) - packaged, patterns)
    dependencies = pyproject["project"]["dependencies"]
    assert any(dep.startswith("fastapi-offline") for dep in dependencies), "it ships the bundles"


def test_external_urls_finds_what_it_should() -> None:
    """The helper the page test relies on: it must see a CDN URL and let the local origin pass."""
    html = f'<script src="https://cdn.example/x.js"></script><a href="{BASE_URL}/docs">'
    assert external_urls(html) == ["https://cdn.example/x.js"]
