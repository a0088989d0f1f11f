"""The two baselines the product is measured against, and the worker that runs them.

- **Floor** (`BenchFloor`): an empty workflow, start -> complete, no activities. What Temporal
  itself costs per run on this server.
- **Naive** (`BenchNaive`): a hand-written workflow doing the product path's database writes
  (mirror the event: event row, customer, conversation, message; read the state for the
  condition; add the tag; add the automated reply; each action with its idempotency-ledger row)
  as three regular activities: `check` (mirror + condition), `add_tag`, `auto_reply`. It follows
  the Temporal documentation's usual advice (pydantic data converter, third-party imports passed
  through the sandbox, default worker settings) and nothing more.

Lever variants of the naive workflow (`mode` in its input), to measure what they pay:
`local` (the same three activities as local activities) and `batched` (one regular activity doing
all three steps).

Run by the harness as `python -m bench.baselines --address ... --db-url ... --task-queue ...
--options JSON`; options: `passthrough` (module names passed through the workflow sandbox,
default ["definitions"]), `passthrough_all` (bool: every module, the workflow's own too),
`unsandboxed` (bool), `workflow_pollers` / `activity_pollers`, and any
`Worker` keyword argument (e.g. `max_concurrent_workflow_tasks`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Literal

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel
    from sqlalchemy.engine import Engine

    from store.db import make_engine, session_scope
    from store.models import (
        ActionEffectRow,
        ConversationRow,
        CustomerRow,
        EventRow,
        MessageRow,
        utcnow,
    )

# Outside the passthrough block on purpose: whether `definitions` is re-imported in every run's
# sandbox or passed through is decided by the worker's restrictions (the sandbox lever).
from definitions.events import Event

NaiveMode = Literal["regular", "local", "batched"]
TAG = "bench"
REPLY = "Hi {name}, thanks for reaching out."


class NaiveInput(BaseModel):
    event: Event
    scope: str
    mode: NaiveMode = "regular"


# ---------------------------------------------------------------- activities


class NaiveActivities:
    """The naive baseline's database work, on an injected engine (sync: run in a thread pool)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="bench_naive_check")
    def check(self, data: NaiveInput) -> bool:
        """Mirror the event into the desk store, then read fresh state for the condition
        `customer.lifecycle equals customer`."""
        event = data.event
        with session_scope(self.engine) as session:
            if session.get(EventRow, event.id) is None:
                session.add(
                    EventRow(
                        id=event.id,
                        type=event.type,
                        conversation_id=event.conversation.id,
                        payload=event.model_dump(mode="json"),
                        run_ids=[data.scope],
                    )
                )
            if event.customer is not None:
                c = event.customer
                session.merge(
                    CustomerRow(
                        id=c.id,
                        name=c.name,
                        email=c.email,
                        lifecycle=c.lifecycle,
                        segment=c.segment,
                        plan=c.plan,
                        language=c.language,
                        country=c.country,
                        attributes=dict(c.attributes),
                    )
                )
            conv = event.conversation
            row = session.get(ConversationRow, conv.id)
            if row is None:
                session.add(
                    ConversationRow(
                        id=conv.id,
                        channel=conv.channel,
                        status=conv.status,
                        priority=conv.priority,
                        subject=conv.subject,
                        tags=list(conv.tags),
                        customer_id=event.customer.id if event.customer else None,
                    )
                )
            if event.message is not None and session.get(MessageRow, event.message.id) is None:
                m = event.message
                session.add(
                    MessageRow(
                        id=m.id,
                        conversation_id=conv.id,
                        sender_type=m.sender_type,
                        content=m.content,
                    )
                )
        with session_scope(self.engine) as session:
            conversation = session.get(ConversationRow, conv.id)
            customer = session.get(CustomerRow, conversation.customer_id) if conversation else None
            lifecycle = (customer.lifecycle or "") if customer else ""
            return lifecycle.lower() == "customer"

    @activity.defn(name="bench_naive_add_tag")
    def add_tag(self, data: NaiveInput) -> list[str]:
        with session_scope(self.engine) as session:
            done = session.get(ActionEffectRow, (data.scope, "tag"))
            if done is not None:
                return list(done.output.get("tags", []))
            conversation = session.get(ConversationRow, data.event.conversation.id)
            assert conversation is not None
            if TAG not in conversation.tags:
                conversation.tags = [*conversation.tags, TAG]
                conversation.updated_at = utcnow()
                session.add(conversation)
            session.add(
                ActionEffectRow(
                    scope=data.scope,
                    step_id="tag",
                    action="add_tag",
                    conversation_id=conversation.id,
                    output={"tags": conversation.tags},
                )
            )
            return list(conversation.tags)

    @activity.defn(name="bench_naive_auto_reply")
    def auto_reply(self, data: NaiveInput) -> str:
        message_id = f"{data.scope}:reply"
        with session_scope(self.engine) as session:
            if session.get(ActionEffectRow, (data.scope, "reply")) is not None:
                return message_id
            customer = data.event.customer
            session.add(
                MessageRow(
                    id=message_id,
                    conversation_id=data.event.conversation.id,
                    sender_type="automation",
                    content=REPLY.format(name=(customer.name if customer else None) or "there"),
                    source=f"{data.scope}:reply",
                )
            )
            session.add(
                ActionEffectRow(
                    scope=data.scope,
                    step_id="reply",
                    action="auto_reply",
                    conversation_id=data.event.conversation.id,
                    output={"message_id": message_id},
                )
            )
            return message_id

    @activity.defn(name="bench_naive_all")
    def all_steps(self, data: NaiveInput) -> str:
        """The batching lever: the three steps in one activity."""
        if not self.check(data):
            return "stopped"
        self.add_tag(data)
        self.auto_reply(data)
        return "completed"


