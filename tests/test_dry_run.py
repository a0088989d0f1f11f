# ruff: noqa: E501  (sample definitions read best as JSON-like literals)
"""Test in Draft: dry_run reports the trigger match, every condition's values, the actions that
would run with their rendered text, the skipped steps, and the outcome — and changes nothing."""

from typing import Any

from definitions.context import ConversationState, CustomerState, SlaInfo
from definitions.dry_run import DryRunReport, dry_run
from definitions.events import Event
from definitions.mirror_rule import state_from_event
from definitions.models import WorkflowDefinitionIn

VIP_ROUTE = {
    "name": "VIP Customer Auto-Route",
    "status": "active",
    "trigger": {
        "type": "new_conversation",
        "channels": ["whatsapp"],
        "customer_segments": ["vip"],
    },
    "steps": [
        {
            "id": "is-customer",
            "type": "condition",
            "field": "customer.lifecycle",
            "operator": "equals",
            "value": "customer",
            "on_false": "stop",
        },
        {"id": "route", "type": "action", "action": "route", "params": {"team": "vip-support"}},
        {
            "id": "greet",
            "type": "action",
            "action": "auto_reply",
            "params": {
                "message": 'Hi {{customer.name | default: "there"}}, a VIP specialist is on the way.'
            },
        },
    ],
}


def sample(type_: str = "conversation.created", **overrides: Any) -> Event:
    raw: dict[str, Any] = {
        "id": "evt-1",
        "type": type_,
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": {"id": "c-9", "channel": "whatsapp", "subject": "Refund", "tags": ["vip"]},
        "customer": {"id": "u-4", "name": "Ada", "lifecycle": "customer", "segment": "vip"},
    }
    if type_ == "message.created":
        raw["message"] = {"id": "m-1", "sender_type": "customer", "content": "I want a refund"}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return Event.model_validate(raw)


def run(
    definition: dict[str, Any], event: Event, sla: SlaInfo | None = None, **conv: Any
) -> DryRunReport:
    conversation, customer = state_from_event(event)
    if conv:
        conversation = conversation.model_copy(update=conv)
    return dry_run(
        WorkflowDefinitionIn.model_validate(definition), event, conversation, customer, sla
    )


def statuses(report: DryRunReport) -> list[tuple[str, str]]:
    return [(step.step_id, step.status) for step in report.steps]


def test_vip_example_would_route_and_greet_with_rendered_text() -> None:
    report = run(VIP_ROUTE, sample())
    assert report.trigger.matched is True
    assert report.outcome == "would_complete"
    assert statuses(report) == [
        ("is-customer", "passed"),
        ("route", "would_run"),
        ("greet", "would_run"),
    ]
    condition = report.steps[0]
    assert condition.result is True
    assert [r.model_dump() for r in condition.rules] == [
        {
            "field": "customer.lifecycle",
            "operator": "equals",
            "expected": "customer",
            "resolved": "customer",
            "result": True,
        }
    ]
    assert condition.effect == "true: the run goes on to the next step"
    route = report.steps[1]
    assert route.action == "route"
    assert route.params == {"team": "vip-support", "strategy": "direct"}
    assert route.rendered == {}
    greet = report.steps[2]
    assert greet.rendered == {"message": "Hi Ada, a VIP specialist is on the way."}
    assert greet.params == {}
    assert report.summary == "The run would complete: 2 action(s) would run."


def test_default_renders_when_the_value_is_missing() -> None:
    report = run(VIP_ROUTE, sample(customer={"name": None}))
    assert report.steps[2].rendered == {"message": "Hi there, a VIP specialist is on the way."}


def test_trigger_not_matched_gives_the_reason_and_skips_every_step() -> None:
    report = run(VIP_ROUTE, sample(conversation={"channel": "email"}))
    assert report.trigger.matched is False
    assert report.trigger.reason == "channel 'email' is not one of ['whatsapp']"
    assert report.outcome == "trigger_not_matched"
    assert statuses(report) == [
        ("is-customer", "skipped"),
        ("route", "skipped"),
        ("greet", "skipped"),
    ]
    assert {step.reason for step in report.steps} == {"the trigger does not match this event"}
    assert "channel 'email'" in report.summary


