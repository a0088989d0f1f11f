"""The SLA definitions version (store/sla_version.py): bumped in the same transaction as every save,
toggle or delete of an sla_breach definition, and by nothing else."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from definitions.models import WorkflowDefinitionIn
from store import definitions_repo, sla_version
from tests.sla_support import sla_definition

NEW_CONVERSATION = WorkflowDefinitionIn.model_validate(
    {
        "name": "Greet",
        "status": "active",
        "trigger": {"type": "new_conversation"},
        "steps": [{"id": "t", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
    }
)


def _version(engine: Engine) -> int:
    with Session(engine) as session:
        return sla_version.current(session)


def test_every_sla_definition_write_bumps_the_version_once(engine: Engine) -> None:
    assert _version(engine) == 0
    with Session(engine) as session:
        row = definitions_repo.create(session, sla_definition("FR", "first_response", "30m"))
    assert _version(engine) == 1
    with Session(engine) as session:
        definitions_repo.patch(session, row.id, {"status": "draft"})  # toggle
    assert _version(engine) == 2
    with Session(engine) as session:
        copy = definitions_repo.duplicate(session, row.id)
        definitions_repo.replace(session, copy.id, NEW_CONVERSATION)  # no longer an SLA rule
    assert _version(engine) == 4
    with Session(engine) as session:
        definitions_repo.delete(session, row.id)
    assert _version(engine) == 5


def test_other_definitions_leave_the_version_alone(engine: Engine) -> None:
    with Session(engine) as session:
        row = definitions_repo.create(session, NEW_CONVERSATION)
        definitions_repo.patch(session, row.id, {"name": "Greet them"})
        definitions_repo.delete(session, row.id)
    assert _version(engine) == 0


def test_a_rejected_save_rolls_the_bump_back(engine: Engine) -> None:
    with Session(engine) as session:
        row = definitions_repo.create(session, sla_definition("FR", "first_response", "30m"))
    try:
        with Session(engine) as session:
            definitions_repo.patch(session, row.id, {"status": "draft"}, expected_versions={"v": 7})
    except definitions_repo.VersionConflict:
        pass
    else:
        raise AssertionError("a stale version must conflict")
    with Session(engine) as session:
        # a conflict found at commit time (the version row exists): the bump goes with it
        stale = definitions_repo.get(session, row.id)
        stale.version = 0
        try:
            definitions_repo.replace(session, row.id, sla_definition("FR", "first_response", "1h"))
        except definitions_repo.VersionConflict:
            pass
        else:
            raise AssertionError("saving version 1 again must conflict")
    assert _version(engine) == 1


def test_conversation_idle_definitions_bump_the_version_too(engine: Engine) -> None:
    from tests.sla_support import idle_definition

    with Session(engine) as session:
        row = definitions_repo.create(session, idle_definition("Nudge", "customer", "24h"))
    assert _version(engine) == 1
    with Session(engine) as session:
        definitions_repo.patch(session, row.id, {"status": "draft"})
    assert _version(engine) == 2
