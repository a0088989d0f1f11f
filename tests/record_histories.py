"""Record WorkflowRun histories for the replay test (tests/test_replay.py).

Each scenario below runs once on a real Temporal dev server with the real activities against a
fresh SQLite database, and its history is written to `tests/histories/<scenario>.json`
(`WorkflowHistory.to_json()`, the same JSON as `temporal workflow show --output json`).

Re-record after a *deliberate* change of the workflow's commands (and only then — a replay
failure otherwise means the change would break runs in flight; guard it with `workflow.patched`):

    /work/venv/bin/python -m tests.record_histories            # every scenario
    /work/venv/bin/python -m tests.record_histories completed  # some of them

The scenario builders are shared with tests/test_workflow_run.py, so the recorded shapes are the
tested ones.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from definitions.events import Event
from definitions.models import WorkflowDefinitionIn
from definitions.runs import WORKFLOW_RUN, RunInput, RunResult, run_workflow_id
from desk.mirror import mirror_event
from store.db import create_all, make_engine, session_scope
from store.directory import AgentIn, TeamIn, put_agent, put_team
from store.settings import Settings
from temporal_edge import data_converter

HISTORIES = Path(__file__).parent / "histories"
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

# ---------------------------------------------------------------- builders (shared with tests)


def make_event(
    event_id: str | None = None,
    *,
    conversation_id: str | None = None,
    customer: dict[str, Any] | None = None,
    type: str = "conversation.created",
    **conversation: Any,
) -> Event:
    """A new WhatsApp conversation of Ada, a VIP customer (override what a test needs)."""
    body_customer = {
        "id": "u-4",
        "name": "Ada",
        "email": "ada@example.com",
        "lifecycle": "customer",
        "segment": "vip",
    }
    body_customer.update(customer or {})
    return Event.model_validate(
        {
            "id": event_id or f"evt-{uuid.uuid4().hex[:12]}",
            "type": type,
            "occurred_at": T0.isoformat(),
            "conversation": {
                "id": conversation_id or f"c-{uuid.uuid4().hex[:12]}",
                "channel": "whatsapp",
                **conversation,
            },
            "customer": body_customer,
        }
    )


def make_definition(
    steps: list[dict[str, Any]], *, on_failure: dict[str, Any] | None = None, **trigger: Any
) -> WorkflowDefinitionIn:
    body: dict[str, Any] = {
        "name": "test definition",
        "status": "active",
        "trigger": trigger or {"type": "new_conversation"},
        "steps": steps,
    }
    if on_failure is not None:
        body["on_failure"] = on_failure
    return WorkflowDefinitionIn.model_validate(body)


def make_input(
    steps: list[dict[str, Any]],
    event: Event | None = None,
    *,
    definition_id: str = "def-test",
    scope: str | None = None,
    on_failure: dict[str, Any] | None = None,
) -> RunInput:
    """A RunInput the way ingestion builds it: scope = the run's deterministic id."""
    event = event or make_event()
    return RunInput(
        definition_id=definition_id,
        definition_version=1,
        definition=make_definition(steps, on_failure=on_failure),
        event=event,
        idempotency_scope=scope or run_workflow_id(definition_id, event.id),
    )


def seed_directory(engine: Engine) -> None:
    """Agents ana, bo and sam; team vip-support (ana, bo; supervisor sam) and billing (bo)."""
    from sqlmodel import Session

    with Session(engine) as session:
        put_agent(session, "ana", AgentIn(name="Ana", email="ana@example.com"))
        put_agent(session, "bo", AgentIn(name="Bo"))
        put_agent(session, "sam", AgentIn(name="Sam"))
        put_team(
            session,
            "vip-support",
            TeamIn(name="VIP support", members=["ana", "bo"], supervisor="sam"),
        )
        put_team(session, "billing", TeamIn(name="Billing", members=["bo"]))


def mirror(engine: Engine, event: Event) -> None:
    """What ingestion does before a run starts: the desk store learns the conversation."""
    with session_scope(engine) as session:
        mirror_event(session, event)


async def start_run(
    client: Client,
    run_input: RunInput,
    task_queue: str,
    *,
    execution_timeout: timedelta | None = timedelta(minutes=5),
) -> WorkflowHandle[Any, Any]:
    """Start a run; waiting runs (days on the time-skipping server) pass execution_timeout=None."""
    return await client.start_workflow(
        WORKFLOW_RUN,
        run_input,
        id=f"{run_workflow_id(run_input.definition_id, run_input.event.id)}:{uuid.uuid4().hex[:6]}",
        task_queue=task_queue,
        result_type=RunResult,
        execution_timeout=execution_timeout,
    )


# ---------------------------------------------------------------- the scenarios

