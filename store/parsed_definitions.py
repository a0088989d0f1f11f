"""Process-wide cache of validated definitions by (id, version).

A version is immutable (every change bumps it), so an entry is never wrong; re-validating 1,000
stored bodies per event was what made matching cost grow with the number of definitions.
`definitions_repo` drops the entries of a definition whenever it is saved or deleted, so the cache
holds only versions that can still match.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence

from pydantic import ValidationError
from sqlmodel import Session, col, select

from definitions.models import WorkflowDefinitionIn
from store.models import WorkflowDefinitionRow

log = logging.getLogger(__name__)

Key = tuple[str, int]


class ParsedDefinitions:
    """A bounded LRU map (id, version) -> validated definition, safe across threads."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Key, WorkflowDefinitionIn] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> WorkflowDefinitionIn | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Key, definition: WorkflowDefinitionIn) -> None:
        with self._lock:
            self._entries[key] = definition
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def forget(self, definition_id: str) -> None:
        """Drop every cached version of a definition (it was saved again, or deleted)."""
        with self._lock:
            for key in [key for key in self._entries if key[0] == definition_id]:
                del self._entries[key]


parsed_definitions = ParsedDefinitions()


def parsed_versions(session: Session, keys: Sequence[Key]) -> dict[Key, WorkflowDefinitionIn]:
    """The validated definitions of these (id, version) pairs, from the cache; bodies are read
    and validated only for pairs not seen before. A stored body that no longer validates is
    left out (logged)."""
    missing = [
        definition_id
        for definition_id, version in keys
        if parsed_definitions.get((definition_id, version)) is None
    ]
    if missing:
        rows = session.exec(
            select(WorkflowDefinitionRow).where(col(WorkflowDefinitionRow.id).in_(missing))
        ).all()
        for row in rows:
            try:
                definition = WorkflowDefinitionIn.model_validate(row.body)
            except ValidationError:
                log.exception("stored definition %s no longer validates; skipped", row.id)
                continue
            parsed_definitions.put((row.id, row.version), definition)
    found = {}
    for key in keys:
        cached = parsed_definitions.get(key)
        if cached is not None:
            found[key] = cached
    return found
