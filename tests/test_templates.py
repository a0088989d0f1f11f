# ruff: noqa: E501  (sample tables read best one case per line)
"""The built-in templates: every file is a valid definition, the gallery has enough of each
category, ids are unique, and each template does what its summary says on a realistic sample."""

import json
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from definitions.business_time import BusinessClock
from definitions.context import SlaInfo
from definitions.dry_run import dry_run
from definitions.events import Event
from definitions.gallery import TEMPLATE_CATEGORIES, get_template, list_templates
from definitions.mirror_rule import state_from_event
from definitions.models import (
    STEP_TYPES,
    ConditionStep,
    WorkflowDefinitionIn,
    walk_steps,
)
from definitions.placeholders import parse_placeholders
from definitions.schedules import SUPPORT_HOURS_EXAMPLE, Schedule
from definitions.vocabulary import ACTION_NAMES, TRIGGER_TYPES

FILES = sorted(
    (entry for entry in (resources.files("definitions") / "templates").iterdir()),
    key=lambda entry: entry.name,
)
TEMPLATES = list_templates()


@pytest.mark.parametrize("entry", FILES, ids=[entry.name for entry in FILES])
def test_every_template_file_is_a_valid_definition(entry: Any) -> None:
    raw = json.loads(entry.read_text(encoding="utf-8"))
    assert set(raw) <= {"id", "category", "title", "summary", "definition"}
    assert entry.name == f"{raw['id']}.json"
    assert raw["category"] in TEMPLATE_CATEGORIES
    assert len(raw["summary"]) >= 40
    definition = WorkflowDefinitionIn.model_validate(raw["definition"])
    assert definition.name and definition.description
    assert definition.status == "draft"  # "Use template" makes drafts


def test_gallery_size_and_categories() -> None:
    assert len(TEMPLATES) >= 12
    # Issue 12: at least 8 templates about time (waits, idle triggers, business hours).
    timed = [t for t in TEMPLATES if _about_time(t.definition)]
    assert len(timed) >= 8, [t.id for t in timed]
    assert {t.category for t in timed} == set(TEMPLATE_CATEGORIES)
    assert len(TEMPLATES) == len(FILES)
    counts = Counter(t.category for t in TEMPLATES)
    assert set(counts) == set(TEMPLATE_CATEGORIES)
    assert all(counts[c] >= 3 for c in TEMPLATE_CATEGORIES), counts


def _about_time(definition: WorkflowDefinitionIn) -> bool:
    steps = [s for _, s, _ in walk_steps(definition.steps)]
    return (
        definition.trigger.type == "conversation_idle"
        or definition.schedule is not None
        or any(s.type in ("wait", "wait_for") for s in steps)
    )


def test_templates_that_need_a_schedule_say_which_to_pick() -> None:
    for template in TEMPLATES:
        if template.definition.schedule is not None:
            assert f"'{template.definition.schedule}'" in template.summary, template.id
            assert "schedule" in template.summary


def test_ids_and_names_are_unique() -> None:
    assert len({t.id for t in TEMPLATES}) == len(TEMPLATES)
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)


@pytest.mark.parametrize("category", TEMPLATE_CATEGORIES)
def test_list_by_category(category: str) -> None:
    listed = list_templates(category)
    assert listed and {t.category for t in listed} == {category}
    assert [t.id for t in listed] == [t.id for t in TEMPLATES if t.category == category]


def test_list_orders_by_category_then_name() -> None:
    keys = [(TEMPLATE_CATEGORIES.index(t.category), t.name.casefold()) for t in TEMPLATES]
    assert keys == sorted(keys)


def test_unknown_category_lists_nothing() -> None:
    assert list_templates("marketing") == []


def test_get_template() -> None:
    template = get_template("vip-auto-route")
    assert template is not None
    assert template.name == "VIP Customer Auto-Route"
    assert template.category == "customer_service"
    assert template.definition.trigger.type == "new_conversation"
    assert get_template("no-such-template") is None