CUSTOMER_ONLY = {
    "id": "is-customer",
    "type": "condition",
    "field": "customer.lifecycle",
    "operator": "equals",
    "value": "customer",
    "on_false": "stop",
}
ROUTE_VIP = {"id": "route", "type": "action", "action": "route", "params": {"team": "vip-support"}}
GREET = {
    "id": "greet",
    "type": "action",
    "action": "auto_reply",
    "params": {
        "message": 'Hi {{customer.name | default: "there"}}, a VIP specialist is on the way.'
    },
}
VIP_STEPS = [CUSTOMER_ONLY, ROUTE_VIP, GREET]


@dataclass
class Scenario:
    steps: list[dict[str, Any]]
    customer: dict[str, Any] | None = None
    fails: bool = False
    on_failure: dict[str, Any] | None = None

    def input(self, event: Event) -> RunInput:
        return make_input(self.steps, event, on_failure=self.on_failure)


SCENARIOS: dict[str, Scenario] = {
    "completed": Scenario(VIP_STEPS),
    "stopped": Scenario(VIP_STEPS, customer={"lifecycle": "lead"}),
    # After patch run-outcome-attribute: a stopped run upserts RunOutcome=stopped.
    "stopped_run_outcome": Scenario(VIP_STEPS, customer={"lifecycle": "lead"}),
    "skip_next": Scenario(
        [
            {**CUSTOMER_ONLY, "on_false": "skip_next"},
            ROUTE_VIP,
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["triaged"]}},
        ],
        customer={"lifecycle": "lead"},
    ),
    "failed_step": Scenario(
        [{"id": "route", "type": "action", "action": "route", "params": {"team": "no-such-team"}}],
        fails=True,
    ),
    # After patch on-failure-notify: the run fails for good, then ONE local activity notifies
    # the definition's on_failure team (desk notification + webhook event).
    "failed_on_failure": Scenario(
        [{"id": "route", "type": "action", "action": "route", "params": {"team": "no-such-team"}}],
        fails=True,
        on_failure={"notify": {"team": "vip-support"}},
    ),
    # After patch guarded-actions: a condition and the action it guards in one local activity
    # (held: the route ran with it; false: on_false stop / skip_next, the action never ran).
    # A condition that guards nothing (`continue`) before one that does: the patch is asked for
    # at the second only (recorded at 3ea5769, the first release with the patch).
    "guarded_after_unguarded_condition": Scenario(
        [
            {**CUSTOMER_ONLY, "id": "any-customer", "on_false": "continue"},
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["seen"]}},
            *VIP_STEPS,
        ]
    ),
    "guarded_completed": Scenario(VIP_STEPS),
    "guarded_stopped": Scenario(VIP_STEPS, customer={"lifecycle": "lead"}),
    "guarded_skip_next": Scenario(
        [
            {**CUSTOMER_ONLY, "on_false": "skip_next"},
            ROUTE_VIP,
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["triaged"]}},
        ],
        customer={"lifecycle": "lead"},
    ),
    # The same patch, guarded calls with more than one action (issue 13): the route and the
    # greeting ran with the condition in one call; a call that stopped after a status change
    # (its event dispatched first), the greeting then ran on its own.
    "guarded_chain_completed": Scenario(VIP_STEPS),
    "guarded_chain_follow_up": Scenario(
        [
            CUSTOMER_ONLY,
            {
                "id": "resolve",
                "type": "action",
                "action": "change_status",
                "params": {"status": "resolved"},
            },
            GREET,
        ]
    ),
    # After patch time-bounded-retries: the emitted status change is dispatched with a 24 h
    # schedule-to-close timeout and unlimited attempts.
    "status_dispatched": Scenario(
        [
            {
                "id": "resolve",
                "type": "action",
                "action": "change_status",
                "params": {"status": "resolved"},
            }
        ]
    ),
}


# A retry (POST /runs/{id}/retry): greet, then route to a team that did not exist; the team is
# created and the failed run re-run with the same scope, so the greeting is not sent again.
RETRY_STEPS = [
    GREET,
    {"id": "route", "type": "action", "action": "route", "params": {"team": "late-team"}},
]


async def record_retried(
    client: Client, engine: Engine, task_queue: str
) -> WorkflowHandle[Any, Any]:
    from sqlmodel import Session

    event = make_event("evt-retried", conversation_id="c-retried")
    mirror(engine, event)
    first_input = make_input(RETRY_STEPS, event)
    first = await start_run(client, first_input, task_queue)
    try:
        await first.result()
        raise AssertionError("the first run should fail: team 'late-team' does not exist")
    except WorkflowFailureError:
        pass
    with Session(engine) as session:
        put_team(session, "late-team", TeamIn(name="Late team", members=["ana"]))
    retry = first_input.model_copy(update={"retry_of": first.id})
    handle = await start_run(client, retry, task_queue)
    await handle.result()
    return handle


# Waiting runs (SPEC §2.3): a timer, a wait_for woken by a customer reply, a cancelled wait_for.
WAIT_SHAPES = ("wait_timer", "wait_event", "wait_cancelled")
WAIT_FOR_REPLY = {
    "id": "reply",
    "type": "wait_for",
    "event": "customer_message",
    "timeout": "1h",
    "on_event": "continue",
}
FOLLOW_UP = {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["waited"]}}


