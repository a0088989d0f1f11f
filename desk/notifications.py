"""Notifications to agents, written by `notify` and `escalate`."""

from __future__ import annotations

from desk.effect import Effect
from store.models import NotificationRow


def notify_agents(effect: Effect, recipients: list[str], message: str) -> list[str]:
    """One notification per recipient, with deterministic ids; returns the ids."""
    base = effect.row_id("ntf")
    ids = []
    for index, recipient in enumerate(recipients):
        notification_id = f"{base}-{index}"
        effect.session.add(
            NotificationRow(
                id=notification_id,
                conversation_id=effect.conversation.id,
                recipient_agent=recipient,
                message=message,
                created_at=effect.now,
                source=effect.source,
            )
        )
        ids.append(notification_id)
    return ids