def test_trigger_of_another_event_type() -> None:
    report = run(VIP_ROUTE, sample("message.created"))
    assert report.trigger.reason == (
        "a message.created event does not fire a new_conversation trigger"
    )


def test_false_condition_with_stop_skips_the_rest() -> None:
    report = run(VIP_ROUTE, sample(customer={"lifecycle": "lead"}))
    assert report.outcome == "would_stop"
    assert report.stopped_at == "is-customer"
    assert statuses(report) == [
        ("is-customer", "failed"),
        ("route", "skipped"),
        ("greet", "skipped"),
    ]
    condition = report.steps[0]
    assert condition.result is False
    assert condition.rules[0].resolved == "lead"
    assert condition.on_false == "stop"
    assert condition.effect == "false and on_false is stop: the run would end here, stopped"
    assert report.steps[1].reason == "the run would stop at step 'is-customer'"
    assert report.summary == "The run would stop at step 'is-customer': its condition is false."


SKIP_NEXT = {
    "name": "Refunds",
    "trigger": {"type": "new_message", "content_patterns": ["refund|money back"]},
    "steps": [
        {
            "id": "is-vip",
            "type": "condition",
            "any": [
                {"field": "customer.segment", "operator": "equals", "value": "vip"},
                {"field": "customer.attributes.mrr", "operator": "greater_than", "value": 1000},
            ],
            "on_false": "skip_next",
        },
        {"id": "vip-ticket", "type": "action", "action": "create_ticket",
         "params": {"title": "VIP refund: {{customer.name}}", "priority": "urgent", "team": "billing"}},
        {"id": "ticket", "type": "action", "action": "create_ticket",
         "params": {"title": "Refund: {{conversation.subject}}", "description": "{{message.content}}"}},
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["refund"]}},
        {"id": "tell", "type": "action", "action": "auto_reply",
         "params": {"message": "Ticket {{steps.ticket.ticket_id}} is open; VIP ticket: "
                    '{{steps.vip-ticket.ticket_id | default: "none"}}.'}},
    ],
}  # fmt: skip


def test_skip_next_skips_exactly_the_following_step() -> None:
    event = sample("message.created", customer={"segment": "standard"})
    report = run(SKIP_NEXT, event)
    assert report.outcome == "would_complete"
    assert statuses(report) == [
        ("is-vip", "failed"),
        ("vip-ticket", "skipped"),
        ("ticket", "would_run"),
        ("tag", "would_run"),
        ("tell", "would_run"),
    ]
    condition = report.steps[0]
    assert [(r.field, r.resolved, r.result) for r in condition.rules] == [
        ("customer.segment", "standard", False),
        ("customer.attributes.mrr", None, False),
    ]
    assert condition.effect == "false and on_false is skip_next: step 'vip-ticket' would be skipped"
    assert report.steps[1].reason == "condition 'is-vip' is false and says skip_next"
    assert report.steps[1].action == "create_ticket"
    ticket = report.steps[2]
    assert ticket.rendered == {"title": "Refund: Refund", "description": "I want a refund"}
    assert ticket.params == {"priority": "normal"}
    # An earlier step's output renders as a stand-in; a skipped step's output falls to its default.
    assert report.steps[4].rendered == {
        "message": "Ticket <ticket id from step ticket> is open; VIP ticket: none."
    }
    assert report.summary == "The run would complete: 3 action(s) would run, 1 step(s) skipped."


def test_skip_next_not_taken_when_the_condition_is_true() -> None:
    event = sample("message.created", customer={"attributes": {"mrr": 5000}, "segment": None})
    report = run(SKIP_NEXT, event)
    assert [s.status for s in report.steps] == [
        "passed",
        "would_run",
        "would_run",
        "would_run",
        "would_run",
    ]
    assert report.steps[0].rules[1].resolved == 5000
    assert report.steps[1].rendered == {"title": "VIP refund: Ada", "description": ""}
    assert report.steps[1].params == {"priority": "urgent", "team": "billing"}
    assert (
        report.steps[4]
        .rendered["message"]
        .endswith("VIP ticket: <ticket id from step vip-ticket>.")
    )