async def record_wait(
    name: str, client: Client, engine: Engine, task_queue: str
) -> WorkflowHandle[Any, Any]:
    from desk.ingestion import EventIngestor
    from temporal_edge import TemporalRunStarter

    event = make_event(f"evt-{name}", conversation_id=f"c-{name}")
    mirror(engine, event)
    steps = [{"id": "pause", "type": "wait", "for": "2s"}, FOLLOW_UP]
    if name != "wait_timer":
        steps = [WAIT_FOR_REPLY, FOLLOW_UP]
    handle = await start_run(client, make_input(steps, event), task_queue)
    if name == "wait_timer":
        await handle.result()
        return handle
    await asyncio.sleep(1)  # the run is waiting
    if name == "wait_cancelled":
        await handle.cancel()
    else:
        reply = Event.model_validate(
            {
                "id": f"evt-{name}-reply",
                "type": "message.created",
                "occurred_at": T0.isoformat(),
                "conversation": {"id": event.conversation.id, "channel": "whatsapp"},
                "message": {"id": f"m-{name}", "sender_type": "customer", "content": "ok"},
            }
        )
        await EventIngestor(engine, TemporalRunStarter(client, task_queue)).ingest(reply)
    try:
        await handle.result()
    except WorkflowFailureError:
        if name != "wait_cancelled":
            raise
    return handle


# A run waiting in a wait_for whose worker stops mid-wait; a new worker (no cached state: it
# replays the history so far) carries it on, and the timeout fires there.
RESTART_SHAPE = "wait_worker_restarted"
FIRST_WORKER, SECOND_WORKER = "first-worker@record", "second-worker@record"


async def record_worker_restart(
    client: Client, engine: Engine, settings: Settings
) -> WorkflowHandle[Any, Any]:
    from worker.main import build_worker

    task_queue = f"{settings.task_queue}-restart"
    event = make_event(f"evt-{RESTART_SHAPE}", conversation_id=f"c-{RESTART_SHAPE}")
    mirror(engine, event)
    steps = [{**WAIT_FOR_REPLY, "timeout": "4s"}, FOLLOW_UP]
    async with build_worker(client, engine, settings, task_queue, identity=FIRST_WORKER):
        handle = await start_run(client, make_input(steps, event), task_queue)
        await asyncio.sleep(1.5)  # the first worker has the run waiting in its cache
    # That worker is gone; the timer fires while (or before) the next one polls, which has
    # nothing cached: it replays the history so far, then carries the run on.
    async with build_worker(client, engine, settings, task_queue, identity=SECOND_WORKER):
        await handle.result()
    return handle


async def record(client: Client, engine: Engine, settings: Settings, names: list[str]) -> None:
    from worker.main import build_worker

    HISTORIES.mkdir(exist_ok=True)
    task_queue = settings.task_queue
    if RESTART_SHAPE in names:
        handle = await record_worker_restart(client, engine, settings)
        _write(RESTART_SHAPE, await handle.fetch_history())
        names = [name for name in names if name != RESTART_SHAPE]
    async with build_worker(client, engine, settings, task_queue):
        for name in names:
            if name in WAIT_SHAPES:
                handle = await record_wait(name, client, engine, task_queue)
                _write(name, await handle.fetch_history())
                continue
            if name == "retried":
                handle = await record_retried(client, engine, task_queue)
                _write(name, await handle.fetch_history())
                continue
            scenario = SCENARIOS[name]
            event = make_event(
                f"evt-{name}", conversation_id=f"c-{name}", customer=scenario.customer
            )
            mirror(engine, event)
            handle = await start_run(client, scenario.input(event), task_queue)
            try:
                await handle.result()
            except WorkflowFailureError:
                if not scenario.fails:
                    raise
            _write(name, await handle.fetch_history())


def _write(name: str, history: Any) -> None:
    path = HISTORIES / f"{name}.json"
    path.write_text(history.to_json())
    print(f"recorded {path}")  # noqa: T201


async def main(names: list[str]) -> None:
    from cli.temporal_server import find_binary
    from tests.temporal_fixtures import search_attribute_keys

    known = {*SCENARIOS, "retried", *WAIT_SHAPES, RESTART_SHAPE}
    unknown = set(names) - known
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; known: {sorted(known)}")
    with tempfile.TemporaryDirectory() as tmp:
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(find_binary("temporal")),
            data_converter=data_converter,
            search_attributes=search_attribute_keys(),
        ) as env:
            from tests.temporal_fixtures import register_search_attributes

            await register_search_attributes(env.client)
            engine = make_engine(f"sqlite:///{tmp}/record.db")
            create_all(engine)
            seed_directory(engine)
            settings = Settings(
                data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/record.db", task_queue="record"
            )
            try:
                await record(env.client, engine, settings, names or sorted(known))
            finally:
                engine.dispose()


def _cli() -> None:
    asyncio.run(main(sys.argv[1:]))


if __name__ == "__main__":
    _cli()
