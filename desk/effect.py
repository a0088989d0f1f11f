"""`Effect`: one action step being applied, inside its transaction — what every action gets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

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
    #: Events the step caused (e.g. a status change), dispatched by the run afterwards.
    emitted: list[Event] = field(default_factory=list)

    @property
    def source(self) -> str:
        """`{scope}:{step id}`: marks the rows this step wrote, and keys its webhook delivery."""
        return f"{self.args.idempotency_scope}:{self.args.step.id}"

    def row_id(self, prefix: str) -> str:
        """A short deterministic id for a row this step creates (a second line of idempotency)."""
        plain = f"{self.args.idempotency_scope}\x00{self.args.step.id}"
        return f"{prefix}-{hashlib.sha256(plain.encode()).hexdigest()[:16]}"
