"""Security headers on every HTTP response (SPEC §3, issue 11): a Content-Security-Policy,
`X-Content-Type-Options: nosniff` and framing refused (`frame-ancestors 'none'`, and
`X-Frame-Options: DENY` for older browsers).

The console loads nothing from elsewhere and has no inline script or style (data blocks are
`<script type="application/json">`, which a CSP does not execute), so its policy is `'self'` only;
`data:` images are for the CSS's inline SVG icons. The API reference pages (/docs, /redoc) get a
policy that also allows inline script and style, scoped to those paths only: Swagger UI starts
from an inline `<script>` and ReDoc ships inline styles and a blob: web worker. Both still load
their assets from this origin only.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

CSP = f"default-src 'self'; img-src 'self' data:; {_COMMON}"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data:; worker-src 'self' blob:; {_COMMON}"
)
DOCS_PATHS = ("/docs", "/redoc")  # and below them (/docs/oauth2-redirect)

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def policy_for(path: str) -> str:
    """The Content-Security-Policy of the page at `path`."""
    if any(path == docs or path.startswith(docs + "/") for docs in DOCS_PATHS):
        return DOCS_CSP
    return CSP


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response; a header a route set itself is
    kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                for name, value in BASE_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
