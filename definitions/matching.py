"""Does an event fire a trigger? Pure, and explains itself for the dry run."""

from collections.abc import Sequence
from dataclasses import dataclass

from definitions.context import SlaInfo
from definitions.durations import format_duration, parse_duration
from definitions.events import Event
from definitions.models import (
    NewConversationTrigger,
    NewMessageTrigger,
    SlaBreachTrigger,
    StatusChangeTrigger,
)
from definitions.operators import regex_search

AnyTrigger = NewConversationTrigger | NewMessageTrigger | SlaBreachTrigger | StatusChangeTrigger

# Which trigger type an event type can fire (SLA breaches come from the SLA tracker, not events).
TRIGGER_FOR_EVENT = {
    "conversation.created": "new_conversation",
    "message.created": "new_message",
    "conversation.status_changed": "status_change",
}


@dataclass(frozen=True)
class MatchResult:
    matched: bool
    reason: str


def _yes() -> MatchResult:
    return MatchResult(True, "matches")


def _no(reason: str) -> MatchResult:
    return MatchResult(False, reason)


def match_trigger(trigger: AnyTrigger, event: Event) -> MatchResult:
    """Whether `event` fires `trigger`, with the reason when it does not."""
    expected = TRIGGER_FOR_EVENT.get(event.type)
    if expected != trigger.type:
        return _no(f"a {event.type} event does not fire a {trigger.type} trigger")
    if isinstance(trigger, NewConversationTrigger):
        return _match_new_conversation(trigger, event)
    if isinstance(trigger, NewMessageTrigger):
        return _match_new_message(trigger, event)
    if isinstance(trigger, StatusChangeTrigger):
        return _match_status_change(trigger, event)
    return _no("sla_breach triggers fire from SLA clocks, not from events")


def _match_channel(channels: Sequence[str], event: Event) -> MatchResult | None:
    if channels and event.conversation.channel not in channels:
        return _no(f"channel {event.conversation.channel!r} is not one of {list(channels)}")
    return None


def _match_new_conversation(trigger: NewConversationTrigger, event: Event) -> MatchResult:
    if miss := _match_channel(trigger.channels, event):
        return miss
    if trigger.customer_segments:
        segment = event.customer.segment if event.customer else None
        wanted = [s.casefold() for s in trigger.customer_segments]
        if segment is None or segment.casefold() not in wanted:
            return _no(f"customer segment {segment!r} is not one of {trigger.customer_segments}")
    wanted_initiator = trigger.initiated_by
    if wanted_initiator not in (None, "any"):
        initiator = event.conversation.initiated_by
        if initiator != wanted_initiator:
            return _no(
                f"the conversation was started by {initiator or 'an unknown party'}, "
                f"not by the {wanted_initiator}"
            )
    return _yes()


def _match_new_message(trigger: NewMessageTrigger, event: Event) -> MatchResult:
    message = event.message
    if message is None:
        return _no("the event carries no message")
    if message.sender_type == "automation":
        return _no("messages written by automations never fire new_message (loop guard)")
    if trigger.sender_types and message.sender_type not in trigger.sender_types:
        return _no(f"sender type {message.sender_type!r} is not one of {trigger.sender_types}")
    if miss := _match_channel(trigger.channels, event):
        return miss
    if trigger.content_patterns and not any(
        regex_search(pattern, message.content) for pattern in trigger.content_patterns
    ):
        return _no(f"the message matches none of the patterns {trigger.content_patterns}")
    return _yes()


def _match_status_change(trigger: StatusChangeTrigger, event: Event) -> MatchResult:
    before, after = event.from_status, event.to_status
    if before == after:
        return _no(f"the status did not change (still {after!r})")
    if trigger.transitions:
        if not any(t.from_ == before and t.to == after for t in trigger.transitions):
            return _no(f"{before} -> {after} is not one of the listed transitions")
        return _yes()
    if trigger.from_statuses and before not in trigger.from_statuses:
        return _no(f"previous status {before!r} is not one of {trigger.from_statuses}")
    if trigger.to_statuses and after not in trigger.to_statuses:
        return _no(f"new status {after!r} is not one of {trigger.to_statuses}")
    return _yes()


def match_sla(trigger: SlaBreachTrigger, sla: SlaInfo | None) -> MatchResult:
    """Whether a breached SLA clock (type and elapsed time) fires an sla_breach trigger."""
    if sla is None:
        return _no(
            "sla_breach triggers fire from SLA clocks, not from events: give the SLA clock "
            "(type and elapsed minutes)"
        )
    if sla.type != trigger.sla_type:
        return _no(f"the SLA clock {sla.type!r} is not the trigger's {trigger.sla_type!r}")
    threshold = parse_duration(trigger.threshold)
    if sla.elapsed_minutes * 60 < threshold.total_seconds():
        return _no(
            f"the {sla.type} clock has run {sla.elapsed_minutes:g} min, under the threshold of "
            f"{format_duration(threshold)}"
        )
    return _yes()
