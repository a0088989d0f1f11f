"""Every workflow class the worker registers, in one place (worker, replayer, tests)."""

from __future__ import annotations

from worker.run_workflow import WorkflowRun

try:  # the SLA tracker is built in parallel; registered as soon as it exists
    from worker.sla_workflow import ConversationSla
except ImportError:  # pragma: no cover - until worker/sla_workflow.py lands
    ConversationSla = None  # type: ignore[assignment,misc,unused-ignore]

#: The workflow classes a worker (or a replayer) needs.
WORKFLOWS: list[type] = [WorkflowRun] + ([ConversationSla] if ConversationSla is not None else [])

__all__ = ["WORKFLOWS", "ConversationSla", "WorkflowRun"]
