# ruff: noqa: E501  (sample definitions and events read best as JSON-like literals)
"""Parity: what the dry run (POST /workflows/{id}/test) says a definition would do is what a real
run does, on the dev server with the real worker: the same condition values and results, the same
steps run or skipped, the same outcome, the same actions with the same rendered text.

Every built-in template runs against sample events (one that goes through, one that stops or
skips), and so does a set of definitions covering every operator. Each case is dry-run first (the
conversation may or may not be in the desk store yet), then run for real: through ingestion
(`POST /events` with the definition active) for event triggers, and for sla_breach through the
same `WorkflowRun` input the SLA tracker starts. One app and one worker serve every case.

What only a real run can know (a ticket id, the agent a strategy picks) the dry run shows as a
stand-in ("<ticket id from step incident>"); the comparison puts the real value in its place.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from definitions.context import SlaInfo
from definitions.effects import stand_in
from definitions.events import Event
from definitions.gallery import list_templates
from definitions.runs import WORKFLOW_RUN, RunInput, RunResult, StepTrace
from definitions.schedules import WEEKDAYS
from desk.sentiment import fill_sentiment
from store import definitions_repo
from store.db import session_scope
from store.models import WorkflowDefinitionRow
from tests import runs_fixtures
from tests.runs_fixtures import RunsStack

runs_stack = runs_fixtures.runs_stack

AGENTS = ["ana", "bo", "cy", "dee", "sam", "lee"]
TEAMS: dict[str, dict[str, Any]] = {
    "sales": {"members": ["ana", "bo"], "supervisor": "sam"},
    "enterprise-success": {"members": ["cy"], "supervisor": "sam"},
    "support-leads": {"members": ["lee", "sam"], "supervisor": "sam"},
    "on-call": {"members": ["dee"], "supervisor": "lee"},
    "support": {"members": ["bo", "cy"], "supervisor": "lee"},
    "vip-support": {"members": ["ana"], "supervisor": "sam"},
    "billing": {"members": ["cy"], "supervisor": "lee"},
}

NOW = datetime.now(UTC).replace(microsecond=0)

#: Schedules built around the current UTC time (created by `directory`): open around the clock,
#: and closed today and the next two days (open only on the weekday three days from now).
OPEN, CLOSED = "parity-open", "parity-closed"
SCHEDULES: dict[str, dict[str, Any]] = {
    OPEN: {
        "name": "Always",
        "timezone": "UTC",
        "hours": {d: [["00:00", "24:00"]] for d in WEEKDAYS},
    },
    CLOSED: {
        "name": "Rarely",
        "timezone": "UTC",
        "hours": {WEEKDAYS[(NOW + timedelta(days=3)).weekday()]: [["09:00", "17:00"]]},
    },
}


@dataclass
class Case:
    name: str
    definition: dict[str, Any]
    event: dict[str, Any]
    sla: dict[str, Any] | None = None
    before: list[dict[str, Any]] = field(default_factory=list)  # ingested before the dry run
    # Sent while the real run waits; the dry run assumes what they decide (wait_for id: outcome).
    during: list[dict[str, Any]] = field(default_factory=list)
    assume: dict[str, str] = field(default_factory=dict)
    idle: bool = False  # started as the idle tracker starts it, like an SLA run


def event(
    type_: str = "message.created",
    *,
    content: str = "Hello",
    sender: str = "customer",
    conversation: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
    minutes_ago: float = 5,
    **extra: Any,
) -> dict[str, Any]:
    """A sample event on a fresh conversation (unless `conversation` names one)."""
    at = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    raw: dict[str, Any] = {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "type": type_,
        "occurred_at": at,
        "conversation": {
            "id": f"c-{uuid.uuid4().hex[:12]}",
            "channel": "whatsapp",
            "subject": "Help needed",
            "assignee_team": "support",
            **(conversation or {}),
        },
        "customer": {
            "id": f"u-{uuid.uuid4().hex[:8]}",
            "name": "Ada",
            "email": "ada@example.com",
            "lifecycle": "customer",
            **(customer or {}),
        },
        **extra,
    }
    if type_ == "message.created":
        raw["message"] = {
            "id": f"m-{uuid.uuid4().hex[:10]}",
            "sender_type": sender,
            "content": content,
            "created_at": at,
        }
    return raw


def short_waits(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with every wait shortened to 2 s, so a real run on the dev server ends."""
    shortened = json.loads(json.dumps(definition))

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            if step["type"] == "wait" and "for" in step:
                step["for"] = "2s"
            if step["type"] == "wait_for":
                step["timeout"] = "2s"
            if step["type"] == "branch":
                walk(step["then"])
                walk(step["else"])

    walk(shortened["steps"])
    return shortened


