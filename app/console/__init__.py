"""The web console (issue 6): sign-in with an API key, and the Workflows, Templates, Builder,
Analytics and Runs pages, served by the API under `/console/` (`/` redirects there).

`install(app)` is the one hook `app.main` calls: it adds the pages, the static files and the
session-cookie authenticator of the JSON API (`app.state.session_authenticator`, see
`app.api.deps.get_principal`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.console.auth import session_principal
from app.console.routes import PREFIX, router

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    """Serve the console on `app`, and accept its session cookie on the JSON API."""
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(STATIC_DIR)), name="console-static")
    app.state.session_authenticator = session_principal


__all__ = ["install"]
