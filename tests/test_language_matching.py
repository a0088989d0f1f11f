# ruff: noqa: E501  (tables read best one case per line)
"""Trigger matching: all four trigger types, every option, and the reason when it does not match."""

from typing import Any

import pytest
from pydantic import TypeAdapter

from definitions.context import SlaInfo
from definitions.events import Event
from definitions.matching import AnyTrigger, match_sla, match_trigger
from definitions.models import SlaBreachTrigger, Trigger

TRIGGER: TypeAdapter[AnyTrigger] = TypeAdapter(Trigger)


def event(type_: str = "conversation.created", **parts: Any) -> Event:
    raw: dict[str, Any] = {
        "id": "evt-1",
        "type": type_,
        "occurred_at": "2026-11-27T10:00:00Z",
        "conversation": {"id": "c-1", "channel": parts.pop("channel", "whatsapp")},
        "customer": {"id": "u-1", "segment": parts.pop("segment", None)},
    }
    if type_ == "message.created":
        raw["message"] = {
            "id": "m-1",
            "sender_type": parts.pop("sender_type", "customer"),
            "content": parts.pop("content", "hello"),
        }
    raw.update(parts)
    return Event.model_validate(raw)


def created(**parts: Any) -> Event:
    return event("conversation.created", **parts)


def message(**parts: Any) -> Event:
    return event("message.created", **parts)


def status(before: str | None, after: str, **parts: Any) -> Event:
    return event("conversation.status_changed", from_status=before, to_status=after, **parts)


NC = {"type": "new_conversation"}
NM = {"type": "new_message"}
SC = {"type": "status_change"}

# (case id, trigger, event, matched, a fragment of the reason)
# fmt: off
CASES: list[tuple[str, dict[str, Any], Event, bool, str]] = [
    # new_conversation
    ("nc-any", NC, created(), True, "matches"),
    ("nc-channel", {**NC, "channels": ["whatsapp", "sms"]}, created(channel="sms"), True, "matches"),
    ("nc-other-channel", {**NC, "channels": ["whatsapp"]}, created(channel="email"), False, "channel 'email' is not one of ['whatsapp']"),
    ("nc-segment", {**NC, "customer_segments": ["vip"]}, created(segment="vip"), True, "matches"),
    ("nc-segment-any-case", {**NC, "customer_segments": ["VIP"]}, created(segment="Vip"), True, "matches"),
    ("nc-other-segment", {**NC, "customer_segments": ["vip"]}, created(segment="standard"), False, "segment 'standard'"),
    ("nc-no-segment", {**NC, "customer_segments": ["vip"]}, created(), False, "segment None"),
    ("nc-no-customer", {**NC, "customer_segments": ["vip"]}, created(customer=None), False, "segment None"),
    ("nc-both", {**NC, "channels": ["whatsapp"], "customer_segments": ["vip"]}, created(segment="vip"), True, "matches"),
    ("nc-wrong-event", NC, message(), False, "a message.created event does not fire a new_conversation trigger"),
    # new_message
    ("nm-any", NM, message(), True, "matches"),
    ("nm-sender", {**NM, "sender_types": ["agent", "customer"]}, message(), True, "matches"),
    ("nm-other-sender", {**NM, "sender_types": ["agent"]}, message(sender_type="ai"), False, "sender type 'ai'"),
    ("nm-automation-never", NM, message(sender_type="automation"), False, "loop guard"),
    ("nm-automation-even-with-pattern", {**NM, "content_patterns": [".*"]}, message(sender_type="automation"), False, "loop guard"),
    ("nm-channel", {**NM, "channels": ["email"]}, message(channel="email"), True, "matches"),
    ("nm-other-channel", {**NM, "channels": ["email"]}, message(channel="sms"), False, "channel 'sms'"),
    ("nm-pattern", {**NM, "content_patterns": ["refund"]}, message(content="I want a refund"), True, "matches"),
    ("nm-pattern-any-case", {**NM, "content_patterns": ["refund"]}, message(content="REFUND NOW"), True, "matches"),
    ("nm-pattern-unicode-case", {**NM, "content_patterns": ["überweisung"]}, message(content="ÜBERWEISUNG fehlt"), True, "matches"),
    ("nm-pattern-any-one", {**NM, "content_patterns": ["refund", r"money\s+back"]}, message(content="money   back please"), True, "matches"),
    ("nm-pattern-regex", {**NM, "content_patterns": [r"order #?\d{4,}"]}, message(content="order 12345 late"), True, "matches"),
    ("nm-pattern-none", {**NM, "content_patterns": ["refund", "cancel"]}, message(content="hello"), False, "matches none of the patterns"),
    ("nm-pattern-anchored", {**NM, "content_patterns": ["^refund$"]}, message(content="a refund"), False, "none of the patterns"),
    ("nm-all-options", {**NM, "sender_types": ["customer"], "channels": ["whatsapp"], "content_patterns": ["refund"]}, message(content="refund"), True, "matches"),
    ("nm-wrong-event", NM, created(), False, "does not fire a new_message trigger"),
    # status_change
    ("sc-any", SC, status("open", "resolved"), True, "matches"),
    ("sc-unchanged", SC, status("open", "open"), False, "did not change"),
    ("sc-from", {**SC, "from_statuses": ["resolved", "closed"]}, status("closed", "open"), True, "matches"),
    ("sc-other-from", {**SC, "from_statuses": ["resolved"]}, status("pending", "open"), False, "previous status 'pending'"),
    ("sc-unknown-from", {**SC, "from_statuses": ["resolved"]}, status(None, "open"), False, "previous status None"),
    ("sc-to", {**SC, "to_statuses": ["resolved"]}, status("open", "resolved"), True, "matches"),
    ("sc-other-to", {**SC, "to_statuses": ["resolved"]}, status("open", "pending"), False, "new status 'pending'"),
    ("sc-from-and-to", {**SC, "from_statuses": ["resolved"], "to_statuses": ["open"]}, status("resolved", "open"), True, "matches"),
    ("sc-transition", {**SC, "transitions": [{"from": "resolved", "to": "open"}, {"from": "closed", "to": "open"}]}, status("closed", "open"), True, "matches"),
    ("sc-not-a-transition", {**SC, "transitions": [{"from": "resolved", "to": "open"}]}, status("pending", "open"), False, "pending -> open is not one of the listed transitions"),
    # transitions override from/to statuses entirely
    ("sc-transition-overrides-lists", {**SC, "from_statuses": ["open"], "to_statuses": ["closed"], "transitions": [{"from": "resolved", "to": "open"}]}, status("resolved", "open"), True, "matches"),
    ("sc-lists-ignored-with-transitions", {**SC, "from_statuses": ["open"], "to_statuses": ["closed"], "transitions": [{"from": "resolved", "to": "open"}]}, status("open", "closed"), False, "listed transitions"),
    ("sc-wrong-event", SC, created(), False, "does not fire a status_change trigger"),
    # sla_breach never fires from an event
    ("sla-from-event", {"type": "sla_breach", "sla_type": "reply", "threshold": "4h"}, message(), False, "does not fire a sla_breach trigger"),
]
# fmt: on