def reply_on(
    raw: dict[str, Any], content: str = "thanks, that worked", sender: str = "customer"
) -> dict[str, Any]:
    """A message (the customer's by default) on the conversation of `raw`, a moment later."""
    return event(
        content=content,
        sender=sender,
        conversation={"id": raw["conversation"]["id"]},
        customer={"id": raw["customer"]["id"]},
        minutes_ago=0,
    )


def template_cases() -> list[Case]:
    t = {template.id: template.definition.model_dump(mode="json") for template in list_templates()}
    lead = {"lifecycle": "lead", "plan": None}
    sla_first = {"type": "first_response", "elapsed_minutes": 35, "threshold": "30m"}
    sla_reply = {"type": "reply", "elapsed_minutes": 250, "threshold": "4h"}
    sla_resolution = {"type": "resolution", "elapsed_minutes": 2900, "threshold": "2d"}
    cases = [
        Case(
            "demo",
            t["demo-request-route"],
            event(
                content="Can I get a demo of the product?", conversation={"channel": "live_chat"}
            ),
        ),
        Case(
            "demo-tagged",
            t["demo-request-route"],
            event(
                content="I want a free trial",
                conversation={"channel": "email", "tags": ["demo-request"]},
            ),
        ),
        Case(
            "enterprise",
            t["enterprise-plan-routing"],
            event("conversation.created", customer={"plan": "enterprise"}),
        ),
        Case(
            "enterprise-attr",
            t["enterprise-plan-routing"],
            event("conversation.created", customer={"attributes": {"plan": "enterprise-plus"}}),
        ),
        Case(
            "enterprise-not",
            t["enterprise-plan-routing"],
            event("conversation.created", customer={"plan": "gold"}),
        ),
        Case(
            "first-sla",
            t["first-response-sla-breach-notify-leads"],
            event("conversation.created"),
            sla=sla_first,
        ),
        Case(
            "first-sla-resolved",
            t["first-response-sla-breach-notify-leads"],
            event("conversation.created", conversation={"status": "resolved"}),
            sla=sla_first,
        ),
        Case(
            "negative",
            t["negative-sentiment-escalate"],
            event(content="This is terrible, awful service"),
        ),
        Case(
            "negative-escalated",
            t["negative-sentiment-escalate"],
            event(content="This is terrible, awful service", conversation={"tags": ["escalated"]}),
        ),
        Case(
            "negative-happy",
            t["negative-sentiment-escalate"],
            event(content="Thanks, that was great!"),
        ),
        Case(
            "office-hours",
            t["office-hours-auto-reply"],
            event("conversation.created", conversation={"channel": "email", "subject": "Invoice"}),
        ),
        Case(
            "office-hours-assigned",
            t["office-hours-auto-reply"],
            event("conversation.created", conversation={"channel": "api", "assignee_agent": "bo"}),
        ),
        Case(
            "outage",
            t["outage-report-incident-ticket"],
            event(content="The app is down for everyone"),
        ),
        Case("password", t["password-reset-auto-reply"], event(content="I forgot my password")),
        Case(
            "pricing",
            t["pricing-question-notify-sales"],
            event(content="How much does the pro plan cost?", customer=lead),
        ),
        Case(
            "pricing-customer",
            t["pricing-question-notify-sales"],
            event(content="What is the price?", customer={"plan": "gold"}),
        ),
        Case(
            "refund-vip",
            t["refund-request-ticket"],
            event(content="I want a refund", customer={"segment": "vip"}),
        ),
        Case(
            "refund",
            t["refund-request-ticket"],
            event(content="Money back please", customer={"segment": "standard"}),
        ),
        Case(
            "reopened",
            t["reopened-conversation-route-back"],
            event(
                "conversation.status_changed",
                conversation={"assignee_team": None},
                from_status="resolved",
                to_status="open",
            ),
        ),
        Case(
            "reopened-assigned",
            t["reopened-conversation-route-back"],
            event("conversation.status_changed", from_status="closed", to_status="open"),
        ),
        Case(
            "reply-sla-vip",
            t["reply-sla-breach-nudge"],
            event("conversation.created", customer={"segment": "vip"}),
            sla=sla_reply,
        ),
        Case(
            "reply-sla",
            t["reply-sla-breach-nudge"],
            event("conversation.created", customer={"plan": "gold"}),
            sla=sla_reply,
        ),
        Case(
            "resolution-sla",
            t["resolution-sla-breach-escalate"],
            event("conversation.created"),
            sla=sla_resolution,
        ),
        Case(
            "resolution-sla-escalated",
            t["resolution-sla-breach-escalate"],
            event("conversation.created", conversation={"tags": ["escalated"]}),
            sla=sla_resolution,
        ),
        Case(
            "spam",
            t["spam-auto-close"],
            event(content="Earn with crypto: invest now for profit", customer=lead),
        ),
        Case(
            "spam-customer",
            t["spam-auto-close"],
            event(content="bitcoin invest profit", customer={"lifecycle": "customer"}),
        ),
        Case(
            "upgrade",
            t["upgrade-interest-ticket"],
            event(content="We want to upgrade to the next plan", customer={"plan": "gold"}),
        ),
        Case(
            "vip", t["vip-auto-route"], event("conversation.created", customer={"segment": "vip"})
        ),
        Case(
            "vip-lead",
            t["vip-auto-route"],
            event("conversation.created", customer={"segment": "vip", "lifecycle": "lead"}),
        ),
        Case(
            "website-lead",
            t["website-lead-route"],
            event(
                "conversation.created",
                conversation={"channel": "live_chat"},
                customer={"lifecycle": None},
            ),
        ),
        Case(
            "vip-tag",
            t["vip-tag-route"],
            event(
                "conversation.updated",
                conversation={"tags": ["vip"]},
                changes={"tags": {"from": [], "to": ["vip"]}},
            ),
        ),
        Case(
            "vip-tag-already-routed",
            t["vip-tag-route"],
            event(
                "conversation.updated",
                conversation={"tags": ["vip"], "assignee_team": "vip-support"},
                changes={"tags": {"from": [], "to": ["vip"]}},
            ),
        ),
        Case("refund-note", t["refund-policy-note"], event(content="Can I get my MONEY back?")),
        Case(
            "refund-note-noted",
            t["refund-policy-note"],
            event(
                content="refund please",
                conversation={"attributes": {"refund_requested": "earlier"}},
            ),
        ),
        Case(
            "tidy-up",
            t["resolved-clear-priority"],
            event(
                "conversation.status_changed",
                conversation={"tags": ["escalated", "billing"], "priority": "urgent"},
                from_status="open",
                to_status="resolved",
            ),
        ),
    ]
    pending = event("conversation.status_changed", from_status="open", to_status="pending")
    cases += [
        Case(
            "follow-up-no-answer",
            short_waits(t["pending-follow-up"]),
            event("conversation.status_changed", from_status="open", to_status="pending"),
        ),
        Case(
            "follow-up-answered",
            short_waits(t["pending-follow-up"]),
            pending,
            during=[reply_on(pending)],
            assume={"answer": "event"},
        ),
        Case(
            "survey",
            short_waits(t["resolved-satisfaction-survey"]),
            event("conversation.status_changed", from_status="open", to_status="resolved"),
        ),
        Case(
            "survey-spam",
            short_waits(t["resolved-satisfaction-survey"]),
            event(
                "conversation.status_changed",
                conversation={"tags": ["spam"]},
                from_status="open",
                to_status="resolved",
            ),
        ),
        Case(
            "idle-close",
            t["idle-auto-close"],
            event("conversation.created", conversation={"status": "pending"}),
            idle=True,
        ),
        Case(
            "idle-close-vip",
            t["idle-auto-close"],
            event(
                "conversation.created", conversation={"status": "open"}, customer={"segment": "vip"}
            ),
            idle=True,
        ),
    ]
    # Templates that read the clock, on schedules open now or closed now (`directory`).
    closed_hours = {**t["after-hours-reply"], "schedule": CLOSED}
    open_hours = {**t["after-hours-reply"], "schedule": OPEN}
    vip_wait = {**short_waits(t["vip-no-answer-escalate"]), "schedule": OPEN}
    vip_message = event(content="My invoice is wrong", customer={"segment": "vip"})
    pricing = event(content="What is the price for 10 seats?", customer=lead)
    cases += [
        Case("after-hours-closed", closed_hours, event("conversation.created")),
        Case("after-hours-open", open_hours, event("conversation.created")),
        Case(
            "vip-no-answer", vip_wait, event(content="Invoice wrong", customer={"segment": "vip"})
        ),
        Case(
            "vip-answered",
            vip_wait,
            vip_message,
            during=[reply_on(vip_message, "On it!", sender="agent")],
            assume={"answer": "event"},
        ),
        Case("vip-no-answer-not-vip", vip_wait, event(content="My invoice is wrong")),
        Case(
            "pricing-nudge",
            short_waits(t["pricing-lead-nudge"]),
            event(content="How much does it cost?", customer=lead),
        ),
        Case(
            "pricing-replied",
            short_waits(t["pricing-lead-nudge"]),
            pricing,
            during=[reply_on(pricing, "Thanks, we are checking")],
            assume={"reply": "event"},
        ),
        Case(
            "idle-remind",
            t["pending-idle-remind-team"],
            event("conversation.created", conversation={"status": "pending"}),
            idle=True,
        ),
        Case(
            "idle-remind-billing",
            t["pending-idle-remind-team"],
            event(
                "conversation.created",
                conversation={"status": "pending", "assignee_team": "billing"},
            ),
            idle=True,
        ),
        Case(
            "weekend-backlog",
            {**t["weekend-backlog-tag"], "schedule": OPEN},
            event("conversation.created"),
        ),
    ]
    covered = {case.definition["name"] for case in cases}
    assert covered == {d["name"] for d in t.values()}, "every template needs a case"
    return cases