def test_callers_get_copies() -> None:
    first = get_template("vip-auto-route")
    assert first is not None
    first.definition.name = "changed"
    first.definition.steps.clear()
    again = get_template("vip-auto-route")
    assert again is not None and again.definition.name == "VIP Customer Auto-Route"
    assert len(again.definition.steps) == 3


def test_gallery_uses_the_whole_language() -> None:
    triggers = {t.definition.trigger.type for t in TEMPLATES}
    assert triggers == set(TRIGGER_TYPES)
    steps = [s for t in TEMPLATES for _, s, _ in walk_steps(t.definition.steps)]
    assert {s.type for s in steps} == set(STEP_TYPES)
    actions = {s.action for s in steps if s.type == "action"}
    assert actions == set(ACTION_NAMES)
    conditions = [s for s in steps if isinstance(s, ConditionStep)]
    assert {c.on_false for c in conditions} >= {"stop", "skip_next"}
    assert any(c.any is not None for c in conditions) and any(c.all is not None for c in conditions)
    placeholders = [
        p
        for s in steps
        if s.type == "action"
        for text in s.params.templates().values()
        for p in parse_placeholders(text)
    ]
    assert any(p.default is not None for p in placeholders)
    assert any(p.path.startswith("steps.") for p in placeholders)


# A realistic sample for each template: the event (and SLA clock) it is meant for.
def event(type_: str, **parts: Any) -> Event:
    conversation = {"id": "c-1", "channel": "whatsapp", "subject": "Help", **parts.pop("conv", {})}
    customer = {"id": "u-1", "name": "Ada", "email": "ada@example.com", **parts.pop("cust", {})}
    raw: dict[str, Any] = {
        "id": "evt-1",
        "type": type_,
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": conversation,
        "customer": customer,
    }
    if "content" in parts or "sentiment" in parts:
        raw["message"] = {
            "id": "m-1",
            "sender_type": "customer",
            "content": parts.pop("content", "hello"),
            "sentiment": parts.pop("sentiment", None),
        }
    raw.update(parts)
    return Event.model_validate(raw)


def sla(type_: str, minutes: float) -> SlaInfo:
    return SlaInfo(type=type_, elapsed_minutes=minutes, threshold="")  # type: ignore[arg-type]