# ---------------------------------------------------------------- workflows

_OPTIONS: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}


@workflow.defn(name="BenchFloor")
class FloorWorkflow:
    """Start -> complete: the cost of a run to Temporal itself."""

    @workflow.run
    async def run(self, event: Event) -> str:
        return event.id


@workflow.defn(name="BenchNaive")
class NaiveWorkflow:
    @workflow.run
    async def run(self, data: NaiveInput) -> str:
        if data.mode == "batched":
            result: str = await workflow.execute_activity_method(
                NaiveActivities.all_steps, data, **_OPTIONS
            )
            return result
        steps = (NaiveActivities.check, NaiveActivities.add_tag, NaiveActivities.auto_reply)
        for index, step in enumerate(steps):
            if data.mode == "local":
                outcome: Any = await workflow.execute_local_activity_method(step, data, **_OPTIONS)
            else:
                outcome = await workflow.execute_activity_method(step, data, **_OPTIONS)
            if index == 0 and not outcome:
                return "stopped"
        return "completed"


# ---------------------------------------------------------------- worker


def build_baseline_worker(
    client: Any, engine: Engine, task_queue: str, options: dict[str, Any]
) -> Any:
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from bench.harness import apply_poller_options

    options = dict(options)
    passthrough = options.pop("passthrough", ["definitions"])
    unsandboxed = options.pop("unsandboxed", False)
    passthrough_all = options.pop("passthrough_all", False)
    threads = int(options.pop("activity_threads", 32))
    runner: Any
    if unsandboxed:
        runner = UnsandboxedWorkflowRunner()
    else:
        restrictions = SandboxRestrictions.default.with_passthrough_modules(*passthrough)
        if passthrough_all:
            restrictions = restrictions.with_passthrough_all_modules()
        runner = SandboxedWorkflowRunner(restrictions=restrictions)
    activities = NaiveActivities(engine)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[FloorWorkflow, NaiveWorkflow],
        activities=[
            activities.check,
            activities.add_tag,
            activities.auto_reply,
            activities.all_steps,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=threads),
        workflow_runner=runner,
        **apply_poller_options(options),
    )


async def _serve(address: str, db_url: str, task_queue: str, options: dict[str, Any]) -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    client = await Client.connect(address, data_converter=pydantic_data_converter)
    engine = make_engine(db_url)
    worker = build_baseline_worker(client, engine, task_queue, options)
    await worker.run()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines")
    parser.add_argument("--address", required=True)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--options", default="{}")
    args = parser.parse_args()
    # Serve the workflows of the importable module `bench.baselines`, not of `__main__`: the
    # sandbox re-imports a workflow's module by name.
    from bench import baselines

    options = json.loads(args.options)
    asyncio.run(baselines._serve(args.address, args.db_url, args.task_queue, options))


if __name__ == "__main__":
    main()
