"""`TriggerMatcher` (one pass for many triggers) decides exactly as `match_trigger` one by one."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from definitions.events import Event
from definitions.matching import AnyTrigger, match_trigger
from definitions.models import Trigger
from definitions.trigger_matcher import TriggerMatcher

TRIGGER: TypeAdapter[AnyTrigger] = TypeAdapter(Trigger)

WORDS = ["refund", "Refund", "order", "cancel", "hello", "ü"]
PATTERNS = [*WORDS, r"order #\d+", r"^hello", r"refund$", r"can+cel", "x|y", r"(?i)ORDER"]
SENDERS = ["customer", "agent", "automation", "note"]
CHANNELS = ["whatsapp", "email"]

new_message = st.fixed_dictionaries(
    {"type": st.just("new_message")},
    optional={
        "channels": st.lists(st.sampled_from(CHANNELS), max_size=2, unique=True),
        "sender_types": st.lists(st.sampled_from(["customer", "agent"]), max_size=2, unique=True),
        "content_patterns": st.lists(st.sampled_from(PATTERNS), max_size=3),
    },
)
other = st.sampled_from(
    [
        {"type": "new_conversation"},
        {"type": "new_conversation", "channels": ["email"]},
        {"type": "status_change", "to_statuses": ["resolved"]},
        {"type": "conversation_updated", "fields": ["priority"]},
    ]
)
triggers = st.lists(st.one_of(new_message, other), max_size=12)


def _event(type_: str, sender: str, content: str, channel: str) -> Event:
    raw: dict[str, Any] = {
        "id": "evt-1",
        "type": type_,
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": {"id": "c-1", "channel": channel},
        "customer": {"id": "u-1"},
    }
    if type_ == "message.created":
        raw["message"] = {"id": "m-1", "sender_type": sender, "content": content}
    if type_ == "conversation.status_changed":
        raw.update(from_status="open", to_status="resolved")
    return Event.model_validate(raw)


events = st.builds(
    _event,
    st.sampled_from(["message.created", "message.created", "conversation.created"]),
    st.sampled_from(SENDERS),
    st.lists(st.sampled_from([*WORDS, " ", "#12", "can", "ccel"]), max_size=6).map("".join),
    st.sampled_from(CHANNELS),
)


@settings(max_examples=300, deadline=None)
@given(raw_triggers=triggers, event=events)
def test_the_matcher_agrees_with_match_trigger(raw_triggers: list[Any], event: Event) -> None:
    parsed = [TRIGGER.validate_python(raw) for raw in raw_triggers]
    expected = [i for i, trigger in enumerate(parsed) if match_trigger(trigger, event).matched]
    assert TriggerMatcher(list(enumerate(parsed))).matching(event) == expected


def test_a_thousand_pattern_triggers_make_one_candidate() -> None:
    parsed = [
        TRIGGER.validate_python({"type": "new_message", "content_patterns": [f"never-{i}"]})
        for i in range(1000)
    ]
    parsed.append(TRIGGER.validate_python({"type": "new_message", "content_patterns": ["refund"]}))
    matcher = TriggerMatcher(list(enumerate(parsed)))
    event = _event("message.created", "customer", "a refund please", "email")
    assert matcher.matching(event) == [1000]
    assert matcher._survivors(event) == [1000]  # one full check, not a thousand
