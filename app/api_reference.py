"""The API reference, `/docs` (Swagger UI) and `/redoc` (ReDoc), served entirely by the service.

FastAPI's default pages load Swagger UI and ReDoc from a CDN and so are blank without internet
access. Here the bundles come from the `fastapi-offline` package (it ships swagger-ui-dist and the
ReDoc standalone bundle, and keeps them current); the pages are our own, with no inline script
(Swagger UI starts from `static/reference/swagger-init.js`), so they run under `script-src 'self'`.
Each page sends its own Content-Security-Policy (`SWAGGER_CSP`, `REDOC_CSP`), which also stops the
one request ReDoc would still make elsewhere (the "API docs by Redocly" logo from cdn.redoc.ly).
Like `/openapi.json`, they need no key (SPEC §4 "Auth"): there is no data in them.

`install(app)` also serves the service's favicon at `/favicon.ico` and `/favicon.svg`, for every
page (console included). `favicon.ico` is `favicon.svg` rendered at 16, 32 and 48 px.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS_PATH = "/reference/static"  # our init script and css, and fastapi-offline's bundles

_CSP_BASE = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SWAGGER_CSP = f"{_CSP_BASE}; style-src 'self'"
# ReDoc's styled-components insert <style> elements; its search index runs in a blob: worker.
REDOC_CSP = f"{_CSP_BASE}; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"

SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API reference (Swagger UI)</title>
<link rel="icon" href="{root}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js"></script>
</body>
</html>
"""

# ReDoc's standalone bundle starts by itself on the <redoc> element; no Google Fonts link.
REDOC_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API reference (ReDoc)</title>
<link rel="icon" href="{root}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{assets}/reference.css">
</head>
<body>
<noscript>ReDoc needs JavaScript to show the API reference.</noscript>
<redoc spec-url="{openapi_url}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve `/docs`, `/redoc`, their assets and the favicon on `app` (created with
    `docs_url=None, redoc_url=None`, so that FastAPI's CDN pages are not there)."""
    assert app.docs_url is None and app.redoc_url is None, "FastAPI's CDN pages would win"
    assets = StaticFiles(
        directory=STATIC_DIR / "reference", packages=[("fastapi_offline", "static")]
    )
    app.mount(ASSETS_PATH, assets, name="reference-static")

    def page(template: str, csp: str, request: Request) -> HTMLResponse:
        root = escape(request.scope.get("root_path", ""))
        html = template.format(
            title=escape(app.title),
            root=root,
            assets=root + ASSETS_PATH,
            openapi_url=root + escape(app.openapi_url or ""),
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return page(SWAGGER_PAGE, SWAGGER_CSP, request)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return page(REDOC_PAGE, REDOC_CSP, request)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon_ico() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon")

    @app.get("/favicon.svg", include_in_schema=False)
    async def favicon_svg() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
