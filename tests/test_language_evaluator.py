"""The pure evaluator over the run context: single rules, nested all/any groups, and the trace
of every rule (each resolved value and result, even after a group is decided)."""

from typing import Any

import pytest

from definitions.context import ConversationState, CustomerState, SlaInfo, build_context
from definitions.evaluator import evaluate_condition
from definitions.events import Event
from definitions.models import ConditionStep

EVENT = Event.model_validate(
    {
        "id": "evt-1",
        "type": "message.created",
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": {"id": "c-1", "channel": "whatsapp"},
        "customer": {"id": "u-1"},
        "message": {
            "id": "m-1",
            "sender_type": "customer",
            "content": "I want a REFUND for order 1234",
            "sentiment": "negative",
            "sentiment_score": -0.8,
        },
    }
)
CONVERSATION = ConversationState(
    id="c-1",
    channel="whatsapp",
    status="open",
    priority="high",
    subject="Refund",
    tags=["billing", "VIP"],
    message_count=4,
    waiting_minutes=42.5,
    created_at="2026-11-27T09:00:00Z",  # type: ignore[arg-type]
)
CUSTOMER = CustomerState(
    id="u-1",
    name="Ada",
    segment="vip",
    lifecycle="customer",
    attributes={"plan": "gold", "mrr": 1500, "beta": True},
)
SLA = SlaInfo(type="first_response", elapsed_minutes=35, threshold="30m")
CONTEXT = build_context(CONVERSATION, CUSTOMER, EVENT, SLA, {"ticket": {"ticket_id": "T-1"}})


def step(**condition: Any) -> ConditionStep:
    return ConditionStep.model_validate({"id": "c", "type": "condition", **condition})


def r(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "operator": operator, **({} if value is None else {"value": value})}


# Every catalogue section resolves from the context.
@pytest.mark.parametrize(
    ("rule", "result"),
    [
        (r("conversation.channel", "equals", "WhatsApp"), True),
        (r("conversation.status", "in", ["open", "pending"]), True),
        (r("conversation.priority", "equals", "urgent"), False),
        (r("conversation.subject", "contains", "refund"), True),
        (r("conversation.tags", "contains", "vip"), True),
        (r("conversation.assignee_team", "is_not_set"), True),
        (r("conversation.message_count", "greater_or_equal", 4), True),
        (r("conversation.waiting_minutes", "greater_than", 45), False),
        (r("conversation.created_at", "less_than", "2026-11-27T09:30:00Z"), True),
        (r("conversation.id", "equals", "c-1"), True),
        (r("customer.name", "starts_with", "ad"), True),
        (r("customer.segment", "equals", "VIP"), True),
        (r("customer.email", "is_not_set"), True),
        (
            r("customer.plan", "equals", "gold"),
            True,
        ),  # a plan sent as a custom attribute is the plan
        (r("customer.attributes.plan", "in", ["gold", "platinum"]), True),
        (r("customer.attributes.mrr", "greater_than", 1000), True),
        (r("customer.attributes.beta", "equals", True), True),
        (r("customer.attributes.unknown", "is_not_set"), True),
        (r("message.content", "matches", r"order\s+\d{4}"), True),
        (r("message.sender_type", "equals", "customer"), True),
        (r("message.sentiment", "equals", "negative"), True),
        (r("message.sentiment_score", "less_than", -0.5), True),
        (r("message.language", "is_set"), False),
        (r("sla.type", "equals", "first_response"), True),
        (r("sla.elapsed_minutes", "greater_than", 30), True),
        (r("event.type", "equals", "message.created"), True),
    ],
    ids=lambda value: value["field"] if isinstance(value, dict) else str(value),
)
def test_single_rule_over_every_section(rule: dict[str, Any], result: bool) -> None:
    outcome = evaluate_condition(step(**rule).condition, CONTEXT)
    assert outcome.result is result
    assert len(outcome.rules) == 1
    assert outcome.rules[0].field == rule["field"]


def test_rule_trace_carries_expected_and_resolved_value() -> None:
    outcome = evaluate_condition(
        step(**r("conversation.waiting_minutes", "greater_than", 45)).condition, CONTEXT
    )
    [rule] = outcome.rules
    assert rule.model_dump() == {
        "field": "conversation.waiting_minutes",
        "operator": "greater_than",
        "expected": 45,
        "actual": 42.5,
        "result": False,
    }


NESTED = {
    "all": [
        r("customer.segment", "equals", "vip"),
        {
            "any": [
                r("message.sentiment", "equals", "positive"),  # false
                {
                    "all": [
                        r("conversation.tags", "contains", "billing"),  # true
                        r("customer.attributes.mrr", "greater_than", 1000),  # true
                    ]
                },
            ]
        },
        r("conversation.status", "not_in", ["resolved", "closed"]),
    ]
}


@pytest.mark.parametrize(
    ("condition", "result", "trace"),
    [
        (
            NESTED,
            True,
            [
                ("customer.segment", True),
                ("message.sentiment", False),
                ("conversation.tags", True),
                ("customer.attributes.mrr", True),
                ("conversation.status", True),
            ],
        ),
        # `all` is false as soon as one member is, but every rule is still traced.
        (
            {"all": [r("customer.segment", "equals", "standard"), r("customer.name", "is_set")]},
            False,
            [("customer.segment", False), ("customer.name", True)],
        ),
        # `any` is true as soon as one member is, but every rule is still traced.
        (
            {"any": [r("customer.name", "is_set"), r("customer.email", "is_set")]},
            True,
            [("customer.name", True), ("customer.email", False)],
        ),
        (
            {"any": [r("customer.email", "is_set"), {"all": [r("customer.name", "is_not_set")]}]},
            False,
            [("customer.email", False), ("customer.name", False)],
        ),
    ],
    ids=["nested-three-deep", "all-false", "any-true", "any-false"],
)
def test_groups_and_trace(
    condition: dict[str, Any], result: bool, trace: list[tuple[str, bool]]
) -> None:
    outcome = evaluate_condition(step(**condition).condition, CONTEXT)
    assert outcome.result is result
    assert [(rule.field, rule.result) for rule in outcome.rules] == trace


def test_context_without_customer_message_or_sla() -> None:
    event = EVENT.model_copy(update={"type": "conversation.created", "message": None})
    context = build_context(CONVERSATION, None, event)
    assert context["customer"] == {} and context["message"] == {} and context["sla"] == {}
    assert context["steps"] == {}
    outcome = evaluate_condition(
        step(
            any=[r("customer.segment", "equals", "vip"), r("message.content", "not_contains", "x")]
        ).condition,
        context,
    )
    assert [rule.actual for rule in outcome.rules] == [None, None]
    assert outcome.result is True  # a missing value satisfies the negative operator


def test_context_is_json_shaped() -> None:
    assert CONTEXT["conversation"]["created_at"] == "2026-11-27T09:00:00Z"
    assert CONTEXT["event"] == {"type": "message.created", "id": "evt-1"}
    assert CONTEXT["steps"] == {"ticket": {"ticket_id": "T-1"}}
