"""The typed field catalogue: every dotted path a condition or a placeholder may read."""

import re
from dataclasses import dataclass
from enum import StrEnum

from definitions import vocabulary as v


class FieldType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    LIST = "list"  # a list of strings, e.g. tags
    ATTRIBUTE = "attribute"  # a custom attribute: text, or a number/datetime when it reads as one


@dataclass(frozen=True)
class FieldSpec:
    path: str
    type: FieldType
    description: str
    allowed: tuple[str, ...] = ()  # closed vocabulary of values, if any


def _f(path: str, type_: FieldType, description: str, allowed: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(path, type_, description, allowed)


S, N, D, L = FieldType.STRING, FieldType.NUMBER, FieldType.DATETIME, FieldType.LIST

FIELD_CATALOGUE: dict[str, FieldSpec] = {
    spec.path: spec
    for spec in (
        _f("conversation.id", S, "Conversation id in the help desk"),
        _f("conversation.channel", S, "Channel the conversation came in on", v.CHANNELS),
        _f("conversation.inbox", S, "Inbox the conversation arrived in"),
        _f("conversation.status", S, "Current status", v.STATUSES),
        _f("conversation.priority", S, "Current priority (not set: none)", v.PRIORITIES),
        _f("conversation.subject", S, "Subject line"),
        _f("conversation.tags", L, "Tags on the conversation"),
        _f("conversation.assignee_agent", S, "Assigned agent id"),
        _f("conversation.assignee_team", S, "Assigned team id"),
        _f("conversation.message_count", N, "Number of messages so far"),
        _f("conversation.waiting_minutes", N, "Minutes the customer has waited for a reply"),
        _f("conversation.created_at", D, "When the conversation was created (ISO-8601)"),
        _f("conversation.last_activity_at", D, "Last activity the desk reported (ISO-8601)"),
        _f("customer.id", S, "Customer id"),
        _f("customer.name", S, "Customer name"),
        _f("customer.email", S, "Customer email"),
        _f("customer.phone", S, "Customer phone number"),
        _f("customer.lifecycle", S, "Lifecycle stage, e.g. lead or customer"),
        _f("customer.segment", S, "Segment, e.g. vip"),
        _f("customer.plan", S, "Plan, e.g. gold"),
        _f("customer.language", S, "Preferred language"),
        _f("customer.country", S, "Country"),
        _f("message.content", S, "Text of the triggering message"),
        _f("message.sender_type", S, "Who sent the triggering message", v.SENDER_TYPES),
        _f("message.sentiment", S, "Sentiment of the triggering message", v.SENTIMENTS),
        _f("message.sentiment_score", N, "Sentiment score in [-1, 1]"),
        _f("message.language", S, "Language of the triggering message"),
        _f("sla.type", S, "SLA clock that was breached", v.SLA_TYPES),
        _f("sla.elapsed_minutes", N, "Minutes the SLA clock had run when it was breached"),
        _f("event.type", S, "Type of the triggering event", v.EVENT_TYPES),
        # Need the definition's schedule (checked when a definition is saved).
        _f("time.business_hours", S, "Is the schedule open now: true or false", ("true", "false")),
        _f("time.weekday", S, "Day of the week in the schedule's time zone", v.WEEKDAYS),
        _f("time.local_time", S, 'Time of day in the schedule\'s time zone, "HH:MM"'),
        _f(
            "time.next_open",
            S,
            'When the schedule next opens, e.g. "Mon 09:00 Europe/Berlin" (now, if it is open)',
        ),
    )
}

TIME_PREFIX = "time."
#: `steps.<wait_for id>.outcome`: how a wait_for ended.
STEP_OUTCOME = re.compile(r"^steps\.[A-Za-z0-9_\-]{1,64}\.outcome$")

ATTRIBUTE_PREFIX = "customer.attributes."
CONVERSATION_ATTRIBUTE_PREFIX = "conversation.attributes."
#: Open-ended custom attributes: prefix -> whose.
ATTRIBUTE_PREFIXES = {ATTRIBUTE_PREFIX: "customer", CONVERSATION_ATTRIBUTE_PREFIX: "conversation"}


def is_attribute_key(key: str) -> bool:
    """A custom attribute key: letters, digits, `_` and `-`."""
    return bool(key) and key.replace("_", "").replace("-", "").isalnum()


def field_spec(path: str) -> FieldSpec | None:
    """The spec of a field path, or None when the path is not in the catalogue.

    `customer.attributes.<key>` and `conversation.attributes.<key>` are open-ended: custom
    attributes are compared as strings (or numbers when the value is numeric).
    """
    if path in FIELD_CATALOGUE:
        return FIELD_CATALOGUE[path]
    if STEP_OUTCOME.match(path):
        return FieldSpec(path, FieldType.STRING, "How a wait_for step ended", ("event", "timeout"))
    for prefix, whose in ATTRIBUTE_PREFIXES.items():
        key = path.removeprefix(prefix)
        if key != path and is_attribute_key(key):
            return FieldSpec(path, FieldType.ATTRIBUTE, f"Custom {whose} attribute '{key}'")
    return None


def describe_unknown(path: str) -> str:
    return (
        f"unknown field {path!r}; known fields are "
        + ", ".join(sorted(FIELD_CATALOGUE))
        + f", {ATTRIBUTE_PREFIX}<key>, {CONVERSATION_ATTRIBUTE_PREFIX}<key>"
        + " and steps.<wait_for id>.outcome"
    )
