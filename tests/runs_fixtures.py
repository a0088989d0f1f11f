"""The stack for runs and analytics tests: the real app (fresh database, fresh task queue, the
session's dev server) with a real worker polling that task queue, clients per role, and builders
for definitions and events.

Test modules assign the fixture: `runs_stack = runs_fixtures.runs_stack`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from sqlmodel import Session
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from store.models import TeamRow
from store.settings import Settings
from tests.api_fixtures import Api, running_app
from tests.temporal_fixtures import assert_eventually


@dataclass
class RunsStack:
    api: Api
    temporal: Client
    admin: httpx.AsyncClient
    viewer: httpx.AsyncClient
    integration: httpx.AsyncClient

    @property
    def settings(self) -> Settings:
        return self.api.settings

    async def create_workflow(self, name: str, steps: list[dict[str, Any]], **trigger: Any) -> str:
        """An active new_conversation workflow; returns its id."""
        body = {
            "name": name,
            "description": f"{name} (test)",
            "status": "active",
            "trigger": {"type": "new_conversation", **trigger},
            "steps": steps,
        }
        response = await self.admin.post("/workflows", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def create_workflow_with_missing_team(
        self, name: str, steps: list[dict[str, Any]], team: str, **trigger: Any
    ) -> str:
        """An active workflow whose `team` is gone by the time it runs: activation needs the team
        to exist, so it is created first and then removed from the directory behind the API's
        back (as a database admin might), which is what fails its route steps at run time."""
        assert (await self.admin.put(f"/teams/{team}", json={"name": team})).is_success
        workflow_id = await self.create_workflow(name, steps, **trigger)
        with Session(self.api.engine) as session:
            session.delete(session.get(TeamRow, team))
            session.commit()
        return workflow_id

    async def send(self, *, segment: str = "vip", conversation_id: str | None = None) -> list[str]:
        """A new WhatsApp conversation of Ada (customer segment `segment`); returns the run ids."""
        event = {
            "id": f"evt-{uuid.uuid4().hex[:12]}",
            "type": "conversation.created",
            "occurred_at": "2026-11-27T10:00:00Z",
            "conversation": {
                "id": conversation_id or f"c-{uuid.uuid4().hex[:12]}",
                "channel": "whatsapp",
            },
            "customer": {
                "id": f"u-{uuid.uuid4().hex[:8]}",
                "name": "Ada",
                "lifecycle": "customer",
                "segment": segment,
            },
        }
        response = await self.integration.post("/events", json=event)
        assert response.status_code == 202, response.text
        return list(response.json()["run_ids"])

    async def wait_closed(self, run_id: str) -> None:
        """Until the run ends (whatever the outcome)."""
        try:
            await self.temporal.get_workflow_handle(run_id).result()
        except WorkflowFailureError:
            pass

    async def run_detail(self, run_id: str, status: str) -> dict[str, Any]:
        """GET /runs/{id} once it shows `status`."""

        async def check() -> dict[str, Any]:
            response = await self.viewer.get(f"/runs/{run_id}")
            assert response.status_code == 200, response.text
            body = dict(response.json())
            assert body["status"] == status, body
            return body

        return await assert_eventually(check, timeout=20)


@contextlib.asynccontextmanager
async def start_stack(settings: Settings, temporal: Client) -> AsyncIterator[RunsStack]:
    """App + worker for `settings` (its task queue and database), on `temporal`."""
    from worker.main import build_worker

    async with running_app(settings) as api:
        worker = build_worker(temporal, api.engine, settings)
        async with worker:
            yield RunsStack(
                api=api,
                temporal=temporal,
                admin=await api.client("admin"),
                viewer=await api.client("viewer"),
                integration=await api.client("integration"),
            )


@pytest_asyncio.fixture
async def runs_stack(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[RunsStack]:
    """App + worker on the test's task queue and database."""
    async with start_stack(settings, dev_env.client) as stack:
        yield stack


__all__ = ["RunsStack", "runs_stack", "start_stack"]
