"""The one edge between supportflow and Temporal (STYLE.md "Where the code is heading").

- `connection`: `connect()`, `TemporalUnavailable`, the `Client` type.
- `wire`: `data_converter`, pydantic JSON decoded leniently (`definitions.wire`).
- `search`: the search attributes (`SearchAttr`), declared once; `quote`, `runs_scope`.
- `starts`: every start of a `WorkflowRun` (ingested and dispatched events, retries, SLA
  breaches) through one private path, the signal-with-start of the SLA tracker, and
  `signal_wait`: the hint to a run waiting in a wait_for.
- `maintenance`: the Temporal Schedule that prunes old events, created at worker start.

The workflow/activity names and payload models stay in the pure `definitions.runs`, which the
workflow sandbox imports; this package adds what needs the SDK's client. Only it imports
`temporalio.client` (the worker excepted): app, activities and the CLI call it.
"""

from temporal_edge.connection import (
    RPC_TIMEOUT,
    Client,
    TemporalUnavailable,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowHandle,
    WorkflowHistory,
    connect,
    data_converter,
    rpc_failure,
    unavailable,
)
from temporal_edge.maintenance import ensure_prune_schedule
from temporal_edge.search import (
    OUTCOME_STOPPED,
    PHASE_RUNNING,
    PHASE_WAITING,
    STOPPED_RUNS,
    WAITING_RUNS,
    SearchAttr,
    quote,
    run_search_attributes,
    runs_scope,
)
from temporal_edge.starts import (
    MAX_RETRIES,
    BreachStart,
    StartedRun,
    TemporalRunStarter,
    run_summary,
    signal_sla,
    signal_wait,
    start_breach_run,
    start_event_run,
    start_retry_run,
)

__all__ = [
    "MAX_RETRIES",
    "PHASE_RUNNING",
    "PHASE_WAITING",
    "RPC_TIMEOUT",
    "BreachStart",
    "Client",
    "SearchAttr",
    "StartedRun",
    "TemporalRunStarter",
    "TemporalUnavailable",
    "WorkflowExecution",
    "WorkflowExecutionDescription",
    "WorkflowHandle",
    "WorkflowHistory",
    "connect",
    "data_converter",
    "ensure_prune_schedule",
    "quote",
    "rpc_failure",
    "run_search_attributes",
    "OUTCOME_STOPPED",
    "STOPPED_RUNS",
    "WAITING_RUNS",
    "run_summary",
    "runs_scope",
    "signal_sla",
    "signal_wait",
    "start_breach_run",
    "start_event_run",
    "start_retry_run",
    "unavailable",
]