def rule(field_: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field_, "operator": operator} | ({} if value is None else {"value": value})


#: Every operator, over every field type, each rule its own condition (on_false: continue), so
#: every value is compared whatever the others give.
OPERATOR_RULES = [
    rule("customer.segment", "equals", "vip"),
    rule("customer.segment", "not_equals", "vip"),
    rule("message.content", "contains", "refund"),
    rule("conversation.tags", "contains", "billing"),
    rule("conversation.tags", "not_contains", "spam"),
    rule("message.content", "starts_with", "hello"),
    rule("customer.email", "ends_with", "@example.com"),
    rule("message.content", "matches", r"\brefund\b"),
    rule("conversation.message_count", "greater_than", 1),
    rule("conversation.message_count", "greater_or_equal", 2),
    rule("conversation.waiting_minutes", "less_than", 60),
    rule("conversation.waiting_minutes", "greater_or_equal", 1),
    rule("message.sentiment_score", "less_or_equal", 0),
    rule("message.sentiment", "in", ["negative", "neutral"]),
    rule("conversation.channel", "not_in", ["email", "sms"]),
    rule("customer.plan", "is_set"),
    rule("conversation.assignee_agent", "is_not_set"),
    rule("conversation.created_at", "greater_than", "2020-01-01T00:00:00Z"),
    rule("customer.attributes.mrr", "greater_than", 1000),
    rule("customer.attributes.tier", "in", ["gold", "platinum"]),
    rule("conversation.status", "equals", "open"),
    rule("event.type", "equals", "message.created"),
]

