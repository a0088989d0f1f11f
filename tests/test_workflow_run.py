"""WorkflowRun end to end: real Temporal servers (time-skipping and dev), the real activities,
a real database (SQLite, or PostgreSQL with DATABASE_URL). Where a test needs a failure or a
pause, it wraps a real activity under the same name (never a mock of what it checks)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities import DeskActivities, WebhookActivities, build_activities
from activities.webhook import SIGNATURE_HEADER, verify_signature
from definitions.evaluator import ConditionOutcome
from definitions.events import Event
from definitions.runs import (
    ACT_DELIVER_WEBHOOK,
    ACT_EVALUATE_CONDITION,
    ACT_PERFORM_GUARDED_ACTION,
    ERR_STEP_FAILED,
    TRACE_QUERY,
    WORKFLOW_RUN,
    ActionResult,
    ConditionInput,
    GuardedActionInput,
    GuardedActionResult,
    RunInput,
    RunResult,
    WebhookDelivery,
    run_workflow_id,
)
from desk.emitted import emitted_event_id
from desk.state import conversation_view
from store import definitions_repo
from store.settings import Settings
from tests.record_histories import (
    CUSTOMER_ONLY,
    GREET,
    ROUTE_VIP,
    VIP_STEPS,
    make_definition,
    make_event,
    make_input,
    mirror,
    seed_directory,
    start_run,
)
from tests.temporal_fixtures import assert_eventually
from worker.main import build_worker
from worker.task_failures import install as install_task_failure_counter

RESULT_TIMEOUT = 60  # seconds: a run that has not closed by then is hanging


def activity_name(fn: Callable[..., Any]) -> str:
    return activity._Definition.must_from_callable(fn).name


def real_activities(
    engine: Engine,
    settings: Settings,
    client: Client,
    *,
    desk: DeskActivities | None = None,
    replace: tuple[Callable[..., Any], ...] = (),
) -> list[Callable[..., Any]]:
    """`build_activities`, with the desk activities from `desk` (e.g. with a test hook) and any
    activity in `replace` swapped in under its name."""
    overrides = {activity_name(fn): fn for fn in replace}
    if desk is not None:
        for fn in (desk.evaluate_condition, desk.perform_action, desk.perform_guarded_action):
            overrides.setdefault(activity_name(fn), fn)
    return [
        overrides.get(activity_name(fn), fn) for fn in build_activities(engine, settings, client)
    ]


@pytest.fixture
def db(engine: Engine) -> Engine:
    seed_directory(engine)
    return engine


@pytest.fixture
def local_settings(db_url: str, task_queue: str, tmp_path: Path) -> Settings:
    """Settings for the time-skipping tests (the client is given, the address unused)."""
    return Settings(data_dir=tmp_path, database_url=db_url, task_queue=task_queue)


@asynccontextmanager
async def running_worker(
    client: Client,
    engine: Engine,
    settings: Settings,
    activities: list[Callable[..., Any]] | None = None,
) -> AsyncIterator[None]:
    async with build_worker(client, engine, settings, settings.task_queue, activities=activities):
        yield


async def result_of(handle: WorkflowHandle[Any, Any]) -> RunResult:
    result = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT)
    assert isinstance(result, RunResult)
    return result


async def run_to_end(client: Client, run_input: RunInput, settings: Settings) -> RunResult:
    return await result_of(await start_run(client, run_input, settings.task_queue))


def desk_view(engine: Engine, conversation_id: str) -> dict[str, Any]:
    with Session(engine) as session:
        view = conversation_view(session, conversation_id)
    assert view is not None
    return view


def statuses(result: RunResult) -> list[tuple[str, str]]:
    return [(step.step_id, step.status) for step in result.steps]


# ---------------------------------------------------------------- the happy path


async def test_vip_route_and_greet_completes(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    async with running_worker(time_env.client, db, local_settings):
        result = await run_to_end(time_env.client, make_input(VIP_STEPS, event), local_settings)

    assert result.outcome == "completed"
    assert statuses(result) == [
        ("is-customer", "passed"),
        ("route", "completed"),
        ("greet", "completed"),
    ]
    condition = result.steps[0].condition
    assert condition is not None and condition.rules[0].actual == "customer"
    assert result.steps[1].output == {"agent": None, "team": "vip-support"}
    greet = result.steps[2]
    assert greet.rendered is not None
    assert greet.rendered["message"] == "Hi Ada, a VIP specialist is on the way."
    assert all(step.attempts == 1 for step in result.steps)
    assert all(step.started_at and step.finished_at for step in result.steps)

    view = desk_view(db, event.conversation.id)
    assert view["assignment"] == {"agent": None, "team": "vip-support"}
    automated = [m for m in view["messages"] if m["sender_type"] == "automation"]
    assert [m["content"] for m in automated] == ["Hi Ada, a VIP specialist is on the way."]


# ---------------------------------------------------------------- on_false


async def test_false_condition_with_stop_ends_the_run_stopped(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event(customer={"lifecycle": "lead"})
    mirror(db, event)
    async with running_worker(time_env.client, db, local_settings):
        result = await run_to_end(time_env.client, make_input(VIP_STEPS, event), local_settings)

    assert result.outcome == "stopped"
    assert result.stopped_at == "is-customer"
    assert statuses(result) == [("is-customer", "failed")]
    assert result.steps[0].condition is not None
    assert result.steps[0].condition.rules[0].actual == "lead"
    view = desk_view(db, event.conversation.id)
    assert view["assignment"]["team"] is None
    assert not [m for m in view["messages"] if m["sender_type"] == "automation"]


async def test_false_condition_with_continue_goes_on(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event(customer={"lifecycle": "lead"})
    mirror(db, event)
    steps = [{**CUSTOMER_ONLY, "on_false": "continue"}, ROUTE_VIP, GREET]
    async with running_worker(time_env.client, db, local_settings):
        result = await run_to_end(time_env.client, make_input(steps, event), local_settings)

    assert result.outcome == "completed"
    assert statuses(result) == [
        ("is-customer", "failed"),
        ("route", "completed"),
        ("greet", "completed"),
    ]
    assert result.steps[0].on_false == "continue"


async def test_false_condition_with_skip_next_skips_only_the_next_step(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event(customer={"lifecycle": "lead"})
    mirror(db, event)
    steps = [{**CUSTOMER_ONLY, "on_false": "skip_next"}, ROUTE_VIP, GREET]
    async with running_worker(time_env.client, db, local_settings):
        result = await run_to_end(time_env.client, make_input(steps, event), local_settings)

    assert result.outcome == "completed"
    assert statuses(result) == [
        ("is-customer", "failed"),
        ("route", "skipped"),
        ("greet", "completed"),
    ]
    assert result.steps[1].note is not None and "'is-customer'" in result.steps[1].note
    assert result.steps[1].attempts == 0
    assert desk_view(db, event.conversation.id)["assignment"]["team"] is None


# ---------------------------------------------------------------- fresh state


async def test_conditions_read_the_conversation_as_it_is_when_they_run(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()  # the event itself has no assignee
    mirror(db, event)
    unassigned = {
        "id": "unassigned",
        "type": "condition",
        "field": "conversation.assignee_team",
        "operator": "is_not_set",
        "on_false": "stop",
    }
    routed = {
        "id": "routed",
        "type": "condition",
        "field": "conversation.assignee_team",
        "operator": "equals",
        "value": "vip-support",
        "on_false": "stop",
    }
    tag = {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["vip-routed"]}}
    steps = [unassigned, ROUTE_VIP, routed, tag]
    async with running_worker(time_env.client, db, local_settings):
        result = await run_to_end(time_env.client, make_input(steps, event), local_settings)

    assert result.outcome == "completed", result
    assert statuses(result) == [
        ("unassigned", "passed"),
        ("route", "completed"),
        ("routed", "passed"),
        ("tag", "completed"),
    ]
    after_route = result.steps[2].condition
    assert after_route is not None and after_route.rules[0].actual == "vip-support"
    assert "vip-routed" in desk_view(db, event.conversation.id)["tags"]


# ---------------------------------------------------------------- failures


async def test_unknown_team_fails_the_run_with_the_trace_and_a_readable_message(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    steps = [
        CUSTOMER_ONLY,
        {"id": "route", "type": "action", "action": "route", "params": {"team": "nope"}},
        GREET,
    ]
    async with running_worker(time_env.client, db, local_settings):
        handle = await start_run(
            time_env.client, make_input(steps, event), local_settings.task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await result_of(handle)

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == ERR_STEP_FAILED
    assert cause.non_retryable
    assert cause.message.startswith("step 'route' (route) failed: team 'nope' does not exist")
    trace = RunResult.model_validate(cause.details[0])
    assert trace.outcome == "failed"
    assert trace.error == cause.message
    assert statuses(trace) == [("is-customer", "passed"), ("route", "error")]
    assert trace.steps[1].error is not None and "team 'nope'" in trace.steps[1].error
    assert trace.steps[1].attempts == 1  # permanent: not retried
    view = desk_view(db, event.conversation.id)
    assert not [m for m in view["messages"] if m["sender_type"] == "automation"]


async def test_an_input_this_worker_cannot_read_fails_the_task_not_the_run(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    # An action this worker does not know (a newer API): the workflow task fails and is counted,
    # the run stays open for a worker that knows it (README §Operating it).
    run_input = make_input(VIP_STEPS).model_dump(mode="json")
    run_input["definition"]["steps"][1] = {
        "id": "route",
        "type": "action",
        "action": "teleport",
        "params": {},
    }
    counter = install_task_failure_counter()
    before = counter.count
    async with running_worker(time_env.client, db, local_settings):
        handle = await time_env.client.start_workflow(
            WORKFLOW_RUN, run_input, id=f"bad-{uuid.uuid4()}", task_queue=local_settings.task_queue
        )

        async def task_failed() -> None:
            history = await handle.fetch_history()
            assert any(
                e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events
            )

        await assert_eventually(task_failed, timeout=RESULT_TIMEOUT)
        assert counter.count > before
        assert counter.last is not None and handle.id in counter.last
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        await handle.terminate("test over")


def fails_once(message: str) -> Callable[[], None]:
    """Raises RuntimeError(message) on its first call only (a transient failure)."""
    failures = iter([message])

    def fail() -> None:
        failure = next(failures, None)
        if failure is not None:
            raise RuntimeError(failure)

    return fail


async def test_a_transient_failure_before_the_effect_is_retried(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    desk = DeskActivities(db, deliver_webhooks=False)
    fail = fails_once("database is locked")

    @activity.defn(name=ACT_PERFORM_GUARDED_ACTION)  # the condition and the actions it guards
    async def flaky_condition(args: GuardedActionInput) -> GuardedActionResult:
        fail()
        return await desk.perform_guarded_action(args)

    activities = real_activities(
        db, local_settings, time_env.client, desk=desk, replace=(flaky_condition,)
    )
    async with running_worker(time_env.client, db, local_settings, activities):
        result = await run_to_end(time_env.client, make_input(VIP_STEPS, event), local_settings)

    assert result.outcome == "completed"
    assert result.steps[0].attempts == 2
    assert result.steps[0].note is not None
    note = "attempt 1 (with steps 'route', 'greet') failed: database is locked"
    assert note in result.steps[0].note
    assert [s.attempts for s in result.steps[1:]] == [1, 1]  # each ran once, on its own


async def test_a_transient_failure_of_a_condition_on_its_own_is_retried(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    desk = DeskActivities(db, deliver_webhooks=False)
    fail = fails_once("database is locked")

    @activity.defn(name=ACT_EVALUATE_CONDITION)
    async def flaky_condition(args: ConditionInput) -> ConditionOutcome:
        fail()
        return await desk.evaluate_condition(args)

    activities = real_activities(
        db, local_settings, time_env.client, desk=desk, replace=(flaky_condition,)
    )
    steps = [{**CUSTOMER_ONLY, "on_false": "continue"}, ROUTE_VIP]  # guards nothing
    async with running_worker(time_env.client, db, local_settings, activities):
        result = await run_to_end(time_env.client, make_input(steps, event), local_settings)

    assert result.outcome == "completed"
    assert result.steps[0].attempts == 2
    assert result.steps[0].note is not None
    assert "attempt 1 failed: database is locked" in result.steps[0].note


async def test_a_condition_that_guards_nothing_records_no_patch_marker(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    """The `guarded-actions` patch is asked for only where a condition guards actions: a run
    that never batches pays no patch marker and no search-attribute upsert."""
    event = make_event()
    mirror(db, event)
    steps = [{**VIP_STEPS[0], "on_false": "continue"}, *VIP_STEPS[1:]]
    async with running_worker(time_env.client, db, local_settings):
        handle = await start_run(
            time_env.client, make_input(steps, event), local_settings.task_queue
        )
        assert (await result_of(handle)).outcome == "completed"
    history = await handle.fetch_history()
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert markers == ["core_local_activity"] * 3  # condition, route, greet; no core_patch


async def _run_losing_the_greetings_result(
    time_env: WorkflowEnvironment,
    db: Engine,
    local_settings: Settings,
    steps: list[dict[str, Any]],
    event: Event,
) -> RunResult:
    """Run `steps` on `event`; the first call that commits the greeting loses its result (the
    worker's connection drops after the commit)."""
    mirror(db, event)
    crashes = {"greet": 1}

    def crash_once(result: ActionResult) -> None:
        if "message_id" in result.output and crashes["greet"]:
            crashes["greet"] -= 1
            raise ConnectionError("worker lost its connection after the commit")

    desk = DeskActivities(db, deliver_webhooks=False, after_commit=crash_once)
    activities = real_activities(db, local_settings, time_env.client, desk=desk)
    async with running_worker(time_env.client, db, local_settings, activities):
        return await run_to_end(time_env.client, make_input(steps, event), local_settings)


async def test_a_crash_after_the_effect_is_retried_without_repeating_it(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    result = await _run_losing_the_greetings_result(time_env, db, local_settings, [GREET], event)

    assert result.outcome == "completed"
    greet = result.steps[0]
    assert greet.status == "completed" and greet.attempts == 2
    assert greet.note is not None and "already applied" in greet.note
    view = desk_view(db, event.conversation.id)
    assert len([m for m in view["messages"] if m["sender_type"] == "automation"]) == 1


async def test_a_crash_after_a_guarded_call_committed_repeats_none_of_its_actions(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    """The condition, the route and the greeting run in one call, which commits both actions and
    then loses its result: the run goes on one step at a time, and the ledger answers for both."""
    event = make_event()
    result = await _run_losing_the_greetings_result(time_env, db, local_settings, VIP_STEPS, event)

    assert result.outcome == "completed"
    condition, route, greet = result.steps
    assert condition.status == "passed" and condition.attempts == 2
    assert condition.note is not None and "with steps 'route', 'greet'" in condition.note
    for action in (route, greet):
        assert action.status == "completed" and action.attempts == 1
        assert action.note is not None and "already applied" in action.note
    view = desk_view(db, event.conversation.id)
    assert len([m for m in view["messages"] if m["sender_type"] == "automation"]) == 1
    assert view["assignment"]["team"] == "vip-support"


# ---------------------------------------------------------------- idempotency across runs


async def test_the_same_input_run_twice_never_repeats_an_effect(
    time_env: WorkflowEnvironment, db: Engine, local_settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    steps = [
        GREET,
        {
            "id": "ticket",
            "type": "action",
            "action": "create_ticket",
            "params": {"title": "VIP: {{customer.name}}", "team": "vip-support"},
        },
        {
            "id": "tell",
            "type": "action",
            "action": "notify",
            "params": {"team": "vip-support", "message": "Ticket {{steps.ticket.ticket_id}}"},
        },
    ]
    run_input = make_input(steps, event)
    async with running_worker(time_env.client, db, local_settings):
        first = await run_to_end(time_env.client, run_input, local_settings)
        again = await run_to_end(
            time_env.client, run_input.model_copy(update={"retry_of": "first"}), local_settings
        )

    assert first.outcome == again.outcome == "completed"
    assert [s.output for s in again.steps] == [s.output for s in first.steps]
    assert all(s.note and "already applied" in s.note for s in again.steps)
    view = desk_view(db, event.conversation.id)
    assert len([m for m in view["messages"] if m["sender_type"] == "automation"]) == 1
    assert len(view["tickets"]) == 1
    assert sorted(n["recipient_agent"] for n in view["notifications"]) == ["ana", "bo"]
    ticket_id = view["tickets"][0]["id"]
    assert {n["message"] for n in view["notifications"]} == {f"Ticket {ticket_id}"}


# ------------------------------------------------------- dev server: query, webhook, dispatch


class Receiver:
    """A real HTTP endpoint standing in for the help desk's webhook."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


async def test_trace_is_readable_while_the_run_is_in_flight_and_actions_reach_the_webhook(
    dev_env: WorkflowEnvironment, db: Engine, settings: Settings
) -> None:
    event = make_event()
    mirror(db, event)
    gate = asyncio.Event()
    with webhook_receiver() as receiver:
        hooked = settings.model_copy(
            update={"webhook_url": receiver.url, "webhook_secret": "s3cret"}
        )
        async with httpx.AsyncClient() as http:
            webhook = WebhookActivities(hooked, http)

            @activity.defn(name=ACT_DELIVER_WEBHOOK)
            async def gated_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
                await gate.wait()
                return await webhook.deliver_webhook(delivery)

            activities = real_activities(
                db,
                hooked,
                dev_env.client,
                desk=DeskActivities(db, deliver_webhooks=True),
                replace=(gated_delivery,),
            )
            async with running_worker(dev_env.client, db, hooked, activities):
                handle = await start_run(
                    dev_env.client, make_input(VIP_STEPS, event), hooked.task_queue
                )

                async def routed_and_waiting() -> RunResult:
                    try:
                        trace = await handle.query(TRACE_QUERY, result_type=RunResult)
                    except RPCError as err:  # the server has not seen the new poller yet
                        raise AssertionError(str(err)) from err
                    assert [s.step_id for s in trace.steps] == ["is-customer", "route"]
                    return trace

                trace = await assert_eventually(routed_and_waiting, timeout=20)
                assert trace.outcome == "running"
                assert trace.steps[1].status == "running"
                assert trace.steps[1].output == {"agent": None, "team": "vip-support"}
                gate.set()
                result = await result_of(handle)
                done = await handle.query(TRACE_QUERY, result_type=RunResult)

    assert result.outcome == "completed"
    assert all(s.note and "delivered to the webhook" in s.note for s in result.steps[1:])
    assert [json.loads(body)["action"] for _, body in receiver.requests] == ["route", "auto_reply"]
    for headers, body in receiver.requests:
        assert verify_signature(body, "s3cret", headers.get(SIGNATURE_HEADER))
    # The query answers after the run closed too (replaying the history: timestamps may differ
    # by the scheduling delay of the first workflow task, the steps may not).
    times = {"started_at", "finished_at"}
    assert done.model_dump(exclude={"steps": {"__all__": times}}) == result.model_dump(
        exclude={"steps": {"__all__": times}}
    )


async def test_change_status_emits_an_event_that_starts_a_status_change_run(
    dev_env: WorkflowEnvironment, db: Engine, settings: Settings
) -> None:
    on_resolved = make_definition(
        [
            {
                "id": "tag",
                "type": "action",
                "action": "add_tag",
                "params": {"tags": ["auto-resolved"]},
            }
        ],
        type="status_change",
        to_statuses=["resolved"],
    )
    with Session(db) as session:
        follow_up = definitions_repo.create(session, on_resolved).id
    event = make_event()
    mirror(db, event)
    resolve = {
        "id": "resolve",
        "type": "action",
        "action": "change_status",
        "params": {"status": "resolved"},
    }
    async with running_worker(dev_env.client, db, settings):
        handle = await start_run(dev_env.client, make_input([resolve], event), settings.task_queue)
        first = await result_of(handle)
        caused = run_workflow_id(follow_up, emitted_event_id(handle.id, "resolve"))
        assert first.steps[0].note is not None and caused in first.steps[0].note
        second_handle = dev_env.client.get_workflow_handle(caused, result_type=RunResult)
        second = await result_of(second_handle)
        started = await second_handle.describe()

    assert first.outcome == "completed"
    assert first.steps[0].output == {"status": "resolved", "previous_status": "open"}
    assert second.outcome == "completed"
    assert "auto-resolved" in desk_view(db, event.conversation.id)["tags"]
    history = await second_handle.fetch_history()
    run_input = history.events[0].workflow_execution_started_event_attributes.input
    (payload,) = run_input.payloads
    caused_input = RunInput.model_validate_json(payload.data)
    assert caused_input.event.causal_chain == [handle.id]
    assert started.search_attributes  # the dispatcher starts it like the app does
