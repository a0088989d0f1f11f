"""Stored workflow definitions: create, read, list, replace, patch, delete, duplicate, versions.

Every write happens in the caller's session and is committed here in ONE transaction together with
its version row. The save path notifies: every create, replace, patch, delete and duplicate goes
through `_notify` once, which keeps the trigger index (same transaction) and the parsed-definition
cache current, so no caller has anything to remember. A rejected request leaves nothing behind.
Problems are domain errors (`NotFound`, `VersionConflict`, pydantic's
`ValidationError` for a merged definition that does not validate); the API maps them to HTTP.

Optimistic concurrency: writes take an optional `expected_version`; a stale one raises
`VersionConflict`. Two writers racing from the same version both try to insert the same
(definition_id, version) row in `workflow_versions`, so the loser fails on the primary key and gets
a `VersionConflict` too, never a silent overwrite.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, or_, select

from definitions.errors import NotFound
from definitions.models import TITLE, WorkflowDefinitionIn
from definitions.references import Reference
from definitions.sla import tracker_threshold_seconds
from definitions.vocabulary import SLA_BREACH_TRIGGER, TRACKER_TRIGGERS
from store import sla_version
from store.models import ScheduleRow, WorkflowDefinitionRow, WorkflowVersionRow, utcnow
from store.parsed_definitions import parsed_definitions, parsed_versions
from store.references import missing_references
from store.trigger_index import index_definition, unindex_definition

#: Keys of a definition that PATCH may change.
PATCHABLE = ("name", "description", "status", "trigger", "steps", "schedule", "on_failure")


class VersionConflict(Exception):
    """An update was based on a version that is no longer the current one."""

    def __init__(
        self, definition_id: str, current: int, given: int, source: str = "version"
    ) -> None:
        super().__init__(
            f"workflow {definition_id!r} is at version {current}, but the update was based on "
            f"version {given}; reload it and apply your change again"
        )
        self.definition_id = definition_id
        self.current = current
        self.given = given
        self.source = source


class AlreadyCurrent(Exception):
    """A restore of a version whose body is the current one: it would change nothing."""

    def __init__(self, definition_id: str, version: int, current: int) -> None:
        super().__init__(
            f"version {version} of workflow {definition_id!r} is the same definition as the "
            f"current version {current}: nothing to restore"
        )
        self.definition_id = definition_id
        self.version = version
        self.current = current


def new_definition_id() -> str:
    """`wf_` + 16 hex characters (safe to quote inside Temporal visibility queries)."""
    return f"wf_{secrets.token_hex(8)}"


def dump_definition(definition: WorkflowDefinitionIn) -> dict[str, Any]:
    """The JSON document stored in `body` (aliases kept, e.g. a transition's `from`)."""
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


def definition_of(row: WorkflowDefinitionRow) -> WorkflowDefinitionIn:
    """The validated definition stored in a row."""
    return WorkflowDefinitionIn.model_validate(row.body)


def steps_count(row: WorkflowDefinitionRow) -> int:
    return len(row.body.get("steps", []))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---------------------------------------------------------------- reads


def get(session: Session, definition_id: str) -> WorkflowDefinitionRow:
    """The stored definition, or `NotFound`."""
    row = session.get(WorkflowDefinitionRow, definition_id)
    if row is None:
        raise NotFound("workflow", definition_id)
    return row


def list_definitions(
    session: Session,
    *,
    status: str | None = None,
    trigger_type: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WorkflowDefinitionRow], int]:
    """One page of definitions (most recently updated first) and the total matching count.

    `q` matches name or description, case-insensitively, as a substring."""
    conditions: list[Any] = []
    if status:
        conditions.append(col(WorkflowDefinitionRow.status) == status)
    if trigger_type:
        conditions.append(col(WorkflowDefinitionRow.trigger_type) == trigger_type)
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        conditions.append(
            or_(
                func.lower(col(WorkflowDefinitionRow.name)).like(pattern, escape="\\"),
                func.lower(col(WorkflowDefinitionRow.description)).like(pattern, escape="\\"),
            )
        )
    count = session.exec(
        select(func.count()).select_from(WorkflowDefinitionRow).where(*conditions)
    ).one()
    rows = session.exec(
        select(WorkflowDefinitionRow)
        .where(*conditions)
        .order_by(col(WorkflowDefinitionRow.updated_at).desc(), col(WorkflowDefinitionRow.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(count)


def summary(session: Session) -> tuple[int, int]:
    """(number of definitions, number of active ones)."""
    total = session.exec(select(func.count()).select_from(WorkflowDefinitionRow)).one()
    active = session.exec(
        select(func.count())
        .select_from(WorkflowDefinitionRow)
        .where(col(WorkflowDefinitionRow.status) == "active")
    ).one()
    return int(total), int(active)


def active_tracker_rows(session: Session) -> Sequence[WorkflowDefinitionRow]:
    """The active definitions the conversation tracker fires (sla_breach, conversation_idle)."""
    return session.exec(
        select(WorkflowDefinitionRow)
        .where(col(WorkflowDefinitionRow.trigger_type).in_(sorted(TRACKER_TRIGGERS)))
        .where(WorkflowDefinitionRow.status == "active")
    ).all()


def tracker_keys(session: Session) -> list[tuple[str, int, str]]:
    """(id, version, status) of every definition the conversation tracker fires, draft or
    active: three columns, no bodies (ingestion reads it for every new tracked conversation)."""
    query = select(
        WorkflowDefinitionRow.id, WorkflowDefinitionRow.version, WorkflowDefinitionRow.status
    ).where(col(WorkflowDefinitionRow.trigger_type).in_(sorted(TRACKER_TRIGGERS)))
    return [(str(i), int(v), str(s)) for i, v, s in session.exec(query).all()]


def earliest_tracker_threshold(
    session: Session, keys: Sequence[tuple[str, int, str]]
) -> int | None:
    """The smallest threshold in seconds of the active tracker definitions among `keys`
    (`tracker_keys`; None: none is active): no tracker deadline comes sooner after its clock or
    idle period started (`parsed_versions`: bodies read only for versions not cached yet)."""
    active = [(i, v) for i, v, status in keys if status == "active"]
    thresholds = [tracker_threshold_seconds(d) for d in parsed_versions(session, active).values()]
    return min((t for t in thresholds if t is not None), default=None)


def has_sla_definition(session: Session) -> bool:
    """Whether any sla_breach definition exists (draft or active)."""
    query = (
        select(WorkflowDefinitionRow.id)
        .where(col(WorkflowDefinitionRow.trigger_type) == SLA_BREACH_TRIGGER)
        .limit(1)
    )
    return session.exec(query).first() is not None


def versions(session: Session, definition_id: str) -> list[WorkflowVersionRow]:
    """Every stored version of a definition, oldest first."""
    get(session, definition_id)
    rows = session.exec(
        select(WorkflowVersionRow)
        .where(col(WorkflowVersionRow.definition_id) == definition_id)
        .order_by(col(WorkflowVersionRow.version))
    ).all()
    return list(rows)


# ---------------------------------------------------------------- writes


def _notify(session: Session, definition_id: str, row: WorkflowDefinitionRow | None) -> None:
    """What every save (`row`) or delete (`row=None`) tells the rest of the data layer, inside its
    transaction: the trigger index follows the definition, and the parsed-definition cache drops
    its older versions (entries are keyed by version, so this only frees memory: dropping before
    the commit is safe even if the transaction then rolls back)."""
    if row is None:
        unindex_definition(session, definition_id)
    else:
        index_definition(session, row)
    parsed_definitions.forget(definition_id)


def _flush_and_commit(session: Session, row: WorkflowDefinitionRow, expected: int | None) -> None:
    """Write the row and its version row, `_notify`, commit: one transaction. A version row that
    already exists means another writer saved this version first: `VersionConflict`."""
    try:
        session.flush()
        _notify(session, row.id, row)
        session.commit()
    except IntegrityError:
        session.rollback()
        current = session.get(WorkflowDefinitionRow, row.id)
        if current is None:
            raise NotFound("workflow", row.id) from None
        session.refresh(current)
        raise VersionConflict(row.id, current.version, expected or row.version - 1) from None
    session.refresh(row)


def _save_version(
    session: Session,
    row: WorkflowDefinitionRow,
    changed_by: str | None,
    restored_from: int | None = None,
) -> None:
    session.add(
        WorkflowVersionRow(
            definition_id=row.id,
            version=row.version,
            body=row.body,
            created_at=row.updated_at,
            changed_by=changed_by,
            restored_from=restored_from,
        )
    )


def _require_references(session: Session, definition: WorkflowDefinitionIn) -> None:
    """An active definition must name only teams, agents and a schedule that exist (422 at each
    missing one); a draft may name them before they exist (the API answers with warnings). The
    schedule, when it exists, is share-locked until the save commits, so a concurrent
    `schedules_repo.delete` sees this definition and answers 409."""
    if definition.schedule is not None:
        query = select(ScheduleRow.id).where(col(ScheduleRow.id) == definition.schedule)
        session.exec(query.with_for_update(read=True)).first()
    if definition.status != "active":
        return
    missing = missing_references(session, dump_definition(definition))
    if missing:
        raise ValidationError.from_exception_data(
            TITLE,
            [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "missing_reference", "{message}", {"message": _refusal(ref)}
                    ),
                    loc=ref.loc,
                    input=ref.id,
                )
                for ref in missing
            ],
        )


def _refusal(ref: Reference) -> str:
    if ref.kind == "schedule":
        return f"no schedule {ref.id!r}: create it first with PUT /schedules/{ref.id}"
    return (
        f"{ref.describe()}: create it first with PUT /{ref.kind}s/{ref.id}, "
        "or save the workflow as a draft"
    )


def _apply(row: WorkflowDefinitionRow, definition: WorkflowDefinitionIn) -> None:
    row.name = definition.name
    row.description = definition.description
    row.status = definition.status
    row.trigger_type = definition.trigger.type
    row.body = dump_definition(definition)


def create(
    session: Session,
    definition: WorkflowDefinitionIn,
    *,
    definition_id: str | None = None,
    changed_by: str | None = None,
) -> WorkflowDefinitionRow:
    """Store a new definition at version 1 (with its version row and trigger index)."""
    _require_references(session, definition)
    now = utcnow()
    row = WorkflowDefinitionRow(
        id=definition_id or new_definition_id(),
        name="",
        status="draft",
        trigger_type="",
        version=1,
        body={},
        created_at=now,
        updated_at=now,
    )
    sla_version.bump_if_sla(session, definition.trigger.type)
    _apply(row, definition)
    session.add(row)
    _save_version(session, row, changed_by)
    _flush_and_commit(session, row, None)
    return row


def _check_version(row: WorkflowDefinitionRow, expected: int | None, source: str) -> None:
    if expected is not None and expected != row.version:
        raise VersionConflict(row.id, row.version, expected, source)


def _update(
    session: Session,
    row: WorkflowDefinitionRow,
    definition: WorkflowDefinitionIn,
    expected: int | None,
    changed_by: str | None,
    restored_from: int | None = None,
) -> WorkflowDefinitionRow:
    _require_references(session, definition)
    sla_version.bump_if_sla(session, row.trigger_type, definition.trigger.type)
    _apply(row, definition)
    row.version += 1
    row.updated_at = utcnow()
    session.add(row)
    _save_version(session, row, changed_by, restored_from)
    _flush_and_commit(session, row, expected)
    return row


def _expected(versions: Mapping[str, int | None]) -> tuple[int | None, str]:
    """The version an update is based on and where it came from; the first stale one wins."""
    given = [(source, v) for source, v in versions.items() if v is not None]
    if not given:
        return None, ""
    source, value = given[0]
    return value, source


def replace(
    session: Session,
    definition_id: str,
    definition: WorkflowDefinitionIn,
    *,
    expected_versions: Mapping[str, int | None] | None = None,
    changed_by: str | None = None,
) -> WorkflowDefinitionRow:
    """Replace the whole definition: version + 1 and a new version row.

    `expected_versions` maps where a version came from (e.g. "If-Match", "version") to the
    version the client based its change on; any stale one raises `VersionConflict`."""
    row = get(session, definition_id)
    for source, expected in (expected_versions or {}).items():
        _check_version(row, expected, source)
    expected, _ = _expected(expected_versions or {})
    return _update(session, row, definition, expected, changed_by)


def patch(
    session: Session,
    definition_id: str,
    changes: Mapping[str, Any],
    *,
    expected_versions: Mapping[str, int | None] | None = None,
    changed_by: str | None = None,
) -> WorkflowDefinitionRow:
    """Apply a partial update (keys of `PATCHABLE`, JSON-shaped values) and re-validate the merged
    definition as a whole (raises pydantic `ValidationError` with the merged document's locations).
    Version + 1 and a new version row."""
    row = get(session, definition_id)
    for source, expected in (expected_versions or {}).items():
        _check_version(row, expected, source)
    unknown = set(changes) - set(PATCHABLE)
    if unknown:
        raise ValueError(f"cannot patch {', '.join(sorted(unknown))}")
    merged = {**row.body, **changes}
    definition = WorkflowDefinitionIn.model_validate(merged)
    expected, _ = _expected(expected_versions or {})
    return _update(session, row, definition, expected, changed_by)


def restore(
    session: Session,
    definition_id: str,
    version: int,
    *,
    expected_versions: Mapping[str, int | None] | None = None,
    changed_by: str | None = None,
) -> WorkflowDefinitionRow:
    """Save the body of an earlier `version` as a new version (history is never rewritten).

    `NotFound` for an unknown definition or version; `AlreadyCurrent` when that body is already
    the current one (nothing to restore); the restored body is validated again, so a version that
    names a schedule deleted since is refused like any save."""
    row = get(session, definition_id)
    for source, expected in (expected_versions or {}).items():
        _check_version(row, expected, source)
    old = session.get(WorkflowVersionRow, (definition_id, version))
    if old is None:
        raise NotFound("version", f"{definition_id} v{version}")
    if old.body == row.body:
        raise AlreadyCurrent(definition_id, version, row.version)
    definition = WorkflowDefinitionIn.model_validate(old.body)
    expected, _ = _expected(expected_versions or {})
    return _update(session, row, definition, expected, changed_by, restored_from=version)


def delete(session: Session, definition_id: str) -> None:
    """Delete a definition, its versions and its trigger index entries. Runs in flight keep their
    frozen copy and finish."""
    row = get(session, definition_id)
    sla_version.bump_if_sla(session, row.trigger_type)
    for version in session.exec(
        select(WorkflowVersionRow).where(col(WorkflowVersionRow.definition_id) == definition_id)
    ):
        session.delete(version)
    session.delete(row)
    _notify(session, definition_id, None)
    session.commit()


def duplicate(
    session: Session, definition_id: str, *, changed_by: str | None = None
) -> WorkflowDefinitionRow:
    """A new draft copy named "<name> (copy)" (truncated to fit the 200-character limit)."""
    source = definition_of(get(session, definition_id))
    name = f"{source.name[: 200 - len(' (copy)')]} (copy)"
    copy = source.model_copy(update={"name": name, "status": "draft"})
    return create(
        session, WorkflowDefinitionIn.model_validate(dump_definition(copy)), changed_by=changed_by
    )


def is_sla_definition(body: Mapping[str, Any] | None) -> bool:
    """Whether a stored body is an sla_breach definition (its saves must refresh SLA trackers)."""
    return bool(body) and body.get("trigger", {}).get("type") == SLA_BREACH_TRIGGER  # type: ignore[union-attr]


__all__: Sequence[str] = (
    "PATCHABLE",
    "AlreadyCurrent",
    "NotFound",
    "VersionConflict",
    "active_tracker_rows",
    "create",
    "definition_of",
    "delete",
    "duplicate",
    "dump_definition",
    "earliest_tracker_threshold",
    "get",
    "has_sla_definition",
    "is_sla_definition",
    "list_definitions",
    "new_definition_id",
    "patch",
    "replace",
    "restore",
    "steps_count",
    "summary",
    "tracker_keys",
    "versions",
)