OPERATORS_DEFINITION: dict[str, Any] = {
    "name": "Every operator",
    "trigger": {"type": "new_message", "sender_types": ["customer"]},
    "steps": [
        *[{"id": f"r{i}", "type": "condition", **r, "on_false": "continue"} for i, r in enumerate(OPERATOR_RULES)],
        {"id": "groups", "type": "condition", "any": [
            {"all": [rule("customer.segment", "equals", "vip"), rule("message.sentiment", "equals", "negative")]},
            rule("conversation.priority", "in", ["high", "urgent"]),
        ], "on_false": "skip_next"},
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["checked"]}},
        {"id": "route", "type": "action", "action": "route", "params": {"team": "sales", "strategy": "round_robin"}},
        {"id": "after", "type": "condition", "all": [
            rule("conversation.tags", "contains", "checked"),
            rule("conversation.assignee_team", "equals", "sales"),
            rule("conversation.assignee_agent", "is_set"),
        ], "on_false": "continue"},
        {"id": "ticket", "type": "action", "action": "create_ticket", "params": {
            "title": "{{customer.name}}: {{message.sentiment}} ({{message.sentiment_score}})",
            "description": "{{conversation.message_count}} messages, tags {{conversation.tags}}, agent {{steps.route.agent}}",
            "team": "support",
        }},
        {"id": "reply", "type": "action", "action": "auto_reply", "params": {
            "message": "Ticket {{steps.ticket.ticket_id}} for {{customer.attributes.tier | default: \"no tier\"}}",
        }},
        {"id": "count", "type": "condition", **rule("conversation.message_count", "greater_or_equal", 3), "on_false": "stop"},
        {"id": "close", "type": "action", "action": "change_status", "params": {"status": "pending"}},
    ],
}  # fmt: skip


