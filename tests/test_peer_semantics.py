# ruff: noqa: E501  (definitions and events read best as JSON-like literals)
"""Peer semantics: rules a Chatwoot or Zendesk admin writes, translated into supportflow
definitions and events (our own translation of Chatwoot's automation rules — labels, assignment,
custom attributes, message filters — and of Zendesk's trigger reference — "contains at least one /
none of the following words", priority "-", status transitions, all/any conditions).

Each scenario runs as a dry run AND as a real run (the machinery of tests/test_dry_run_parity.py:
one app and one worker on the dev server for every case); the two must agree, the outcome must be
what the admin expects, and where it matters the conversation afterwards must look as they expect.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests import runs_fixtures
from tests.runs_fixtures import RunsStack
from tests.test_dry_run_parity import Case, compare, directory, event, ingest, real_run

runs_stack = runs_fixtures.runs_stack

Outcome = str  # would_complete | would_stop | trigger_not_matched


@dataclass
class Scenario:
    name: str
    source: str  # what a Chatwoot / Zendesk admin would write
    trigger: dict[str, Any]
    steps: list[dict[str, Any]]
    event: dict[str, Any]
    expect: Outcome
    before: list[dict[str, Any]] = field(default_factory=list)
    after: Callable[[dict[str, Any]], bool] | None = None  # the conversation after the real run

    def case(self) -> Case:
        definition = {"name": self.name, "trigger": self.trigger, "steps": self.steps}
        return Case(self.name, definition, self.event, before=self.before)


def rule(
    field_: str, operator: str, value: Any = None, on_false: str = "stop", id_: str = "if"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": id_,
        "type": "condition",
        "field": field_,
        "operator": operator,
        "on_false": on_false,
    }
    if value is not None:
        body["value"] = value
    return body


def act(id_: str, action: str, **params: Any) -> dict[str, Any]:
    return {"id": id_, "type": "action", "action": action, "params": params}


def conversation_id() -> str:
    return f"c-{uuid.uuid4().hex[:12]}"


def known(conversation: dict[str, Any], **kw: Any) -> tuple[str, dict[str, Any]]:
    """A conversation the desk created 30 minutes ago (ingested before the scenario)."""
    cid = conversation_id()
    created = event(
        "conversation.created", conversation={"id": cid, **conversation}, minutes_ago=30, **kw
    )
    return cid, created


def _only_given(raw: dict[str, Any], conversation: dict[str, Any]) -> dict[str, Any]:
    """An event about a known conversation carries only the fields the scenario gives (the
    parity builder adds a subject and a team)."""
    raw["conversation"] = {"id": raw["conversation"]["id"], "channel": "whatsapp", **conversation}
    return raw


def updated(
    cid: str, conversation: dict[str, Any], changes: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    raw = event(
        "conversation.updated", conversation={"id": cid}, changes=changes, minutes_ago=1, **kw
    )
    return _only_given(raw, conversation)


def message(cid: str, content: str, customer_id: str | None = None, **kw: Any) -> dict[str, Any]:
    customer = {"id": customer_id} if customer_id else None
    conversation = kw.pop("conversation", {})
    raw = event(content=content, conversation={"id": cid}, customer=customer, minutes_ago=1, **kw)
    return _only_given(raw, conversation)


def scenarios() -> list[Scenario]:
    out: list[Scenario] = []
    vip_trigger = {"type": "conversation_updated", "fields": ["tags"], "tags_added": ["vip"]}
    vip_steps = [
        act("route", "route", team="vip-support"),
        act("prio", "set_priority", priority="high"),
    ]

    # ---- Chatwoot: labels added / removed ("conversation_updated" + label conditions)
    cid, created = known({"tags": ["billing"]})
    out.append(
        Scenario(
            "label-added-routes",
            "Chatwoot: when label vip is added, assign team VIP",
            vip_trigger,
            vip_steps,
            updated(
                cid,
                {"tags": ["billing", "vip"]},
                {"tags": {"from": ["billing"], "to": ["billing", "vip"]}},
            ),
            "would_complete",
            before=[created],
            after=lambda c: c["assignment"]["team"] == "vip-support" and c["priority"] == "high",
        )
    )
    cid, created = known({"tags": []})
    out.append(
        Scenario(
            "other-label-added",
            "Chatwoot: label vip added — but the label added is billing",
            vip_trigger,
            vip_steps,
            updated(cid, {"tags": ["billing"]}, {"tags": {"from": [], "to": ["billing"]}}),
            "trigger_not_matched",
            before=[created],
        )
    )
    cid, created = known({"tags": ["vip"], "priority": "high"})
    out.append(
        Scenario(
            "label-removed-clears-priority",
            "Chatwoot: when label vip is removed, set priority none",
            {"type": "conversation_updated", "tags_removed": ["vip"]},
            [act("none", "set_priority", priority=None)],
            updated(cid, {"tags": []}, {"tags": {"from": ["vip"], "to": []}}),
            "would_complete",
            before=[created],
            after=lambda c: c["priority"] is None and c["tags"] == [],
        )
    )
    cid, created = known({"tags": ["vip"]})
    out.append(
        Scenario(
            "label-removed-in-desk-stops-vip-rule",
            "Chatwoot: message created, label vip present → reply as VIP",
            {"type": "new_message", "sender_types": ["customer"]},
            [
                rule("conversation.tags", "contains", "vip"),
                act("vip-reply", "auto_reply", message="VIP line"),
            ],
            message(
                cid, "hello again", conversation={"tags": []}, customer_id=created["customer"]["id"]
            ),
            "would_stop",
            before=[created],
            after=lambda c: c["tags"] == [],
        )
    )
    # ---- Chatwoot: unassigned conversations
    unrouted = [
        rule("conversation.assignee_team", "is_not_set"),
        act("route", "route", team="support"),
    ]
    cid, created = known({"assignee_team": "billing", "assignee_agent": "cy"})
    out.append(
        Scenario(
            "unassigned-in-desk-gets-routed",
            "Chatwoot: message created and assignee team is not present → assign team",
            {"type": "new_message"},
            unrouted,
            message(
                cid,
                "anyone?",
                conversation={"assignee_team": None, "assignee_agent": None},
                customer_id=created["customer"]["id"],
            ),
            "would_complete",
            before=[created],
            after=lambda c: c["assignment"]["team"] == "support",
        )
    )
    cid, created = known({"assignee_team": "billing"})
    out.append(
        Scenario(
            "assignment-kept-when-omitted",
            "Chatwoot: same rule; the desk's event does not mention the assignee",
            {"type": "new_message"},
            unrouted,
            message(cid, "anyone?", customer_id=created["customer"]["id"]),
            "would_stop",
            before=[created],
            after=lambda c: c["assignment"]["team"] == "billing",
        )
    )
    cid, created = known({"assignee_team": "billing"})
    out.append(
        Scenario(
            "assignment-changed-trigger",
            "Chatwoot: conversation updated, assignee team changed → notify the new team",
            {"type": "conversation_updated", "fields": ["assignee_team"]},
            [
                rule("conversation.assignee_team", "is_set"),
                act("tell", "notify", team="support", message="Now yours: {{conversation.id}}"),
            ],
            updated(
                cid,
                {"assignee_team": "support"},
                {"assignee_team": {"from": "billing", "to": "support"}},
            ),
            "would_complete",
            before=[created],
        )
    )
    out.append(
        Scenario(
            "fields-filter-not-matched",
            "Chatwoot: conversation updated (assignee changed) — only tags changed",
            {"type": "conversation_updated", "fields": ["assignee_team", "assignee_agent"]},
            [act("tag", "add_tag", tags=["x"])],
            updated(conversation_id(), {"tags": ["a"]}, {"tags": {"from": [], "to": ["a"]}}),
            "trigger_not_matched",
        )
    )
    # ---- custom attributes (Chatwoot conversation / contact attributes)
    out.append(
        Scenario(
            "conversation-attribute-equals",
            "Chatwoot: conversation attribute order_type equals refund → add a private note",
            {"type": "new_message"},
            [
                rule("conversation.attributes.order_type", "equals", "REFUND"),
                act(
                    "note",
                    "add_note",
                    note="Refunds: 30 days, order {{conversation.attributes.order_id}}",
                ),
            ],
            event(
                content="where is my money",
                conversation={"attributes": {"order_type": "refund", "order_id": "A-7"}},
            ),
            "would_complete",
            after=lambda c: (
                c["messages"][-1]["sender_type"] == "note" and "A-7" in c["messages"][-1]["content"]
            ),
        )
    )
    out.append(
        Scenario(
            "contact-attribute-in",
            "Chatwoot: contact attribute plan is one of gold, platinum → tag priority-support",
            {"type": "new_conversation"},
            [
                rule("customer.attributes.plan", "in", ["gold", "platinum"]),
                act("tag", "add_tag", tags=["priority-support"]),
            ],
            event("conversation.created", customer={"attributes": {"plan": "Platinum"}}),
            "would_complete",
            after=lambda c: "priority-support" in c["tags"],
        )
    )
    out.append(
        Scenario(
            "set-attribute-then-read",
            "Chatwoot: set a custom attribute, a later condition reads it",
            {"type": "new_message"},
            [
                act("mark", "set_attribute", key="topic", value="{{message.content}}"),
                rule(
                    "conversation.attributes.topic",
                    "contains_any_word",
                    ["invoice"],
                    id_="is-invoice",
                ),
                act("tag", "add_tag", tags=["invoice"]),
            ],
            event(content="Invoice copy please"),
            "would_complete",
            after=lambda c: (
                c["attributes"] == {"topic": "Invoice copy please"} and "invoice" in c["tags"]
            ),
        )
    )
    # ---- message content: Chatwoot "contains" (substring) vs Zendesk words (whole words)
    out.append(
        Scenario(
            "chatwoot-contains-is-substring",
            "Chatwoot: message content contains refund (matches 'refunded')",
            {"type": "new_message"},
            [rule("message.content", "contains", "refund"), act("tag", "add_tag", tags=["refund"])],
            event(content="I was REFUNDED twice"),
            "would_complete",
        )
    )
    out.append(
        Scenario(
            "zendesk-any-word-is-whole",
            "Zendesk: comment text contains at least one of: refund",
            {"type": "new_message"},
            [
                rule("message.content", "contains_any_word", ["refund"]),
                act("tag", "add_tag", tags=["refund"]),
            ],
            event(content="I was REFUNDED twice"),
            "would_stop",
        )
    )
    out.append(
        Scenario(
            "zendesk-any-word-phrase",
            'Zendesk: contains at least one of: "money back" chargeback',
            {"type": "new_message"},
            [
                rule("message.content", "contains_any_word", ["money back", "chargeback"]),
                act("tag", "add_tag", tags=["refund"]),
            ],
            event(content="I want my MONEY back!"),
            "would_complete",
            after=lambda c: "refund" in c["tags"],
        )
    )
    out.append(
        Scenario(
            "zendesk-no-word",
            "Zendesk: contains none of: urgent asap → priority low",
            {"type": "new_message"},
            [
                rule("message.content", "contains_no_word", ["urgent", "asap"]),
                act("low", "set_priority", priority="low"),
            ],
            event(content="No rush, whenever you can"),
            "would_complete",
            after=lambda c: c["priority"] == "low",
        )
    )
    out.append(
        Scenario(
            "zendesk-no-word-unicode",
            "Zendesk: contains none of: dringend (German, Unicode word boundaries)",
            {"type": "new_message"},
            [
                rule("message.content", "contains_no_word", ["dringend"]),
                act("low", "set_priority", priority="low"),
            ],
            event(content="Das ist DRINGEND, bitte!"),
            "would_stop",
        )
    )
    # ---- priority "-" (none)
    out.append(
        Scenario(
            "priority-none-is-not-set",
            "Zendesk: priority is - → set priority normal",
            {"type": "new_conversation"},
            [
                rule("conversation.priority", "is_not_set"),
                act("normal", "set_priority", priority="normal"),
            ],
            event("conversation.created", conversation={"priority": None}),
            "would_complete",
            after=lambda c: c["priority"] == "normal",
        )
    )
    cid, created = known({"priority": "low"})
    out.append(
        Scenario(
            "priority-changed-to-urgent",
            "Zendesk: priority changed to urgent → notify the leads",
            {"type": "conversation_updated", "fields": ["priority"]},
            [
                rule("conversation.priority", "equals", "urgent"),
                act(
                    "page",
                    "notify",
                    team="support-leads",
                    message="Urgent: {{conversation.subject}}",
                ),
            ],
            updated(cid, {"priority": "urgent"}, {"priority": {"from": "low", "to": "urgent"}}),
            "would_complete",
            before=[created],
        )
    )
    # ---- status transitions (Zendesk "status changed from / to")
    cid, created = known({"tags": ["waiting-on-us"]})
    out.append(
        Scenario(
            "status-transition-reads-new-status",
            "Zendesk: status changed from open to solved, and status is solved → untag",
            {"type": "status_change", "transitions": [{"from": "open", "to": "resolved"}]},
            [
                rule("conversation.status", "equals", "resolved"),
                act("untag", "remove_tag", tags=["waiting-on-us"]),
            ],
            event(
                "conversation.status_changed",
                conversation={"id": cid},
                customer={"id": created["customer"]["id"]},
                from_status="open",
                to_status="resolved",
                minutes_ago=1,
            ),
            "would_complete",
            before=[created],
            after=lambda c: c["status"] == "resolved" and c["tags"] == [],
        )
    )
    out.append(
        Scenario(
            "status-transition-new-conversation",
            "Zendesk: same rule on a conversation seen first in the status change",
            {"type": "status_change", "to_statuses": ["resolved"]},
            [
                rule("conversation.status", "equals", "resolved"),
                rule("conversation.created_at", "is_set", id_="dated"),
                act("tag", "add_tag", tags=["done"]),
            ],
            event("conversation.status_changed", from_status="open", to_status="resolved"),
            "would_complete",
        )
    )
    out.append(
        Scenario(
            "status-transition-not-listed",
            "Zendesk: status changed from open to solved — it went pending to solved",
            {"type": "status_change", "transitions": [{"from": "open", "to": "resolved"}]},
            [act("tag", "add_tag", tags=["done"])],
            event("conversation.status_changed", from_status="pending", to_status="resolved"),
            "trigger_not_matched",
        )
    )
    # ---- AND / OR nesting (Zendesk "all" and "any"; Chatwoot AND/OR query operators)
    nested = {
        "all": [
            {
                "any": [
                    {"field": "conversation.channel", "operator": "equals", "value": "email"},
                    {"field": "conversation.inbox", "operator": "equals", "value": "billing-en"},
                ]
            },
            {"field": "customer.phone", "operator": "starts_with", "value": "+44"},
        ]
    }
    nested_steps = [
        {"id": "uk-billing", "type": "condition", **nested, "on_false": "skip_next"},
        act("route", "route", team="billing"),
        act("tag", "add_tag", tags=["seen"]),
    ]
    out.append(
        Scenario(
            "and-or-true",
            "Zendesk: all (phone starts +44) and any (channel email, inbox billing-en) → route billing",
            {"type": "new_conversation"},
            nested_steps,
            event(
                "conversation.created",
                conversation={"inbox": "billing-en"},
                customer={"phone": "+44 20 7946 0000"},
            ),
            "would_complete",
            after=lambda c: c["assignment"]["team"] == "billing" and c["inbox"] == "billing-en",
        )
    )
    out.append(
        Scenario(
            "and-or-false-skips",
            "Zendesk: same rule, a US phone: the route is skipped, the tag still added",
            {"type": "new_conversation"},
            nested_steps,
            event(
                "conversation.created",
                conversation={"inbox": "billing-en"},
                customer={"phone": "+1 555 0100"},
            ),
            "would_complete",
            after=lambda c: c["assignment"]["team"] == "support" and "seen" in c["tags"],
        )
    )
    # ---- last activity, notes and the loop guard
    out.append(
        Scenario(
            "last-activity",
            "Chatwoot: last activity at is set → add tag",
            {"type": "new_message"},
            [
                rule("conversation.last_activity_at", "is_set"),
                act("tag", "add_tag", tags=["active"]),
            ],
            event(content="hi"),
            "would_complete",
        )
    )
    out.append(
        Scenario(
            "private-note-matches-no-trigger",
            "Chatwoot: message created — a private note is not a message to react to",
            {"type": "new_message"},
            [act("reply", "auto_reply", message="Thanks!")],
            event(content="internal: customer called", sender="note"),
            "trigger_not_matched",
        )
    )
    out.append(
        Scenario(
            "loop-guard",
            "Chatwoot: automations do not trigger themselves forever",
            {"type": "conversation_updated"},
            [act("tag", "add_tag", tags=["x"])],
            updated(
                conversation_id(),
                {"tags": ["a"]},
                {"tags": {"from": [], "to": ["a"]}},
                causal_chain=[f"run:{i}" for i in range(6)],
            ),
            "trigger_not_matched",
        )
    )
    return out


async def test_peer_scenarios_agree_and_do_what_peers_expect(runs_stack: RunsStack) -> None:
    stack = runs_stack
    await directory(stack)
    problems: list[str] = []
    for scenario in scenarios():
        case = scenario.case()
        for raw in case.before:
            await ingest(stack, raw)
        created = await stack.admin.post("/workflows", json={**case.definition, "status": "draft"})
        assert created.status_code == 201, f"{scenario.name}: {created.text}"
        workflow_id = created.json()["id"]
        response = await stack.admin.post(
            f"/workflows/{workflow_id}/test", json={"event": case.event}
        )
        assert response.status_code == 200, response.text
        dry = response.json()
        if dry["outcome"] != scenario.expect:
            problems.append(
                f"{scenario.name} ({scenario.source}): dry run {dry['outcome']}, expected {scenario.expect}: {dry['summary']}"
            )
        problems += compare(case, dry, await real_run(stack, case, workflow_id))
        if scenario.after is not None:
            view = await stack.admin.get(f"/conversations/{case.event['conversation']['id']}")
            assert view.status_code == 200, view.text
            if not scenario.after(view.json()):
                problems.append(
                    f"{scenario.name} ({scenario.source}): conversation after the run: {view.json()}"
                )
    assert not problems, "\n".join(problems)


def test_the_suite_covers_the_language() -> None:
    all_ = scenarios()
    assert 20 <= len(all_) <= 30
    assert len({s.name for s in all_}) == len(all_)
    assert {s.expect for s in all_} == {"would_complete", "would_stop", "trigger_not_matched"}
    actions = {step["action"] for s in all_ for step in s.steps if step["type"] == "action"}
    assert {"remove_tag", "set_priority", "add_note", "set_attribute"} <= actions