CUSTOMER = {"lifecycle": "customer", "plan": "pro"}
SAMPLES: dict[str, tuple[Event, SlaInfo | None, list[str]]] = {
    # template id: (sample, SLA clock, the actions expected to run, in order)
    "vip-auto-route": (
        event("conversation.created", cust={"segment": "vip", **CUSTOMER}),
        None,
        ["route", "greet"],
    ),
    "office-hours-auto-reply": (
        event("conversation.created", conv={"channel": "email"}),
        None,
        ["hours", "tag"],
    ),
    "refund-request-ticket": (
        event("message.created", content="Hi, I would like a REFUND for order 7", cust=CUSTOMER),
        None,
        ["ticket", "tag", "confirm"],
    ),
    "negative-sentiment-escalate": (
        event("message.created", content="This is awful", sentiment="negative", cust=CUSTOMER),
        None,
        ["escalate", "tag"],
    ),
    "password-reset-auto-reply": (
        event("message.created", content="I forgot my password", cust=CUSTOMER),
        None,
        ["reply", "tag"],
    ),
    "reopened-conversation-route-back": (
        event("conversation.status_changed", from_status="resolved", to_status="open"),
        None,
        ["tag", "route", "welcome-back"],
    ),
    "website-lead-route": (
        event("conversation.created", conv={"channel": "live_chat"}, cust={"lifecycle": "lead"}),
        None,
        ["route", "tag", "greet"],
    ),
    "pricing-question-notify-sales": (
        event(
            "message.created",
            content="What does the Pro pricing look like?",
            cust={"lifecycle": "lead"},
        ),
        None,
        ["notify-sales", "tag"],
    ),
    "enterprise-plan-routing": (
        event("conversation.created", cust={"attributes": {"plan": "Enterprise"}}),
        None,
        ["route", "tag", "greet"],
    ),
    "upgrade-interest-ticket": (
        event("message.created", content="We need more seats, can we upgrade?", cust=CUSTOMER),
        None,
        ["opportunity", "notify-sales", "tag"],
    ),
    "demo-request-route": (
        event(
            "message.created",
            content="Could I book a demo next week?",
            conv={"channel": "live_chat"},
        ),
        None,
        ["route", "tag", "booking"],
    ),
    "first-response-sla-breach-notify-leads": (
        event("conversation.created"),
        sla("first_response", 31),
        ["notify-leads", "tag"],
    ),
    "resolution-sla-breach-escalate": (
        event("conversation.created", conv={"status": "pending"}),
        sla("resolution", 2 * 24 * 60 + 5),
        ["escalate", "review"],
    ),
    "reply-sla-breach-nudge": (
        event("conversation.created", cust={"segment": "vip"}),
        sla("reply", 245),
        ["escalate", "notify-leads", "tag"],
    ),
    "spam-auto-close": (
        event("message.created", content="Earn big with crypto: invest today for huge profit"),
        None,
        ["tag", "close"],
    ),
    "outage-report-incident-ticket": (
        event("message.created", content="Your dashboard is down, I get error 503", cust=CUSTOMER),
        None,
        ["incident", "page", "tag", "reassure"],
    ),
    "vip-tag-route": (
        event(
            "conversation.updated",
            conv={"tags": ["billing", "vip"], "assignee_team": "billing"},
            changes={"tags": {"from": ["billing"], "to": ["billing", "vip"]}},
        ),
        None,
        ["route", "priority"],
    ),
    "refund-policy-note": (
        event("message.created", content="Can I get my money back?", cust=CUSTOMER),
        None,
        ["note", "remember", "tag"],
    ),
    "resolved-clear-priority": (
        event("conversation.status_changed", from_status="open", to_status="resolved"),
        None,
        ["untag", "no-priority"],
    ),
    "idle-auto-close": (
        event("conversation.created", conv={"status": "pending"}, cust=CUSTOMER),
        None,
        ["goodbye", "tag", "close"],
    ),
    "pending-follow-up": (
        event("conversation.status_changed", from_status="open", to_status="pending"),
        None,
        ["remind", "tag"],
    ),
    "resolved-satisfaction-survey": (
        event("conversation.status_changed", from_status="open", to_status="resolved"),
        None,
        ["survey"],
    ),
    "after-hours-reply": (
        event("conversation.created", conv={"channel": "email"}),
        None,
        ["reply", "tag"],
    ),
    "vip-no-answer-escalate": (
        event(
            "message.created", content="Our invoices are wrong", cust={"segment": "vip", **CUSTOMER}
        ),
        None,
        ["escalate"],
    ),
    "pricing-lead-nudge": (
        event(
            "message.created",
            content="What are your prices for 10 seats?",
            cust={"lifecycle": "lead"},
        ),
        None,
        ["nudge", "tag"],
    ),
    "pending-idle-remind-team": (
        event("conversation.created", conv={"status": "pending", "assignee_team": "support"}),
        None,
        ["remind", "tag"],
    ),
    "weekend-backlog-tag": (event("conversation.created"), None, ["tag", "note"]),
}

# Templates that read the clock run at these instants on the schedule of SPEC §2.3 (Berlin).
SUPPORT_HOURS = BusinessClock(Schedule.model_validate(SUPPORT_HOURS_EXAMPLE))
SAMPLE_TIMES = {
    "after-hours-reply": datetime(2026, 11, 27, 18, 0, tzinfo=UTC),  # Friday 19:00 in Berlin
    "vip-no-answer-escalate": datetime(2026, 11, 27, 15, 30, tzinfo=UTC),  # Friday 16:30
    "weekend-backlog-tag": datetime(2026, 11, 28, 23, 30, tzinfo=UTC),  # Sunday 00:30
}


