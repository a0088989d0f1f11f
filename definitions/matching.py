"""Does an event fire a trigger? Pure, and explains itself for the dry run."""

from collections.abc import Sequence
from dataclasses import dataclass

from definitions.context import SlaInfo
from definitions.durations import format_duration, parse_duration
from definitions.events import Event
from definitions.models import (
    ConversationIdleTrigger,
    ConversationUpdatedTrigger,
    NewConversationTrigger,
    NewMessageTrigger,
    SlaBreachTrigger,
    StatusChangeTrigger,
    WaitEvent,
)
from definitions.operators import regex_search
from definitions.vocabulary import ANSWERING_SENDERS

AnyTrigger = (
    NewConversationTrigger
    | NewMessageTrigger
    | SlaBreachTrigger
    | StatusChangeTrigger
    | ConversationUpdatedTrigger
    | ConversationIdleTrigger
)

# Which trigger type an event type can fire (SLA breaches come from the SLA tracker, not events).
TRIGGER_FOR_EVENT = {
    "conversation.created": "new_conversation",
    "message.created": "new_message",
    "conversation.status_changed": "status_change",
    "conversation.updated": "conversation_updated",
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
    if isinstance(trigger, ConversationUpdatedTrigger):
        return _match_conversation_updated(trigger, event)
    return _no(f"{trigger.type} triggers fire from the conversation's timers, not from events")


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
    if message.sender_type == "note":
        return _no("internal notes never fire new_message")
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


def _match_conversation_updated(trigger: ConversationUpdatedTrigger, event: Event) -> MatchResult:
    changed = list(event.changes)
    if trigger.fields and not any(name in trigger.fields for name in changed):
        return _no(f"changed fields {changed} include none of {trigger.fields}")
    if trigger.tags_added or trigger.tags_removed:
        added = [t.casefold() for t in event.tags_added()]
        removed = [t.casefold() for t in event.tags_removed()]
        hit_added = any(t.casefold() in added for t in trigger.tags_added)
        hit_removed = any(t.casefold() in removed for t in trigger.tags_removed)
        if not (hit_added or hit_removed):
            wanted = []
            if trigger.tags_added:
                wanted.append(f"added {trigger.tags_added} (added: {event.tags_added()})")
            if trigger.tags_removed:
                wanted.append(f"removed {trigger.tags_removed} (removed: {event.tags_removed()})")
            return _no("no tag was " + " or ".join(wanted))
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


def match_idle(trigger: ConversationIdleTrigger, event: Event) -> MatchResult:
    """Whether a conversation_idle trigger could fire for the event's conversation (its status);
    the idle time itself comes from the tracker's timers, so a dry run assumes it has passed."""
    status = event.conversation.status
    if trigger.statuses and status not in trigger.statuses:
        return _no(f"status {status!r} is not one of {trigger.statuses}")
    hours = " business" if trigger.business_hours else ""
    return MatchResult(
        True,
        f"assuming the conversation has waited on the {trigger.waiting_on} for "
        f"{trigger.idle_for}{hours} (the tracker's idle timer decides)",
    )


def wait_change(event: Event) -> WaitEvent | None:
    """What a `wait_for` could see in `event`: a customer message, an agent (or AI) message or a
    status change. Automation messages and notes never end a wait. The one reading of it, for
    the desk's journal (desk/waits.py) and for a backtest (definitions/backtest.py)."""
    if event.type == "conversation.status_changed" and event.to_status:
        return "status_change"
    if event.message is not None:
        if event.message.sender_type == "customer":
            return "customer_message"
        if event.message.sender_type in ANSWERING_SENDERS:
            return "agent_message"
    return None
