# ruff: noqa: E501  (tables read best one case per line)
"""Saving a definition: every kind of bad definition is rejected with a pydantic location that
names the offending field; good ones (nested groups, placeholders, attributes) are accepted."""

from typing import Any

import pytest
from pydantic import ValidationError

from definitions.models import ConditionStep, WorkflowDefinitionIn

NEW_CONVERSATION = {"type": "new_conversation"}
REPLY = {"id": "reply", "type": "action", "action": "auto_reply", "params": {"message": "Hi"}}


def definition(
    *steps: dict[str, Any], trigger: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "name": "Test",
        "trigger": trigger or NEW_CONVERSATION,
        "steps": list(steps) or [REPLY],
        **extra,
    }


def rule(field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"id": "check", "type": "condition", "field": field, "operator": operator, **extra}
    if value is not None:
        body["value"] = value
    return body


def group(kind: str, *members: dict[str, Any]) -> dict[str, Any]:
    return {"id": "check", "type": "condition", kind: list(members)}


def member(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "operator": operator, **({} if value is None else {"value": value})}


def reply(message: str, id_: str = "reply") -> dict[str, Any]:
    return {"id": id_, "type": "action", "action": "auto_reply", "params": {"message": message}}


def ticket(id_: str = "ticket") -> dict[str, Any]:
    return {"id": id_, "type": "action", "action": "create_ticket", "params": {"title": "T"}}


def route(**params: Any) -> dict[str, Any]:
    return {"id": "route", "type": "action", "action": "route", "params": params}


def notify(**params: Any) -> dict[str, Any]:
    return {"id": "notify", "type": "action", "action": "notify", "params": params}


def sla(threshold: Any) -> dict[str, Any]:
    return {"type": "sla_breach", "sla_type": "first_response", "threshold": threshold}


C = ("steps", 0, "condition")
ROUTE_PARAMS = ("steps", 0, "action", "route", "params")
NOTIFY_PARAMS = ("steps", 0, "action", "notify", "params")
IN_ALL = (*C, "all", 0, "rule")