def test_every_template_has_a_sample() -> None:
    assert set(SAMPLES) == {t.id for t in TEMPLATES}


@pytest.mark.parametrize("template_id", sorted(SAMPLES))
def test_template_runs_on_its_sample(template_id: str) -> None:
    template = get_template(template_id)
    assert template is not None
    sample, clock, expected_actions = SAMPLES[template_id]
    conversation, customer = state_from_event(sample)
    now = SAMPLE_TIMES.get(template_id, datetime(2026, 11, 27, 10, tzinfo=UTC))
    schedule = SUPPORT_HOURS if template.definition.schedule else None
    report = dry_run(
        template.definition, sample, conversation, customer, clock, now=now, clock=schedule
    )
    assert report.trigger.matched, report.trigger.reason
    assert report.outcome == "would_complete", report.summary
    assert [s.step_id for s in report.steps if s.status == "would_run"] == expected_actions
    for step in report.steps:
        for text in step.rendered.values():
            assert "{{" not in text and "}}" not in text, text
            assert text.strip()


def test_refund_template_confirms_the_ticket_that_was_opened() -> None:
    template = get_template("refund-request-ticket")
    assert template is not None
    for segment, ticket_step in (("standard", "ticket"), ("vip", "vip-ticket")):
        sample = event("message.created", content="refund please", cust={"segment": segment})
        conversation, customer = state_from_event(sample)
        report = dry_run(template.definition, sample, conversation, customer)
        running = [s.step_id for s in report.steps if s.status == "would_run"]
        assert running == [ticket_step, "tag", "confirm"]
        confirm = report.steps[-1].rendered["message"]
        assert f"refund case <ticket id from step {ticket_step}> and" in confirm


@pytest.mark.parametrize(
    ("template_id", "sample", "clock"),
    [
        ("vip-auto-route", event("conversation.created", cust={"segment": "vip", "lifecycle": "lead"}), None),
        ("website-lead-route", event("conversation.created", conv={"channel": "live_chat"}, cust=CUSTOMER), None),
        ("spam-auto-close", event("message.created", content="crypto: invest for profit", cust=CUSTOMER), None),
        ("first-response-sla-breach-notify-leads", event("conversation.created", conv={"status": "resolved"}), sla("first_response", 40)),
        ("negative-sentiment-escalate", event("message.created", content="thanks!", sentiment="positive", conv={"tags": []}), None),
    ],
    ids=["vip-but-lead", "lead-route-but-customer", "spam-but-customer", "breach-but-resolved", "happy-customer"],
)  # fmt: skip
def test_template_stops_where_it_should(
    template_id: str, sample: Event, clock: SlaInfo | None
) -> None:
    template = get_template(template_id)
    assert template is not None
    conversation, customer = state_from_event(sample)
    report = dry_run(template.definition, sample, conversation, customer, clock)
    assert report.trigger.matched, report.trigger.reason
    assert report.outcome == "would_stop"
    assert not [s for s in report.steps if s.status == "would_run"]


def test_after_hours_reply_names_the_next_opening_and_is_silent_when_open() -> None:
    template = get_template("after-hours-reply")
    assert template is not None
    sample = SAMPLES["after-hours-reply"][0]
    conversation, customer = state_from_event(sample)
    friday_evening = SAMPLE_TIMES["after-hours-reply"]
    report = dry_run(
        template.definition, sample, conversation, customer, now=friday_evening, clock=SUPPORT_HOURS
    )
    reply = next(s for s in report.steps if s.step_id == "reply")
    assert "we are back Mon 09:00 Europe/Berlin and" in reply.rendered["message"]
    open_now = datetime(2026, 11, 26, 10, tzinfo=UTC)  # Thursday 11:00 in Berlin
    quiet = dry_run(
        template.definition, sample, conversation, customer, now=open_now, clock=SUPPORT_HOURS
    )
    assert not [s for s in quiet.steps if s.status == "would_run"]
