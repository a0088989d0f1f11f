"""Security headers on every HTTP response (SPEC §3, issue 11): a Content-Security-Policy,
`X-Content-Type-Options: nosniff` and framing refused (`frame-ancestors 'none'`, and
`X-Frame-Options: DENY` for older browsers).

The console loads nothing from elsewhere and has no inline script or style (data blocks are
`<script type="application/json">`, which a CSP does not execute), so its policy is `'self'` only;
`data:` images are for the CSS's inline SVG icons. The API reference pages (/docs, /redoc) send
their own policy (app/api_reference.py), which this middleware keeps.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

CSP = f"default-src 'self'; img-src 'self' data:; {_COMMON}"
BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response; a header a route set itself is
    kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                for name, value in BASE_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