# (case id, definition, expected error location, a fragment of the message)
# fmt: off
REJECTED: list[tuple[str, dict[str, Any], tuple[Any, ...], str]] = [
    # unknown fields
    ("unknown-field", definition(rule("customer.nam", "equals", "x")), (*C, "field"), "unknown field 'customer.nam'"),
    ("unknown-field-in-group", definition(group("all", member("ticket.id", "is_set"))), (*IN_ALL, "field"), "unknown field"),
    ("attributes-without-key", definition(rule("customer.attributes.", "is_set")), (*C, "field"), "unknown field"),
    ("attributes-bad-key", definition(rule("customer.attributes.a b", "is_set")), (*C, "field"), "unknown field"),
    ("steps-are-not-condition-fields", definition(rule("steps.x.ticket_id", "is_set")), (*C, "field"), "unknown field"),
    # operator does not fit the field type
    ("order-on-text", definition(rule("customer.name", "greater_than", "x")), (*C, "operator"), "does not fit field 'customer.name'"),
    ("text-op-on-number", definition(rule("conversation.message_count", "contains", "1")), (*C, "operator"), "(number)"),
    ("matches-on-datetime", definition(rule("conversation.created_at", "matches", "2026")), (*C, "operator"), "(datetime)"),
    ("equals-on-list", definition(rule("conversation.tags", "equals", "vip")), (*C, "operator"), "(list)"),
    ("membership-on-datetime", definition(rule("conversation.created_at", "in", ["2026-01-01"])), (*C, "operator"), "does not fit"),
    ("unknown-operator", definition(rule("customer.name", "looks_like", "x")), (*C, "operator"), "Input should be"),
    ("operator-in-group", definition(group("any", member("message.sentiment_score", "starts_with", "-"))), ("steps", 0, "condition", "any", 0, "rule", "operator"), "does not fit"),
    # value of the wrong type
    ("text-for-number", definition(rule("conversation.message_count", "greater_than", "3")), (*C, "value"), "is a number"),
    ("bool-for-number", definition(rule("conversation.waiting_minutes", "equals", True)), (*C, "value"), "is a number"),
    ("number-for-text", definition(rule("customer.name", "equals", 5)), (*C, "value"), "is text"),
    ("number-for-list", definition(rule("conversation.tags", "contains", 5)), (*C, "value"), "a list of texts"),
    ("not-a-datetime", definition(rule("conversation.created_at", "less_than", "yesterday")), (*C, "value"), "not an ISO-8601 datetime"),
    ("number-for-datetime", definition(rule("conversation.created_at", "less_than", 5)), (*C, "value"), "is a datetime"),
    ("missing-value", definition(rule("customer.segment", "equals")), (*C, "value"), "needs a value"),
    ("missing-value-in-group", definition(group("all", member("customer.segment", "equals"))), (*IN_ALL, "value"), "needs a value"),
    ("value-for-is_set", definition(rule("customer.email", "is_set", "x")), (*C, "value"), "takes no value"),
    ("scalar-for-in", definition(rule("customer.plan", "in", "gold")), (*C, "value"), "non-empty list"),
    ("empty-list-for-in", definition(rule("customer.plan", "not_in", [])), (*C, "value"), "non-empty list"),
    ("wrong-item-for-in", definition(rule("conversation.message_count", "in", [1, "2"])), (*C, "value"), "is a number"),
    ("attribute-order-on-text", definition(rule("customer.attributes.mrr", "greater_than", "lots")), (*C, "value"), "needs a number"),
    ("attribute-list-value", definition(rule("customer.attributes.plan", "equals", ["gold"])), (*C, "value"), "needs a text"),
    ("value-with-a-group", definition({**group("all", member("customer.email", "is_set")), "value": "x"}), C, "either a single rule"),
    # values outside an enum field's vocabulary
    ("channel-not-in-vocabulary", definition(rule("conversation.channel", "equals", "fax")), (*C, "value"), "not a possible value of 'conversation.channel'"),
    ("status-not-in-vocabulary", definition(rule("conversation.status", "not_equals", "done")), (*C, "value"), "open, pending"),
    ("priority-item-not-in-vocabulary", definition(rule("conversation.priority", "in", ["high", "critical"])), (*C, "value"), "'critical'"),
    ("sentiment-not-in-vocabulary", definition(rule("message.sentiment", "equals", "angry")), (*C, "value"), "positive, neutral, negative"),
    ("sla-type-not-in-vocabulary", definition(rule("sla.type", "equals", "response")), (*C, "value"), "first_response"),
    ("event-type-not-in-vocabulary", definition(rule("event.type", "equals", "message")), (*C, "value"), "message.created"),
    ("sender-not-in-vocabulary", definition(rule("message.sender_type", "in", ["bot"])), (*C, "value"), "'bot'"),
    ("enum-in-nested-group", definition(group("any", {"all": [member("conversation.status", "equals", "opn")]})), (*C, "any", 0, "all", "all", 0, "rule", "value"), "'opn'"),
    # invalid RE2
    ("regex-unbalanced", definition(rule("message.content", "matches", "(refund")), (*C, "value"), "invalid RE2 regular expression '(refund': missing )"),
    ("regex-lookbehind", definition(rule("message.content", "matches", "(?<=a)b")), (*C, "value"), "invalid RE2"),
    ("regex-backreference", definition(rule("message.content", "matches", r"(a)\1")), (*C, "value"), "invalid RE2"),
    ("regex-not-text", definition(rule("message.content", "matches", 5)), (*C, "value"), "regular expression string"),
    ("content-pattern-invalid", definition(trigger={"type": "new_message", "content_patterns": ["refund", "(?<!no )refund"]}), ("trigger", "new_message", "content_patterns", 1), "invalid RE2"),
    ("content-pattern-empty", definition(trigger={"type": "new_message", "content_patterns": [""]}), ("trigger", "new_message", "content_patterns", 0), "at least 1 character"),
    # placeholders
    ("unknown-placeholder", definition(reply("Hi {{customer.nme}}")), ("steps", 0, "params", "message"), "unknown placeholder {{customer.nme}}"),
    ("unknown-placeholder-in-ticket", definition({**ticket(), "params": {"title": "T", "description": "{{conversation.sla}}"}}), ("steps", 0, "params", "description"), "unknown placeholder"),
    ("unknown-placeholder-in-escalate", definition({"id": "e", "type": "action", "action": "escalate", "params": {"reason": "{{reason}}"}}), ("steps", 0, "params", "reason"), "unknown placeholder"),
    ("placeholder-to-later-step", definition(reply("#{{steps.ticket.ticket_id}}"), ticket()), ("steps", 0, "params", "message"), "not an earlier action step"),
    ("placeholder-to-missing-step", definition(ticket(), reply("#{{steps.tikcet.ticket_id}}")), ("steps", 1, "params", "message"), "'tikcet'"),
    ("placeholder-to-itself", definition(reply("{{steps.reply.message_id}}")), ("steps", 0, "params", "message"), "not an earlier action step"),
    ("placeholder-to-condition", definition(rule("customer.email", "is_set"), reply("{{steps.check.result}}")), ("steps", 1, "params", "message"), "not an earlier action step"),
    ("placeholder-unknown-output", definition(ticket(), reply("{{steps.ticket.number}}")), ("steps", 1, "params", "message"), "has no output 'number'; it has: ticket_id, title"),
    ("placeholder-step-without-output", definition(ticket(), reply("{{steps.ticket}}")), ("steps", 1, "params", "message"), "steps.<step id>.<output>"),
    ("placeholder-unknown-filter", definition(reply("Hi {{customer.name | upper}}")), ("steps", 0, "params", "message"), "malformed placeholder"),
    ("placeholder-default-unquoted", definition(reply("Hi {{customer.name | default: there}}")), ("steps", 0, "params", "message"), "malformed placeholder"),
    ("placeholder-code", definition(reply("{{ __import__('os') }}")), ("steps", 0, "params", "message"), "malformed placeholder"),
    ("placeholder-empty", definition(reply("Hi {{}}")), ("steps", 0, "params", "message"), "malformed placeholder"),
    ("placeholder-unclosed", definition(reply("Hi {{customer.name")), ("steps", 0, "params", "message"), "unclosed placeholder"),
    # step ids
    ("duplicate-step-id", definition(reply("a", "same"), reply("b", "same")), ("steps", 1, "id"), "duplicate step id 'same'"),
    ("duplicate-condition-id", definition(rule("customer.email", "is_set"), {**ticket("check")}), ("steps", 1, "id"), "duplicate step id 'check'"),
    ("bad-step-id", definition(reply("a", "no spaces")), ("steps", 0, "action", "auto_reply", "id"), "pattern"),
    ("no-steps", {"name": "T", "trigger": NEW_CONVERSATION, "steps": []}, ("steps",), "at least 1 item"),
    # route / notify targets
    ("route-both", definition(route(agent="a-1", team="t-1")), ROUTE_PARAMS, "exactly one of 'agent' or 'team'"),
    ("route-neither", definition(route(strategy="round_robin")), ROUTE_PARAMS, "exactly one of 'agent' or 'team'"),
    ("route-strategy-for-agent", definition(route(agent="a-1", strategy="least_busy")), ROUTE_PARAMS, "needs a 'team'"),
    ("route-unknown-strategy", definition(route(team="t-1", strategy="random")), (*ROUTE_PARAMS, "strategy"), "Input should be"),
    ("notify-both", definition(notify(agent="a-1", team="t-1", message="x")), NOTIFY_PARAMS, "exactly one of 'agent' or 'team'"),
    ("notify-neither", definition(notify(message="x")), NOTIFY_PARAMS, "exactly one of 'agent' or 'team'"),
    ("notify-no-message", definition(notify(team="t-1")), (*NOTIFY_PARAMS, "message"), "Field required"),
    # other action params
    ("add-tag-empty", definition({"id": "t", "type": "action", "action": "add_tag", "params": {"tags": []}}), ("steps", 0, "action", "add_tag", "params", "tags"), "at least 1 item"),
    ("change-status-unknown", definition({"id": "s", "type": "action", "action": "change_status", "params": {"status": "done"}}), ("steps", 0, "action", "change_status", "params", "status"), "Input should be"),
    ("ticket-priority-unknown", definition({**ticket(), "params": {"title": "T", "priority": "p1"}}), ("steps", 0, "action", "create_ticket", "params", "priority"), "Input should be"),
    ("unknown-action", definition({"id": "x", "type": "action", "action": "send_sms", "params": {}}), ("steps", 0, "action"), "does not match any of the expected tags"),
    ("unknown-step-type", definition({"id": "x", "type": "loop"}), ("steps", 0), "must be one of: condition, action, wait, wait_for, branch, stop"),
    # durations
    *[
        (f"duration-{text or 'empty'}", definition(trigger=sla(text)), ("trigger", "sla_breach", "threshold"), message)
        for text, message in [
            ("5x", "invalid duration '5x'"), ("0m", "longer than zero"), ("", "invalid duration ''"),
            ("P", "invalid duration 'P'"), ("PT", "invalid duration"), ("P1DT", "invalid duration"),
            ("-5m", "invalid duration"), ("5", "invalid duration"), ("366d", "at most 365 days"),
            ("99999999999999999999d", "at most 365 days"),
        ]
    ],
    ("duration-not-text", definition(trigger=sla(30)), ("trigger", "sla_breach", "threshold"), "valid string"),
    ("sla-type-unknown", definition(trigger={**sla("30m"), "sla_type": "response"}), ("trigger", "sla_breach", "sla_type"), "Input should be"),
    # triggers
    ("unknown-trigger", definition(trigger={"type": "schedule"}), ("trigger",), "does not match any of the expected tags"),
    ("unknown-channel", definition(trigger={"type": "new_conversation", "channels": ["email", "fax"]}), ("trigger", "new_conversation", "channels", 1), "Input should be"),
    ("automation-is-not-a-trigger-sender", definition(trigger={"type": "new_message", "sender_types": ["automation"]}), ("trigger", "new_message", "sender_types", 0), "Input should be"),
    ("unknown-transition-status", definition(trigger={"type": "status_change", "transitions": [{"from": "open", "to": "done"}]}), ("trigger", "status_change", "transitions", 0, "to"), "Input should be"),
    # extra keys, everywhere
    ("extra-top-level", definition(owner="me"), ("owner",), "Extra inputs are not permitted"),
    ("extra-in-trigger", definition(trigger={"type": "new_conversation", "segment": "vip"}), ("trigger", "new_conversation", "segment"), "Extra inputs"),
    ("extra-in-condition", definition(rule("customer.email", "is_set", when="now")), (*C, "when"), "Extra inputs"),
    ("extra-in-group-member", definition(group("all", {**member("customer.email", "is_set"), "not": True})), (*IN_ALL, "not"), "Extra inputs"),
    ("extra-in-params", definition(route(team="t-1", queue="q")), (*ROUTE_PARAMS, "queue"), "Extra inputs"),
    ("extra-in-transition", definition(trigger={"type": "status_change", "transitions": [{"from": "open", "to": "closed", "by": "x"}]}), ("trigger", "status_change", "transitions", 0, "by"), "Extra inputs"),
    # condition shape
    ("rule-and-group", definition({**rule("customer.email", "is_set"), "all": [member("customer.name", "is_set")]}), C, "exactly one of them"),
    ("neither-rule-nor-group", definition({"id": "check", "type": "condition"}), C, "exactly one of them"),
    ("rule-without-operator", definition({"id": "check", "type": "condition", "field": "customer.name"}), C, "needs both 'field' and 'operator'"),
    ("empty-group", definition(group("all")), (*C, "all"), "at least 1 item"),
    ("empty-nested-group", definition(group("any", {"all": []})), (*C, "any", 0, "all", "all"), "at least 1 item"),
    ("both-kinds-in-one-group", definition(group("all", {"all": [member("customer.name", "is_set")], "any": [member("customer.name", "is_set")]})), (*IN_ALL[:-1], "all", "any"), "Extra inputs"),
    ("unknown-on-false", definition(rule("customer.email", "is_set", on_false="retry")), (*C, "on_false"), "'stop', 'continue' or 'skip_next'"),
    ("name-empty", {**definition(), "name": ""}, ("name",), "at least 1 character"),
    ("status-unknown", definition(status="paused"), ("status",), "'draft' or 'active'"),
]
# fmt: on


