"""What the builder needs to offer only valid choices: fields with their types and closed value
lists, operators by field type, trigger options and action params. Built from `definitions`, so
the console can never offer something the API would reject for being unknown."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, get_args

from definitions import vocabulary as v
from definitions.fields import FIELD_CATALOGUE, FieldType
from definitions.models import ACTION_OUTPUTS, MAX_BRANCH_DEPTH, STEP_TYPES, WaitEvent
from definitions.operators import OPERATORS_BY_TYPE, Operator

OPERATOR_LABELS: dict[str, str] = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "matches": "matches regex",
    "greater_than": "greater than",
    "greater_or_equal": "greater than or equal",
    "less_than": "less than",
    "less_or_equal": "less than or equal",
    "in": "is one of",
    "not_in": "is not one of",
    "is_set": "is set",
    "is_not_set": "is not set",
    "contains_any_word": "contains any of the words",
    "contains_no_word": "contains none of the words",
}

TRIGGER_LABELS = {
    "new_conversation": "New conversation",
    "new_message": "New message",
    "sla_breach": "SLA breach",
    "status_change": "Status change",
    "conversation_updated": "Conversation updated (tags, priority, assignment, attributes)",
    "conversation_idle": "Conversation idle",
}

ACTION_LABELS = {
    "auto_reply": "Send auto-reply",
    "route": "Route conversation",
    "add_tag": "Add tags",
    "change_status": "Change status",
    "create_ticket": "Create ticket",
    "notify": "Notify team or agent",
    "escalate": "Escalate",
    "remove_tag": "Remove tags",
    "set_priority": "Set priority",
    "add_note": "Add internal note",
    "set_attribute": "Set conversation attribute",
}

# Each param: name, label, kind (text | template | select | tags | target), required, options, help.
ACTION_PARAMS: dict[str, list[dict[str, Any]]] = {
    "auto_reply": [
        {
            "name": "message",
            "label": "Message",
            "kind": "template",
            "required": True,
            "help": 'Placeholders allowed, e.g. {{customer.name | default: "there"}}',
        },
    ],
    "route": [
        {"name": "target", "label": "Route to", "kind": "target"},
        {
            "name": "strategy",
            "label": "Strategy",
            "kind": "select",
            "options": ["direct", "round_robin", "least_busy"],
            "help": "round_robin and least_busy pick a member of the team",
        },
    ],
    "add_tag": [
        {
            "name": "tags",
            "label": "Tags",
            "kind": "tags",
            "required": True,
            "help": "Comma-separated",
        },
    ],
    "change_status": [
        {
            "name": "status",
            "label": "New status",
            "kind": "select",
            "options": list(v.STATUSES),
            "required": True,
        },
    ],
    "create_ticket": [
        {
            "name": "title",
            "label": "Title",
            "kind": "text",
            "required": True,
            "help": "Placeholders allowed",
        },
        {"name": "description", "label": "Description", "kind": "template"},
        {"name": "priority", "label": "Priority", "kind": "select", "options": list(v.PRIORITIES)},
        {"name": "team", "label": "Team", "kind": "text", "help": "Team id owning the ticket"},
    ],
    "notify": [
        {"name": "target", "label": "Notify", "kind": "target"},
        {"name": "message", "label": "Message", "kind": "template", "required": True},
    ],
    "escalate": [
        {"name": "reason", "label": "Reason", "kind": "template", "required": True},
        {"name": "priority", "label": "Priority", "kind": "select", "options": list(v.PRIORITIES)},
        {
            "name": "to",
            "label": "Escalate to (agent id)",
            "kind": "text",
            "help": "Empty: the supervisor of the assigned team",
        },
    ],
    "remove_tag": [
        {
            "name": "tags",
            "label": "Tags",
            "kind": "tags",
            "required": True,
            "help": "Comma-separated",
        },
    ],
    "set_priority": [
        {
            "name": "priority",
            "label": "Priority",
            "kind": "select",
            "options": list(v.PRIORITIES),
            "empty_label": "none",
        },
    ],
    "add_note": [
        {
            "name": "note",
            "label": "Note",
            "kind": "template",
            "required": True,
            "help": "Only agents see it; placeholders allowed",
        },
    ],
    "set_attribute": [
        {"name": "key", "label": "Attribute key", "kind": "text", "required": True},
        {
            "name": "value",
            "label": "Value",
            "kind": "template",
            "required": True,
            "help": "Placeholders allowed, e.g. {{message.content}}",
        },
    ],
}

_OPERATOR_ORDER = [op.value for op in Operator]


@lru_cache(maxsize=1)
def builder_vocabulary() -> dict[str, Any]:
    """Everything the builder's selects offer, as JSON."""
    return {
        "fields": [
            {
                "path": spec.path,
                "type": spec.type.value,
                "description": spec.description,
                "allowed": list(spec.allowed),
            }
            for spec in FIELD_CATALOGUE.values()
        ],
        "operators_by_type": {
            kind.value: [op for op in _OPERATOR_ORDER if Operator(op) in OPERATORS_BY_TYPE[kind]]
            for kind in FieldType
        },
        "operator_labels": OPERATOR_LABELS,
        "trigger_types": [{"value": t, "label": TRIGGER_LABELS[t]} for t in v.TRIGGER_TYPES],
        "channels": list(v.CHANNELS),
        "statuses": list(v.STATUSES),
        "sender_types": ["customer", "agent", "ai"],
        "sla_types": list(v.SLA_TYPES),
        "updated_fields": list(v.UPDATED_FIELDS),
        "actions": [
            {
                "value": a,
                "label": ACTION_LABELS[a],
                "params": ACTION_PARAMS[a],
                "outputs": list(ACTION_OUTPUTS[a]),
            }
            for a in v.ACTION_NAMES
        ],
        "event_types": list(v.EVENT_TYPES),
        "step_types": list(STEP_TYPES),
        "wait_events": list(get_args(WaitEvent)),
        "max_branch_depth": MAX_BRANCH_DEPTH,
    }