@pytest.mark.parametrize(
    ("trigger", "evt", "matched", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_match_trigger(trigger: dict[str, Any], evt: Event, matched: bool, reason: str) -> None:
    result = match_trigger(TRIGGER.validate_python(trigger), evt)
    assert result.matched is matched
    assert reason in result.reason


def test_every_trigger_type_is_covered() -> None:
    assert {c[1]["type"] for c in CASES} == {
        "new_conversation",
        "new_message",
        "status_change",
        "sla_breach",
    }


SLA_TRIGGER = {"type": "sla_breach", "sla_type": "first_response", "threshold": "30m"}


@pytest.mark.parametrize(
    ("sla", "matched", "reason"),
    [
        (SlaInfo(type="first_response", elapsed_minutes=30, threshold="30m"), True, "matches"),
        (SlaInfo(type="first_response", elapsed_minutes=95.5, threshold="30m"), True, "matches"),
        (
            SlaInfo(type="first_response", elapsed_minutes=29.9, threshold="30m"),
            False,
            "has run 29.9 min, under the threshold of 30m",
        ),
        (SlaInfo(type="reply", elapsed_minutes=40, threshold="30m"), False, "SLA clock 'reply'"),
        (None, False, "sla_breach triggers fire from SLA clocks"),
    ],
)
def test_match_sla(sla: SlaInfo | None, matched: bool, reason: str) -> None:
    trigger = TRIGGER.validate_python(SLA_TRIGGER)
    assert isinstance(trigger, SlaBreachTrigger)
    result = match_sla(trigger, sla)
    assert result.matched is matched
    assert reason in result.reason


def _started_by(initiator: str | None) -> Event:
    conversation: dict[str, Any] = {"id": "c-1", "channel": "email"}
    if initiator:
        conversation["initiated_by"] = initiator
    return created(conversation=conversation)


@pytest.mark.parametrize(
    ("wanted", "initiator", "matched"),
    [
        ("customer", "customer", True),
        ("customer", "agent", False),
        ("customer", None, False),
        ("agent", "agent", True),
        ("any", "agent", True),
        ("any", None, True),
        (None, "agent", True),
    ],
)
def test_new_conversation_initiated_by(
    wanted: str | None, initiator: str | None, matched: bool
) -> None:
    trigger: dict[str, Any] = {"type": "new_conversation"}
    if wanted:
        trigger["initiated_by"] = wanted
    result = match_trigger(TRIGGER.validate_python(trigger), _started_by(initiator))
    assert result.matched is matched, result.reason
    if not matched:
        assert f"not by the {wanted}" in result.reason
