"""The definitions the per-conversation tracker fires (sla_breach, conversation_idle), read from
the store as they are at fire time."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from definitions.models import WorkflowDefinitionIn
from store.models import WorkflowDefinitionRow

# A timer may fire this much before its deadline as the database's threshold sees it (the
# workflow's clock and the definition's whole seconds).
DUE_TOLERANCE = timedelta(seconds=1)


def active_definition(row: WorkflowDefinitionRow, trigger_type: str) -> WorkflowDefinitionIn | None:
    """The stored row as an active definition of a tracker trigger (sla_breach,
    conversation_idle), or None when it is not one (any more)."""
    if row.status != "active" or row.trigger_type != trigger_type:
        return None
    try:
        return WorkflowDefinitionIn.model_validate(row.body)
    except ValueError:
        activity.logger.warning("stored definition %s does not validate; ignored", row.id)
        return None
