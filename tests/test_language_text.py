"""Durations and placeholder templates: parsing and rendering."""

from datetime import timedelta
from typing import Any

import pytest

from definitions.durations import format_duration, parse_duration
from definitions.placeholders import Placeholder, parse_placeholders, render, resolve_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("30M", timedelta(minutes=30)),
        (" 30m ", timedelta(minutes=30)),
        ("PT30M", timedelta(minutes=30)),
        ("pt30m", timedelta(minutes=30)),
        ("PT45S", timedelta(seconds=45)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1D", timedelta(days=1)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("365d", timedelta(days=365)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["5x", "0m", "PT0S", "", " ", "P", "PT", "P1DT", "-5m", "5", "m", "1.5h", "P1W", "367d"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45s"), (1800, "30m"), (5400, "90m"), (14400, "4h"), (172800, "2d")]
)
def test_format_duration_round_trips(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("no placeholders", []),
        ("{{customer.name}}", [Placeholder("customer.name", None)]),
        ("{{ customer.name }}", [Placeholder("customer.name", None)]),
        ('{{customer.name | default: "there"}}', [Placeholder("customer.name", "there")]),
        ("{{customer.name|default:'there'}}", [Placeholder("customer.name", "there")]),
        ('{{customer.name | default: ""}}', [Placeholder("customer.name", "")]),
        (
            "{{steps.ticket.ticket_id}} and {{customer.attributes.plan}}",
            [
                Placeholder("steps.ticket.ticket_id", None),
                Placeholder("customer.attributes.plan", None),
            ],
        ),
    ],
)
def test_parse_placeholders(template: str, expected: list[Placeholder]) -> None:
    assert parse_placeholders(template) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{}}",
        "{{customer.name | upper}}",
        "{{customer.name | default: there}}",
        "{{a b}}",
        "{{customer.name",
        "{{ 1 + 1 }}",
        '{{customer.name | default: "x" | default: "y"}}',
    ],
)
def test_parse_placeholders_rejects(template: str) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        parse_placeholders(template)


CONTEXT: dict[str, Any] = {
    "customer": {
        "name": "Ada",
        "email": "",
        "attributes": {"plan": "gold", "seats": 12.0, "beta": True},
    },
    "conversation": {"tags": ["vip", "billing"], "subject": None, "message_count": 3},
    "sla": {"elapsed_minutes": 45.0, "type": "first_response"},
    "message": {"sentiment_score": -0.75},
    "steps": {"ticket": {"ticket_id": "T-7"}},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {{customer.name}}!", "Hi Ada!"),
        ('Hi {{customer.name | default: "there"}}!', "Hi Ada!"),
        ('Hi {{customer.nickname | default: "there"}}!', "Hi there!"),
        ("Hi {{customer.nickname}}!", "Hi !"),
        ("<{{customer.email | default: 'no email'}}>", "<no email>"),  # empty text uses the default
        ('{{conversation.subject | default: "(no subject)"}}', "(no subject)"),  # None too
        ("Tags: {{conversation.tags}}", "Tags: vip, billing"),  # lists are joined
        ('{{conversation.assignee_team | default: "unassigned"}}', "unassigned"),
        ("{{conversation.message_count}} messages", "3 messages"),
        ("waited {{sla.elapsed_minutes}} min", "waited 45 min"),  # whole floats read as integers
        ("score {{message.sentiment_score}}", "score -0.75"),
        (
            "plan {{customer.attributes.plan}}, {{customer.attributes.seats}} seats",
            "plan gold, 12 seats",
        ),
        ("beta: {{customer.attributes.beta}}", "beta: true"),
        ("ticket #{{steps.ticket.ticket_id}}", "ticket #T-7"),
        ('{{steps.other.ticket_id | default: "none"}}', "none"),
        ("{{ customer.name }}{{customer.name}}", "AdaAda"),
        ("{{customer.name.first}}", ""),  # a path through a text resolves to nothing
        ("{{customer.name | upper}}", "{{customer.name | upper}}"),  # malformed: left as written
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, CONTEXT) == expected


def test_render_never_evaluates_code() -> None:
    hostile = {"customer": {"name": "{{customer.email}} {% raw %} ${x} __import__('os')"}}
    assert (
        render("Hi {{customer.name}}", hostile)
        == "Hi {{customer.email}} {% raw %} ${x} __import__('os')"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("customer.name", "Ada"),
        ("customer.attributes.plan", "gold"),
        ("customer.missing", None),
        ("nothing.here", None),
        ("customer.name.first", None),
        ("conversation.tags", ["vip", "billing"]),
    ],
)
def test_resolve_path(path: str, expected: Any) -> None:
    assert resolve_path(CONTEXT, path) == expected
