"""Every workflow class the worker registers, in one place (worker, replayer, tests)."""

from __future__ import annotations

from worker.prune_workflow import PruneEvents
from worker.run_workflow import WorkflowRun
from worker.sla_workflow import ConversationSla

#: The workflow classes a worker (or a replayer) needs.
WORKFLOWS: list[type] = [WorkflowRun, ConversationSla, PruneEvents]

__all__ = ["WORKFLOWS", "ConversationSla", "PruneEvents", "WorkflowRun"]