def test_skip_next_as_the_last_step_and_continue() -> None:
    definition = {
        "name": "x",
        "trigger": {"type": "new_conversation"},
        "steps": [
            {"id": "a", "type": "condition", "field": "customer.email", "operator": "is_set",
             "on_false": "continue"},
            {"id": "reply", "type": "action", "action": "auto_reply", "params": {"message": "Hi"}},
            {"id": "b", "type": "condition", "field": "customer.email", "operator": "is_set",
             "on_false": "skip_next"},
        ],
    }  # fmt: skip
    report = run(definition, sample())
    assert statuses(report) == [("a", "failed"), ("reply", "would_run"), ("b", "failed")]
    assert report.steps[0].effect == (
        "false and on_false is continue: the run goes on to the next step anyway"
    )
    assert (
        report.steps[2].effect == "false and on_false is skip_next: there is no next step to skip"
    )
    assert report.outcome == "would_complete"


def test_later_steps_see_the_conversation_as_earlier_actions_leave_it() -> None:
    """As in a real run, where each step reads the desk store after the earlier actions."""
    definition = {
        "name": "x",
        "trigger": {"type": "new_conversation"},
        "steps": [
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["triaged"]}},
            {"id": "close", "type": "action", "action": "change_status", "params": {"status": "closed"}},
            {"id": "say", "type": "action", "action": "auto_reply",
             "params": {"message": "status {{steps.close.status}} (was {{steps.close.previous_status}}), tags {{conversation.tags}}"}},
            {"id": "route", "type": "action", "action": "route", "params": {"team": "t1", "strategy": "round_robin"}},
            {"id": "up", "type": "action", "action": "escalate", "params": {"reason": "r"}},
            {"id": "check", "type": "condition", "all": [
                {"field": "conversation.tags", "operator": "not_contains", "value": "triaged"},
                {"field": "conversation.status", "operator": "equals", "value": "open"},
                {"field": "conversation.message_count", "operator": "equals", "value": 1},
                {"field": "conversation.assignee_team", "operator": "equals", "value": "t1"},
                {"field": "conversation.assignee_agent", "operator": "is_set"},
                {"field": "conversation.priority", "operator": "equals", "value": "urgent"},
            ]},
        ],
    }  # fmt: skip
    report = run(definition, sample())
    assert report.steps[1].params == {"status": "closed"}
    assert report.steps[2].rendered == {"message": "status closed (was open), tags vip, triaged"}
    check = report.steps[5]
    assert check.status == "failed"
    assert [r.resolved for r in check.rules] == [
        ["vip", "triaged", "escalated"],
        "closed",
        1,
        "t1",
        "<agent from step up>",
        "urgent",
    ]
    assert [r.result for r in check.rules] == [False, False, True, True, True, True]


def test_conversation_state_is_taken_as_given_not_from_the_event() -> None:
    definition = {
        "name": "x",
        "trigger": {"type": "new_conversation"},
        "steps": [
            {"id": "busy", "type": "condition", "field": "conversation.message_count",
             "operator": "greater_than", "value": 3},
            {"id": "esc", "type": "action", "action": "escalate",
             "params": {"reason": "{{conversation.message_count}} messages, waited {{conversation.waiting_minutes}} min", "to": "sup-1"}},
        ],
    }  # fmt: skip
    report = run(definition, sample(), message_count=7, waiting_minutes=12.0)
    assert report.steps[0].rules[0].resolved == 7
    assert report.steps[1].rendered == {"reason": "7 messages, waited 12 min"}
    assert report.steps[1].params == {"priority": "urgent", "to": "sup-1"}


STATUS_CHANGE = {
    "name": "Reopened",
    "trigger": {"type": "status_change", "transitions": [{"from": "resolved", "to": "open"}]},
    "steps": [
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["reopened"]}}
    ],
}


