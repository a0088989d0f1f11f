"""`RunStarter`: what the domain needs from Temporal to act on an event (implemented over a
Temporal client by the app's gateway and by `temporal_edge.TemporalRunStarter`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from definitions.events import Event
from definitions.runs import RunInput


class RunStarter(Protocol):
    """Starts runs and feeds SLA trackers. Both raise `definitions.runs.StartRefused` for what no
    retry can fix; any other error means "not now" (Temporal unreachable)."""

    async def start_run(self, run_input: RunInput) -> None:
        """Start WorkflowRun `run_workflow_id(run_input.definition_id, run_input.event.id)`.
        Must be idempotent: an id that was already started is not an error."""
        ...

    async def signal_sla(
        self, event: Event, accepted_at: datetime | None = None, wake_at: datetime | None = None
    ) -> None:
        """Signal-with-start the ConversationSla tracker of `event.conversation.id`;
        `accepted_at`: when the event was accepted (None: now), which bounds its time;
        `wake_at`: a tracker this starts runs first then (or at the conversation's next event),
        None: at once."""
        ...

    async def signal_wait(self, workflow_id: str) -> None:
        """Hint the run `workflow_id`, waiting in a wait_for, to look again (a run that is gone
        is not an error)."""
        ...
