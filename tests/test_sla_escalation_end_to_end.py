"""Issue 4's "Done when" as a test, on the dev server in real time with the real worker
(WorkflowRun, ConversationSla, every real activity) and a real database: a first_response rule of
5 s that escalates; two conversations; one answered by an agent after 2 s. The unanswered one is
escalated (priority urgent, supervisor assigned and notified, tagged `escalated`); the answered one
never is. Real time, not the time-skipping server: ingestion stamps signals with the wall clock
(`SlaSignal.accepted_at`), which a skipped server clock would contradict.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from desk.ingestion import EventIngestor
from desk.state import conversation_view
from store import definitions_repo
from store.directory import AgentIn, TeamIn, put_agent, put_team
from store.settings import Settings
from temporal_edge import TemporalRunStarter
from tests.temporal_fixtures import assert_eventually
from worker.main import build_worker

ESCALATE_UNANSWERED = {
    "name": "Escalate unanswered conversations",
    "status": "active",
    "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "5s"},
    "steps": [
        {
            "id": "escalate",
            "type": "action",
            "action": "escalate",
            "params": {"reason": "No first response after {{sla.elapsed_minutes}} minutes"},
        }
    ],
}


def _event(event_id: str, conversation_id: str, at: datetime, **extra: object) -> Event:
    body: dict[str, object] = {
        "id": event_id,
        "type": "conversation.created",
        "occurred_at": at.isoformat(),
        "conversation": {"id": conversation_id, "channel": "email", "assignee_team": "support"},
        "customer": {"id": f"u-{conversation_id}", "name": "Ada"},
    }
    body.update(extra)
    return Event.model_validate(body)


async def test_unanswered_conversation_is_escalated_and_the_answered_one_is_not(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=str(engine.url), task_queue=task_queue)
    with Session(engine) as session:
        put_agent(session, "sam", AgentIn(name="Sam"))
        put_agent(session, "ana", AgentIn(name="Ana"))
        put_team(session, "support", TeamIn(name="Support", members=["ana"], supervisor="sam"))
        definitions_repo.create(session, WorkflowDefinitionIn.model_validate(ESCALATE_UNANSWERED))
    ingestor = EventIngestor(engine, TemporalRunStarter(dev_env.client, task_queue))

    async with build_worker(dev_env.client, engine, settings, task_queue):
        now = datetime.now(UTC)
        await ingestor.ingest(_event("e-late", "c-late", now))
        await ingestor.ingest(_event("e-met", "c-met", now))
        await asyncio.sleep(2)
        answer = {"id": "m-1", "sender_type": "agent", "content": "Hello, how can I help?"}
        await ingestor.ingest(
            _event("e-answer", "c-met", datetime.now(UTC), type="message.created", message=answer)
        )

        def view(conversation_id: str) -> dict[str, object]:
            with Session(engine) as session:
                found = conversation_view(session, conversation_id)
            assert found is not None
            return found

        async def escalated() -> None:
            late = view("c-late")
            assert late["priority"] == "urgent"
            assert late["assignment"] == {"agent": "sam", "team": "support"}
            assert "escalated" in late["tags"]  # type: ignore[operator]
            assert [n["recipient_agent"] for n in late["notifications"]] == ["sam"]  # type: ignore[attr-defined]

        await assert_eventually(escalated, timeout=30)
        met = view("c-met")
        assert met["priority"] == "normal" and "escalated" not in met["tags"]  # type: ignore[operator]
        assert met["notifications"] == []
