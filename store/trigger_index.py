"""The trigger index: which active definitions listen for which trigger type on which channel.

Ingestion asks it for candidates (`candidate_definitions`) instead of scanning every definition;
`definitions_repo` keeps it in step with every save and delete, in the same transaction, and bumps
its generation (`store.index_generation`). `candidate_matcher` keeps each (trigger type, channel)'s
candidates in memory as a `TriggerMatcher` until the generation moves: per event, one key read and
one pass of the matcher, however many definitions are active.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from definitions.models import WorkflowDefinitionIn
from definitions.trigger_matcher import TriggerMatcher
from store import index_generation
from store.models import TriggerIndexRow, WorkflowDefinitionRow
from store.parsed_definitions import parsed_versions

ANY_CHANNEL = "*"


def index_channels(definition: WorkflowDefinitionIn) -> list[str]:
    """The channels a definition's trigger listens on; ["*"] when any."""
    channels = list(getattr(definition.trigger, "channels", []) or [])
    return list(dict.fromkeys(channels)) or [ANY_CHANNEL]


def unindex_definition(session: Session, definition_id: str) -> None:
    """Remove a definition from the trigger index (it no longer starts runs). No commit."""
    session.exec(delete(TriggerIndexRow).where(col(TriggerIndexRow.definition_id) == definition_id))
    index_generation.bump(session)


def index_definition(session: Session, row: WorkflowDefinitionRow) -> None:
    """Make the trigger index agree with a stored definition: an active one gets one row per
    trigger channel (or "*"); a draft or deleted one gets none. Call it in the same transaction
    that saves the definition. No commit."""
    unindex_definition(session, row.id)
    if row.status != "active":
        return
    definition = WorkflowDefinitionIn.model_validate(row.body)
    for channel in index_channels(definition):
        session.add(
            TriggerIndexRow(
                definition_id=row.id, channel=channel, trigger_type=definition.trigger.type
            )
        )
    session.flush()


@dataclass(frozen=True)
class Candidate:
    id: str
    version: int
    definition: WorkflowDefinitionIn


def candidate_definitions(
    session: Session, trigger_type: str, channel: str | None
) -> list[Candidate]:
    """Active definitions whose trigger type is `trigger_type` and that listen on `channel` (or on
    any channel; `channel=None` means every channel), through the index, ordered by id. Bodies are
    loaded and validated only for (id, version) pairs not seen before."""
    channels = [ANY_CHANNEL] if channel is None else [channel, ANY_CHANNEL]
    query = (
        select(WorkflowDefinitionRow.id, WorkflowDefinitionRow.version)
        .join(TriggerIndexRow, col(TriggerIndexRow.definition_id) == col(WorkflowDefinitionRow.id))
        .where(
            col(TriggerIndexRow.trigger_type) == trigger_type,
            col(WorkflowDefinitionRow.status) == "active",
        )
    )
    if channel is not None:
        query = query.where(col(TriggerIndexRow.channel).in_(channels))
    keys = sorted(set(session.exec(query).all()))
    parsed = parsed_versions(session, keys)
    found = [Candidate(i, v, parsed[(i, v)]) for i, v in keys if (i, v) in parsed]
    return found


_MatcherKey = tuple[int, str, str, str | None]
_matchers: dict[_MatcherKey, tuple[int, TriggerMatcher[Candidate]]] = {}
_matchers_lock = threading.Lock()


def candidate_matcher(
    session: Session, trigger_type: str, channel: str | None
) -> TriggerMatcher[Candidate]:
    """The candidates of `candidate_definitions` as a matcher, rebuilt only when the index's
    generation has moved since it was built (read in the caller's transaction)."""
    generation = index_generation.current(session)
    engine = session.get_bind().engine
    key = (id(engine), str(engine.url), trigger_type, channel)
    with _matchers_lock:
        cached = _matchers.get(key)
    if cached is not None and cached[0] == generation:
        return cached[1]
    candidates = candidate_definitions(session, trigger_type, channel)
    matcher = TriggerMatcher([(c, c.definition.trigger) for c in candidates])
    with _matchers_lock:
        _matchers[key] = (generation, matcher)
    return matcher


def has_listener(session: Session, trigger_type: str, channel: str) -> bool:
    """Whether any active definition listens for `trigger_type` on `channel` (one indexed
    lookup: actions use it to emit an event only when something would hear it)."""
    query = (
        select(TriggerIndexRow.definition_id)
        .where(
            col(TriggerIndexRow.trigger_type) == trigger_type,
            col(TriggerIndexRow.channel).in_([channel, ANY_CHANNEL]),
        )
        .limit(1)
    )
    return session.exec(query).first() is not None