def test_status_change_match_and_miss() -> None:
    hit = run(
        STATUS_CHANGE,
        sample("conversation.status_changed", from_status="resolved", to_status="open"),
    )
    assert hit.trigger.model_dump() == {"matched": True, "reason": "matches"}
    assert hit.steps[0].params == {"tags": ["reopened"]}
    miss = run(
        STATUS_CHANGE,
        sample("conversation.status_changed", from_status="pending", to_status="open"),
    )
    assert miss.trigger.reason == "pending -> open is not one of the listed transitions"


SLA_DEFINITION = {
    "name": "First response breach",
    "trigger": {"type": "sla_breach", "sla_type": "first_response", "threshold": "30m"},
    "steps": [
        {"id": "leads", "type": "action", "action": "notify",
         "params": {"team": "leads", "message": "{{sla.type}} breached after {{sla.elapsed_minutes}} min on {{conversation.id}}"}},
    ],
}  # fmt: skip


def test_sla_breach_needs_the_sla_clock() -> None:
    report = run(SLA_DEFINITION, sample())
    assert report.outcome == "trigger_not_matched"
    assert "SLA clock" in report.trigger.reason


def test_sla_breach_under_threshold_and_over() -> None:
    under = run(
        SLA_DEFINITION,
        sample(),
        SlaInfo(type="first_response", elapsed_minutes=10, threshold="30m"),
    )
    assert (
        under.trigger.reason
        == "the first_response clock has run 10 min, under the threshold of 30m"
    )
    over = run(
        SLA_DEFINITION,
        sample(),
        SlaInfo(type="first_response", elapsed_minutes=45, threshold="30m"),
    )
    assert over.outcome == "would_complete"
    assert over.steps[0].rendered == {"message": "first_response breached after 45 min on c-9"}
    assert over.steps[0].params == {"team": "leads"}


def test_loop_guard_event_deeper_than_five_runs() -> None:
    event = sample(causal_chain=[f"run:w:{i}" for i in range(6)])
    report = run(VIP_ROUTE, event)
    assert report.trigger.matched is False
    assert "loop guard" in report.trigger.reason
    ok = run(VIP_ROUTE, sample(causal_chain=[f"run:w:{i}" for i in range(5)]))
    assert ok.trigger.matched is True


def test_automation_messages_never_match() -> None:
    definition = {**SKIP_NEXT, "trigger": {"type": "new_message"}}
    event = sample(
        "message.created", message={"id": "m-2", "sender_type": "automation", "content": "refund"}
    )
    report = run(definition, event)
    assert report.outcome == "trigger_not_matched"
    assert "loop guard" in report.trigger.reason


def test_dry_run_changes_nothing_it_was_given() -> None:
    event = sample()
    conversation, customer = state_from_event(event)
    assert customer is not None
    before = (event.model_dump(), conversation.model_dump(), customer.model_dump())
    definition = WorkflowDefinitionIn.model_validate(VIP_ROUTE)
    frozen = definition.model_dump()
    first = dry_run(definition, event, conversation, customer)
    second = dry_run(definition, event, conversation, customer)
    assert first == second
    assert (event.model_dump(), conversation.model_dump(), customer.model_dump()) == before
    assert definition.model_dump() == frozen


def test_report_is_json_serialisable() -> None:
    report = run(SKIP_NEXT, sample("message.created"))
    again = DryRunReport.model_validate_json(report.model_dump_json())
    assert again == report


def test_customer_may_be_absent() -> None:
    event = sample(customer=None)
    report = dry_run(
        WorkflowDefinitionIn.model_validate({**VIP_ROUTE, "trigger": {"type": "new_conversation"}}),
        event,
        ConversationState(id="c-9", channel="whatsapp"),
        None,
    )
    assert report.outcome == "would_stop"
    assert report.steps[0].rules[0].resolved is None


def test_customer_state_differs_from_event() -> None:
    event = sample()
    conversation, _ = state_from_event(event)
    fresh = CustomerState(id="u-4", name="Ada L.", lifecycle="customer")
    report = dry_run(WorkflowDefinitionIn.model_validate(VIP_ROUTE), event, conversation, fresh)
    assert report.steps[2].rendered["message"].startswith("Hi Ada L.,")
