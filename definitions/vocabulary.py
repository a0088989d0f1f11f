"""The closed vocabularies of the language (channels, statuses, ...), shared by models and
fields."""

from typing import Final, Literal, get_args

Channel = Literal[
    "live_chat", "whatsapp", "email", "sms", "messenger", "instagram", "telegram", "voice", "api"
]
Status = Literal["open", "pending", "snoozed", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
#: "note": an internal note (add_note, or sent by the desk): agents see it, no trigger matches it
#: and no SLA clock counts it as a reply.
SenderType = Literal["customer", "agent", "ai", "automation", "note"]
TriggerSenderType = Literal["customer", "agent", "ai"]
Sentiment = Literal["positive", "neutral", "negative"]
SlaType = Literal["first_response", "resolution", "reply"]
EventType = Literal[
    "conversation.created", "message.created", "conversation.status_changed", "conversation.updated"
]
TriggerType = Literal[
    "new_conversation",
    "new_message",
    "sla_breach",
    "status_change",
    "conversation_updated",
    "conversation_idle",
]
ActionName = Literal[
    "auto_reply",
    "route",
    "add_tag",
    "change_status",
    "create_ticket",
    "notify",
    "escalate",
    "remove_tag",
    "set_priority",
    "add_note",
    "set_attribute",
]
#: The fields a conversation.updated event reports as changed (and conversation_updated watches).
UpdatedField = Literal["tags", "priority", "assignee_team", "assignee_agent", "attributes"]

CHANNELS: tuple[str, ...] = get_args(Channel)
STATUSES: tuple[str, ...] = get_args(Status)
PRIORITIES: tuple[str, ...] = get_args(Priority)
SENDER_TYPES: tuple[str, ...] = get_args(SenderType)
SENTIMENTS: tuple[str, ...] = get_args(Sentiment)
SLA_TYPES: tuple[str, ...] = get_args(SlaType)
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
TRIGGER_TYPES: tuple[str, ...] = get_args(TriggerType)
ACTION_NAMES: tuple[str, ...] = get_args(ActionName)
UPDATED_FIELDS: tuple[str, ...] = get_args(UpdatedField)

#: The trigger fired by SLA clocks rather than by events.
SLA_BREACH_TRIGGER: Final = "sla_breach"
#: The trigger fired by idle timers of the conversation tracker (SPEC §2.3).
IDLE_TRIGGER: Final = "conversation_idle"
#: Triggers the per-conversation tracker (`ConversationSla`) fires: trackers exist when one does.
TRACKER_TRIGGERS: frozenset[str] = frozenset({SLA_BREACH_TRIGGER, IDLE_TRIGGER})
#: Who a conversation_idle trigger waits on.
WaitingOn = Literal["customer", "agent"]
#: The statuses a conversation_idle trigger fires in unless it names others.
IDLE_DEFAULT_STATUSES: tuple[Status, ...] = ("open", "pending")
#: Senders that answer a customer: their messages stop the reply clocks and the waiting time.
ANSWERING_SENDERS: frozenset[str] = frozenset({"agent", "ai"})
#: The tag an escalation adds (conditions read it to escalate once).
ESCALATED_TAG = "escalated"

#: Days of the week, as `time.weekday` and schedules spell them.
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The sender type of internal notes.
NOTE_SENDER: Final = "note"
