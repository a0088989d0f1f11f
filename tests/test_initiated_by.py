"""`new_conversation` option `initiated_by` end to end (issue 14): the event says who started the
conversation (`conversation.initiated_by`), POST /events starts only the workflows that want that
initiator, and the dry run explains a miss. Real app, worker and dev server."""

from __future__ import annotations

import uuid
from typing import Any

from tests import runs_fixtures
from tests.runs_fixtures import RunsStack

runs_stack = runs_fixtures.runs_stack

TAG = {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["seen"]}}


def created(initiated_by: str | None) -> dict[str, Any]:
    conversation: dict[str, Any] = {"id": f"c-{uuid.uuid4().hex[:10]}", "channel": "email"}
    if initiated_by is not None:
        conversation["initiated_by"] = initiated_by
    return {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "type": "conversation.created",
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": conversation,
        "customer": {"id": "u-1", "name": "Ada"},
    }


async def test_new_conversation_fires_for_the_initiator_it_asks_for(runs_stack: RunsStack) -> None:
    stack = runs_stack
    ids = {
        wanted: await stack.create_workflow(f"Started by {wanted}", [TAG], initiated_by=wanted)
        for wanted in ("customer", "agent", "any")
    }
    everyone = await stack.create_workflow("No option", [TAG])

    async def started(initiated_by: str | None) -> set[str]:
        response = await stack.integration.post("/events", json=created(initiated_by))
        assert response.status_code == 202, response.text
        return {run_id.split(":")[1] for run_id in response.json()["run_ids"]}

    assert await started("customer") == {ids["customer"], ids["any"], everyone}
    assert await started("agent") == {ids["agent"], ids["any"], everyone}
    assert await started(None) == {ids["any"], everyone}  # unknown initiator: only "any"

    test = await stack.admin.post(
        f"/workflows/{ids['customer']}/test", json={"event": created("agent")}
    )
    assert test.status_code == 200, test.text
    report = test.json()
    assert report["trigger"]["matched"] is False
    assert "started by agent, not by the customer" in report["trigger"]["reason"]

    bad = await stack.integration.post(
        "/events", json={**created(None), "conversation": {"id": "c-x", "initiated_by": "bot"}}
    )
    assert bad.status_code == 422
    assert "initiated_by" in bad.text