def operator_cases() -> list[Case]:
    vip = {"segment": "vip", "plan": "gold", "attributes": {"mrr": 1200, "tier": "gold"}}
    known = event(
        "conversation.created", conversation={"tags": ["billing"]}, customer=vip, minutes_ago=30
    )
    first = event(
        content="hello, anyone there?",
        conversation={"id": known["conversation"]["id"]},
        customer={"id": known["customer"]["id"]},
        minutes_ago=20,
    )
    # The conversation is in the desk store (two events before): counts and waits come from there.
    follow_up = event(
        content="Hello? I want a refund, this is terrible",
        conversation={"id": known["conversation"]["id"], "subject": "Refund"},
        customer={"id": known["customer"]["id"]},
        minutes_ago=2,
    )
    fresh = event(
        content="hello, I want a refund", customer={"plan": None, "attributes": {"mrr": "900"}}
    )
    happy = event(
        content="Great service, thank you!",
        conversation={"channel": "email", "priority": "high"},
        customer=vip,
    )
    return [
        Case("operators-known", OPERATORS_DEFINITION, follow_up, before=[known, first]),
        Case("operators-fresh", OPERATORS_DEFINITION, fresh),
        Case("operators-happy", OPERATORS_DEFINITION, happy),
    ]


# ---------------------------------------------------------------- running both ways


async def directory(stack: RunsStack) -> None:
    for agent in AGENTS:
        response = await stack.admin.put(f"/agents/{agent}", json={"name": agent.title()})
        assert response.status_code in (200, 201), response.text
    for team, body in TEAMS.items():
        response = await stack.admin.put(f"/teams/{team}", json={"name": team, **body})
        assert response.status_code in (200, 201), response.text
    for schedule_id, schedule in SCHEDULES.items():
        response = await stack.admin.put(f"/schedules/{schedule_id}", json=schedule)
        assert response.status_code in (200, 201), response.text


async def ingest(stack: RunsStack, raw: dict[str, Any]) -> list[str]:
    response = await stack.integration.post("/events", json=raw)
    assert response.status_code == 202, response.text
    return list(response.json()["run_ids"])


async def real_run(stack: RunsStack, case: Case, workflow_id: str) -> RunResult | None:
    """Run the case for real; None when no run starts."""
    if case.sla is None and not case.idle:
        on = await stack.admin.patch(f"/workflows/{workflow_id}", json={"status": "active"})
        assert on.status_code == 200, on.text
        try:
            run_ids = [r for r in await ingest(stack, case.event) if f":{workflow_id}:" in r]
        finally:
            off = await stack.admin.patch(f"/workflows/{workflow_id}", json={"status": "draft"})
            assert off.status_code == 200, off.text
        if not run_ids:
            return None
        (run_id,) = run_ids
        for raw in case.during:
            await ingest(stack, raw)
    else:
        # What the SLA tracker starts on a breach or an idle period (activities/sla.py), for a
        # draft definition.
        await ingest(stack, case.event)
        with session_scope(stack.api.engine) as session:
            row = session.get(WorkflowDefinitionRow, workflow_id)
            assert row is not None
            definition, version = definitions_repo.definition_of(row), row.version
        run_id = f"parity:{workflow_id}:{case.event['id']}"
        run_input = RunInput(
            definition_id=workflow_id,
            definition_version=version,
            definition=definition,
            event=fill_sentiment(Event.model_validate(case.event)),
            sla=SlaInfo.model_validate(case.sla) if case.sla else None,
            idempotency_scope=run_id,
        )
        await stack.temporal.start_workflow(
            WORKFLOW_RUN, run_input, id=run_id, task_queue=stack.settings.task_queue
        )
    await stack.wait_closed(run_id)
    result: RunResult = await stack.temporal.get_workflow_handle(run_id).query(
        "trace", result_type=RunResult
    )
    return result


def real_values(trace: list[StepTrace]) -> dict[str, str]:
    """Each stand-in of the dry run, mapped to what the real run produced."""
    values: dict[str, str] = {}
    for step in trace:
        for name, value in (step.output or {}).items():
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            values[stand_in(step.step_id, name)] = text
    return values