@pytest.mark.parametrize(
    ("raw", "loc", "message"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_rejected_with_location(raw: dict[str, Any], loc: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WorkflowDefinitionIn.model_validate(raw)
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [loc], errors
    assert message in errors[0]["msg"]


def test_rejected_case_ids_are_unique() -> None:
    ids = [case[0] for case in REJECTED]
    assert len(ids) == len(set(ids))


def test_definition_survives_a_json_round_trip() -> None:
    raw = definition(
        group(
            "all",
            member("customer.segment", "equals", "VIP"),
            {"any": [member("conversation.channel", "in", ["WhatsApp"])]},
        ),
        trigger={"type": "status_change", "transitions": [{"from": "resolved", "to": "open"}]},
    )
    parsed = WorkflowDefinitionIn.model_validate(raw)
    again = WorkflowDefinitionIn.model_validate_json(parsed.model_dump_json())
    assert again == parsed
    assert parsed.model_dump(mode="json")["trigger"]["transitions"] == [
        {"from": "resolved", "to": "open"}
    ]


# fmt: off
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("spec-example", {
        "name": "VIP Customer Auto-Route",
        "description": "Send VIP customers on WhatsApp straight to the VIP team",
        "status": "active",
        "trigger": {"type": "new_conversation", "channels": ["whatsapp"], "customer_segments": ["vip"]},
        "steps": [
            {"id": "is-customer", "type": "condition", "field": "customer.lifecycle",
             "operator": "equals", "value": "customer", "on_false": "stop"},
            {"id": "route", "type": "action", "action": "route", "params": {"team": "vip-support"}},
            {"id": "greet", "type": "action", "action": "auto_reply",
             "params": {"message": "Hi {{customer.name | default: \"there\"}}, a VIP specialist is on the way."}},
        ],
    }),
    ("nested-groups-three-deep", definition(group(
        "any",
        {"all": [member("customer.segment", "equals", "vip"), {"any": [
            member("message.sentiment", "equals", "Negative"),
            member("message.sentiment_score", "less_than", -0.5),
            {"all": [member("conversation.tags", "contains", "billing"), member("conversation.waiting_minutes", "greater_or_equal", 30)]},
        ]}]},
        member("customer.attributes.mrr", "greater_than", 1000),
    ))),
    ("enum-values-any-case", definition(rule("conversation.channel", "in", ["WhatsApp", "EMAIL"]))),
    ("text-ops-on-enum-field-take-any-text", definition(rule("conversation.channel", "contains", "chat"))),
    ("presence-without-value", definition(rule("conversation.assignee_team", "is_not_set"))),
    ("number-values", definition(rule("conversation.message_count", "in", [1, 2.5]))),
    ("datetime-value", definition(rule("conversation.created_at", "greater_than", "2026-01-01T00:00:00Z"))),
    ("attribute-values", definition(rule("customer.attributes.beta_user", "equals", True))),
    ("attribute-with-dash", definition(rule("customer.attributes.account-tier", "in", ["gold", 3]))),
    ("regex-rule", definition(rule("message.content", "matches", r"(?i)order\s+#?\d+"))),
    ("placeholders-everywhere", definition(
        {"id": "ticket", "type": "action", "action": "create_ticket", "params": {
            "title": "Refund: {{conversation.subject | default: 'no subject'}}",
            "description": "{{customer.name}} <{{customer.email}}> wrote: {{message.content}}\nTags: {{conversation.tags}}",
            "priority": "high", "team": "billing"}},
        {"id": "tell", "type": "action", "action": "notify", "params": {
            "team": "billing", "message": "Ticket {{ steps.ticket.ticket_id }} ({{steps.ticket.title}}) for {{customer.attributes.plan | default: \"no plan\"}}"}},
        {"id": "esc", "type": "action", "action": "escalate", "params": {
            "reason": "SLA {{sla.type}} after {{sla.elapsed_minutes}} min; notified {{steps.tell.recipients}}"}},
        reply("Done: {{steps.esc.agent | default: \"a supervisor\"}}"),
    )),
    ("braces-without-placeholders", definition(reply("Use { and } freely: {x}"))),
    ("all-triggers-options", definition(trigger={"type": "new_message", "sender_types": ["customer", "ai"], "content_patterns": ["refund|money back", "cancel(l)?ation"], "channels": ["email"]})),
    ("status-change-options", definition(trigger={"type": "status_change", "from_statuses": ["resolved", "closed"], "to_statuses": ["open"]})),
    *[(f"duration-{text}", definition(trigger=sla(text))) for text in ["45s", "30m", "4h", "2d", "PT30M", "P1DT2H", "365d"]],
    ("every-on-false", definition(
        {**rule("customer.email", "is_set"), "id": "a", "on_false": "stop"},
        {**rule("customer.email", "is_set"), "id": "b", "on_false": "continue"},
        {**rule("customer.email", "is_set"), "id": "c", "on_false": "skip_next"},
        reply("x"),
    )),
]
# fmt: on


@pytest.mark.parametrize("raw", [case[1] for case in ACCEPTED], ids=[case[0] for case in ACCEPTED])
def test_accepted(raw: dict[str, Any]) -> None:
    WorkflowDefinitionIn.model_validate(raw)


def test_condition_step_defaults_to_stop() -> None:
    step = ConditionStep.model_validate(rule("customer.email", "is_set"))
    assert step.on_false == "stop"
