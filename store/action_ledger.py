"""The idempotency ledger of actions: one `ActionEffectRow` per (scope, step id) that took effect.

`claim` writes the row first in the action's transaction, so a racing attempt collides on its
primary key before any effect; `record` stores the result in it before the commit; `stored_result`
is what a repeat returns.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from definitions.runs import ActionInput, ActionResult
from store.db import read_session
from store.models import ActionEffectRow


def claim(session: Session, args: ActionInput, now: datetime) -> ActionEffectRow:
    """Insert and flush the ledger row of (scope, step id); IntegrityError if it exists."""
    ledger = ActionEffectRow(
        scope=args.idempotency_scope,
        step_id=args.step.id,
        action=args.step.action,
        conversation_id=args.event.conversation.id,
        created_at=now,
    )
    session.add(ledger)
    session.flush()
    return ledger


def record(session: Session, ledger: ActionEffectRow, result: ActionResult) -> None:
    """Store the result of the claimed step (committed with the effect)."""
    ledger.output = result.output
    ledger.result = result.model_dump(mode="json")
    session.add(ledger)


def stored_result(engine: Engine, scope: str, step_id: str) -> ActionResult | None:
    """The recorded result of (scope, step id), marked replayed, or None if it never took effect."""
    with read_session(engine) as session:
        return stored_result_in(session, scope, step_id)


def stored_result_in(session: Session, scope: str, step_id: str) -> ActionResult | None:
    """`stored_result`, read in the caller's session."""
    row = session.get(ActionEffectRow, (scope, step_id))
    if row is None:
        return None
    if row.result:
        result = ActionResult.model_validate(row.result)
    else:
        result = ActionResult(output=dict(row.output))
    return result.model_copy(update={"replayed": True})
