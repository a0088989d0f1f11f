"""An unexpected error (a bug) answers one clean 500 over real HTTP: the error body, and
`Connection: close`, so the client knows the connection ends with it (issue 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from app.main import create_app
from store.settings import Settings
from tests.served import served


@pytest_asyncio.fixture
async def base_url(settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings)

    @app.get("/test-bug", include_in_schema=False)
    async def bug() -> None:
        raise RuntimeError("a bug")

    async with served(app, log_level="critical") as base_url:
        yield base_url


async def test_a_bug_answers_500_with_connection_close(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/test-bug")
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert response.headers["connection"] == "close"
        # The client opens a new connection and the service goes on answering.
        assert (await http.get("/health")).status_code == 200