def filled(value: Any, values: dict[str, str]) -> Any:
    if not isinstance(value, str):
        return value
    for stand, real in values.items():
        value = value.replace(stand, real)
    return value


def close_enough(field_: str, dry: Any, real: Any) -> bool:
    # The real run reads the clock a moment after the dry run did.
    if field_ == "conversation.waiting_minutes" and dry is not None and real is not None:
        return abs(float(dry) - float(real)) <= 0.5
    return bool(dry == real)


def compare(case: Case, dry: dict[str, Any], real: RunResult | None) -> list[str]:
    """The differences between the dry run's report and the real run's trace, in words."""
    if not dry["trigger"]["matched"]:
        return [] if real is None else [f"{case.name}: dry run says no match, a run started"]
    if real is None:
        return [f"{case.name}: dry run says the trigger matches, no run started"]
    problems: list[str] = []
    expected_outcome = {"would_complete": "completed", "would_stop": "stopped"}[dry["outcome"]]
    if (expected_outcome, dry["stopped_at"]) != (real.outcome, real.stopped_at):
        problems.append(
            f"{case.name}: outcome {dry['outcome']} at {dry['stopped_at']} vs {real.outcome} "
            f"at {real.stopped_at} ({real.error})"
        )
    values = real_values(real.steps)
    dry_steps = [
        s for s in dry["steps"] if not (s["reason"] or "").startswith("the run would stop")
    ]
    status = {
        "passed": "passed",
        "failed": "failed",
        "would_run": "completed",
        "would_wait": "completed",
        "skipped": "skipped",
    }
    dry_walk = [
        (s["step_id"], status[s["status"]]) for s in dry_steps if s["status"] != "not_taken"
    ]
    real_walk = [(s.step_id, s.status) for s in real.steps]
    if dry_walk != real_walk:
        problems.append(f"{case.name}: steps {dry_walk} vs {real_walk}")
        return problems
    ran = [s for s in dry_steps if s["status"] != "not_taken"]
    for d, r in zip(ran, real.steps, strict=True):
        where = f"{case.name}/{d['step_id']}"
        if d["step_type"] == "condition" and d["status"] != "skipped":
            assert r.condition is not None
            for dr, rr in zip(d["rules"], r.condition.rules, strict=True):
                same = (dr["field"], dr["operator"], dr["expected"], dr["result"]) == (
                    rr.field,
                    rr.operator,
                    rr.expected,
                    rr.result,
                ) and close_enough(dr["field"], filled(dr["resolved"], values), rr.actual)
                if not same:
                    problems.append(f"{where}: rule {dr} vs {rr.model_dump()}")
        if d["status"] == "would_run":
            rendered = r.rendered or {}
            dry_text = {k: filled(v, values) for k, v in d["rendered"].items()}
            if dry_text != {k: rendered[k] for k in dry_text}:
                problems.append(f"{where}: rendered {dry_text} vs {rendered}")
            others = {k: v for k, v in rendered.items() if k not in dry_text and v is not None}
            if d["params"] != others:
                problems.append(f"{where}: params {d['params']} vs {others}")
    return problems


async def check(stack: RunsStack, cases: list[Case]) -> None:
    await directory(stack)
    problems: list[str] = []
    outcomes: dict[str, str] = {}
    for case in cases:
        for raw in case.before:
            await ingest(stack, raw)
        created = await stack.admin.post(
            "/workflows", json={**case.definition, "name": case.name, "status": "draft"}
        )
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
        body: dict[str, Any] = (
            {"event": case.event}
            | ({"sla": case.sla} if case.sla else {})
            | ({"assume": case.assume} if case.assume else {})
        )
        response = await stack.admin.post(f"/workflows/{workflow_id}/test", json=body)
        assert response.status_code == 200, response.text
        dry = response.json()
        outcomes[case.name] = dry["outcome"]
        problems += compare(case, dry, await real_run(stack, case, workflow_id))
    assert not problems, "\n".join(problems)
    # The samples exercise both ways out of a condition, not only the happy path.
    assert {"would_complete", "would_stop"} <= set(outcomes.values()), outcomes


async def test_every_template_does_what_its_dry_run_says(runs_stack: RunsStack) -> None:
    await check(runs_stack, template_cases())


async def test_every_operator_reads_the_same_values_in_a_dry_run_and_a_real_run(
    runs_stack: RunsStack,
) -> None:
    await check(runs_stack, operator_cases())
