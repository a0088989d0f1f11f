"""Match one event against many triggers at about the cost of one. Pure.

`TriggerMatcher(items).matching(event)` gives exactly the keys whose trigger `match_trigger`
accepts, in the items' order; it only skips the triggers that cannot match:

- a `new_message` trigger whose `sender_types` exclude the message's sender;
- a `new_message` trigger none of whose `content_patterns` occurs in the message: every pattern of
  every trigger is searched in one pass of an RE2 set (same options as `regex_search`), so a
  thousand definitions with patterns cost one scan of the message, not a thousand searches.

The survivors still go through `match_trigger`, so the answer never differs from checking every
trigger one by one (a property test holds the two together); the pre-filter only saves work.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from definitions.events import Event
from definitions.matching import AnyTrigger, match_trigger
from definitions.models import NewMessageTrigger
from definitions.operators import pattern_set

K = TypeVar("K", bound=Hashable)


class TriggerMatcher(Generic[K]):
    """Built once per set of candidates (they change only when a definition is saved)."""

    def __init__(self, items: Sequence[tuple[K, AnyTrigger]]) -> None:
        self._items = list(items)
        #: Positions that are always checked in full (not new_message, or no patterns).
        self._always: list[int] = []
        #: new_message positions by the index of each of their patterns in `self._set`.
        self._by_pattern: dict[int, list[int]] = {}
        #: Allowed sender types of a new_message position (None: any sender).
        self._senders: dict[int, frozenset[str]] = {}
        patterns: dict[str, int] = {}
        for position, (_key, trigger) in enumerate(self._items):
            if not isinstance(trigger, NewMessageTrigger):
                self._always.append(position)
                continue
            if trigger.sender_types:
                self._senders[position] = frozenset(trigger.sender_types)
            if not trigger.content_patterns:
                self._always.append(position)
                continue
            for pattern in trigger.content_patterns:
                index = patterns.setdefault(pattern, len(patterns))
                self._by_pattern.setdefault(index, []).append(position)
        self._set = pattern_set(list(patterns)) if patterns else None
        if self._set is None and patterns:  # the set could not be built: check them all
            self._always = list(range(len(self._items)))
            self._by_pattern = {}

    def __len__(self) -> int:
        return len(self._items)

    @property
    def keys(self) -> list[K]:
        return [key for key, _trigger in self._items]

    def matching(self, event: Event) -> list[K]:
        """The keys whose trigger fires for `event`, in the items' order."""
        return [self._items[p][0] for p in self._survivors(event) if self._fires(p, event)]

    def _survivors(self, event: Event) -> list[int]:
        message = event.message
        if event.type != "message.created" or message is None or self._set is None:
            return range(len(self._items))  # type: ignore[return-value]
        found = set(self._always)
        for index in self._set.Match(message.content) or ():
            found.update(self._by_pattern.get(index, ()))
        return sorted(found)

    def _fires(self, position: int, event: Event) -> bool:
        senders = self._senders.get(position)
        if senders is not None and event.message is not None:
            if event.message.sender_type not in senders:
                return False
        return match_trigger(self._items[position][1], event).matched
