"""The save path notifies: saving or deleting through `definitions_repo` alone keeps the trigger
index and the parsed-definition cache current — no caller has anything else to remember."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from definitions.models import WorkflowDefinitionIn
from desk.ingestion import EventIngestor
from store import definitions_repo
from store.parsed_definitions import parsed_definitions
from store.trigger_index import candidate_definitions, candidate_matcher
from tests.desk_builders import make_event
from tests.test_ingest import RecordingStarter

pytest_plugins = ["tests.db_fixtures"]

STEPS = [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}]


def _definition(**changes: Any) -> WorkflowDefinitionIn:
    body = {"name": "d", "status": "active", "trigger": {"type": "new_message"}, "steps": STEPS}
    return WorkflowDefinitionIn.model_validate({**body, **changes})


def _candidates(engine: Engine, channel: str) -> list[tuple[str, int]]:
    with Session(engine) as session:
        found = candidate_definitions(session, "new_message", channel)
        # The in-memory matcher ingestion uses sees every save at once, as the index does.
        assert candidate_matcher(session, "new_message", channel).keys == found
        return [(candidate.id, candidate.version) for candidate in found]


def _cached_versions(definition_id: str) -> list[int]:
    return [v for v in range(1, 10) if parsed_definitions.get((definition_id, v)) is not None]


async def test_create_replace_patch_delete_keep_matching_current(desk_engine: Engine) -> None:
    with Session(desk_engine) as session:
        definition_id = definitions_repo.create(session, _definition()).id
    assert _candidates(desk_engine, "email") == [(definition_id, 1)]
    assert _cached_versions(definition_id) == [1]

    with Session(desk_engine) as session:
        definitions_repo.replace(
            session,
            definition_id,
            _definition(trigger={"type": "new_message", "channels": ["whatsapp"]}),
        )
    assert _candidates(desk_engine, "email") == []
    assert _cached_versions(definition_id) == []  # the old version is dropped at once
    assert _candidates(desk_engine, "whatsapp") == [(definition_id, 2)]

    with Session(desk_engine) as session:
        definitions_repo.patch(session, definition_id, {"status": "draft"})
    assert _candidates(desk_engine, "whatsapp") == []
    assert _cached_versions(definition_id) == []

    with Session(desk_engine) as session:
        copy_id = definitions_repo.duplicate(session, definition_id).id
        definitions_repo.patch(session, copy_id, {"status": "active"})
    assert _candidates(desk_engine, "whatsapp") == [(copy_id, 2)]

    with Session(desk_engine) as session:
        definitions_repo.delete(session, copy_id)
    assert _candidates(desk_engine, "whatsapp") == []
    assert _cached_versions(copy_id) == []


async def test_a_definition_saved_through_the_repository_starts_runs(desk_engine: Engine) -> None:
    with Session(desk_engine) as session:
        definition_id = definitions_repo.create(session, _definition()).id
    starter = RecordingStarter()
    result = await EventIngestor(desk_engine, starter).ingest(make_event("e-1"))
    assert [run.definition_id for run in starter.started] == [definition_id]
    assert len(result.run_ids) == 1


@pytest.mark.parametrize("status", ["draft", "active"])
def test_has_sla_definition_sees_drafts_and_active_ones(desk_engine: Engine, status: str) -> None:
    with Session(desk_engine) as session:
        assert not definitions_repo.has_sla_definition(session)
        definitions_repo.create(
            session,
            _definition(
                status=status,
                trigger={"type": "sla_breach", "sla_type": "first_response", "threshold": "5m"},
            ),
        )
        assert definitions_repo.has_sla_definition(session)
