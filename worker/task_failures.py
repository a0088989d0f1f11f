"""Counting failed workflow tasks: the alert that a bug (or a payload this worker cannot read) is
holding runs open.

A failed workflow task does not fail the run: Temporal retries it until a fixed worker picks it up
(README §Operating it). That is only safe if someone notices, so the worker counts them. The SDK
logs every failed activation once, on the `temporalio` logger, tagged
`__temporal_error_identifier = "WorkflowTaskFailure"` (temporalio.worker._workflow_instance); a
handler on that logger counts those records. The count is per worker process since it started;
the worker writes it to its heartbeat row (`store.worker_heartbeats`) and `GET /health` reports
it as `workflow_task_failures`.
"""

from __future__ import annotations

import logging
import threading

#: The tag the SDK puts on the log record of a failed workflow task.
TASK_FAILURE_TAG = "WorkflowTaskFailure"


class TaskFailureCounter(logging.Handler):
    """A logging handler that counts the SDK's failed-workflow-task records."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self._lock_count = threading.Lock()
        self._count = 0
        self.last: str | None = None  # the message of the latest one

    @property
    def count(self) -> int:
        return self._count

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "__temporal_error_identifier", None) != TASK_FAILURE_TAG:
            return
        with self._lock_count:
            self._count += 1
        self.last = record.getMessage()


#: The process's counter, attached once by `install`.
task_failures = TaskFailureCounter()


def install() -> TaskFailureCounter:
    """Attach the counter to the SDK's logger (idempotent) and return it."""
    logger = logging.getLogger("temporalio")
    if task_failures not in logger.handlers:
        logger.addHandler(task_failures)
    return task_failures
