"""Fixtures for the HTTP API tests: the real app (lifespan entered, real database, the session's
Temporal dev server, a fresh task queue) driven over HTTP with httpx's ASGI transport, and one
client per role with a freshly created API key.

A test module makes the fixtures it uses visible to pytest by assigning them:
`api = api_fixtures.api` (an import would be shadowed by the test's parameter of the same name).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app.main import create_app
from store.keys import create_key
from store.settings import Settings

BASE_URL = "http://supportflow.test"


@dataclass
class Api:
    """The app under test and clients for it."""

    app: FastAPI
    settings: Settings
    stack: contextlib.AsyncExitStack
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.engine
        return engine

    def key(self, role: str) -> str:
        """A key for `role` (created once per test)."""
        if role not in self.keys:
            self.keys[role] = create_key(self.engine, role, name=f"test {role}")
        return self.keys[role]

    async def client(self, role: str | None = None, **headers: str) -> httpx.AsyncClient:
        """A client sending `role`'s key (no key when role is None)."""
        all_headers = dict(headers)
        if role is not None:
            all_headers["Authorization"] = f"Bearer {self.key(role)}"
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL, headers=all_headers
        )
        return await self.stack.enter_async_context(client)


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Api]:
    """`create_app(settings)` with its lifespan entered, for the duration of the block."""
    app = create_app(settings)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        yield Api(app=app, settings=settings, stack=stack)


@pytest_asyncio.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    """The app for one test: its own database and task queue, the session's dev server."""
    async with running_app(settings) as running:
        yield running


@pytest_asyncio.fixture
async def admin(api: Api) -> httpx.AsyncClient:
    """A client with an admin key."""
    return await api.client("admin")


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of an error response (asserting the one shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"]
    return dict(error)


__all__ = ["Api", "admin", "api", "error_of", "running_app"]
