"""`Effect`: one action step being applied, inside its transaction — what every action gets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from definitions.context import ConversationState
from definitions.effects import conversation_changes
from definitions.events import Event
from definitions.runs import ActionInput
from store.models import ConversationRow


@dataclass
class Effect:
    session: Session
    args: ActionInput
    #: The mirrored conversation the step changes (the caller saves it after the step).
    conversation: ConversationRow
    #: The step's params with their templates rendered.
    rendered: dict[str, Any]
    now: datetime
    #: The conversation as the step found it (what conditions would read).
    before: ConversationState
    #: Events the step caused (e.g. a status change), dispatched by the run afterwards.
    emitted: list[Event] = field(default_factory=list)

    def change(self, picked: str | None = None) -> dict[str, Any]:
        """Apply what the step does to the conversation's fields (the pure rule of
        definitions/effects.py) to the row; `picked` is the agent the store chose, if any."""
        changes = conversation_changes(self.args.step, self.before, self.rendered, picked)
        for name, value in changes.items():
            setattr(self.conversation, name, value)
        return changes

    @property
    def source(self) -> str:
        """`{scope}:{step id}`: marks the rows this step wrote, and keys its webhook delivery."""
        return f"{self.args.idempotency_scope}:{self.args.step.id}"

    def row_id(self, prefix: str) -> str:
        """A short deterministic id for a row this step creates (a second line of idempotency)."""
        plain = f"{self.args.idempotency_scope}\x00{self.args.step.id}"
        return f"{prefix}-{hashlib.sha256(plain.encode()).hexdigest()[:16]}"
