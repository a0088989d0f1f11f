"""The desk store (SPEC §3): the mirror of every conversation supportflow has seen, and the
actions of SPEC §2.2 applied to it, each exactly once per (scope, step id).

- `mirror_event(session, event)` upserts the conversation, customer and message an event carries.
- `load_state(session, conversation_id, now)` is the fresh state conditions and templates read.
- `conversation_view(session, conversation_id)` is what GET /conversations/{id} shows.
- `apply_action(engine, action_input)` applies one action step. The effect and its row in the
  `ActionEffectRow` ledger are written in ONE transaction, so an action either happened and is
  recorded, or neither; a second call for the same (scope, step id) — an activity retry, a replayed
  or re-run workflow, or a racing attempt — returns the stored result with `replayed=True` and
  changes nothing.

Merging rules of the mirror (the desk is the source of truth for what it sends, supportflow for what
its actions did): a new conversation is taken from the event as is; for a known one, later events
add their tags (union), and replace priority, subject and assignment only when they carry them
explicitly (non-empty); the status changes only through `conversation.status_changed` events and
`change_status`. Customers take every field the event sets. Messages are inserted once (by id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from definitions.context import ConversationState, CustomerState, build_context
from definitions.events import ConversationIn, CustomerIn, Event, MessageIn
from definitions.models import (
    ACTION_OUTPUTS,
    AddTagStep,
    AutoReplyStep,
    ChangeStatusStep,
    CreateTicketStep,
    EscalateStep,
    NotifyStep,
    RouteStep,
)
from definitions.placeholders import render
from definitions.runs import ActionInput, ActionResult, WebhookDelivery
from store import sentiment
from store.db import session_scope
from store.models import (
    ActionEffectRow,
    AgentRow,
    ConversationRow,
    CustomerRow,
    MessageRow,
    NotificationRow,
    TeamRow,
    TicketRow,
)

# Statuses in which a conversation counts towards an agent's load (least_busy).
OPEN_STATUSES = ("open", "pending", "snoozed")
# Sender types that answer a customer (they stop the reply clock).
ANSWERING_SENDERS = ("agent", "ai")
ESCALATED_TAG = "escalated"
MAX_EVENT_ID = 300


class DeskNotFound(LookupError):
    """A team, agent or conversation an action needs does not exist (a permanent failure).

    `str(exc)` is a sentence meant for the admin, e.g. "team 'vip-support' does not exist — create
    it with PUT /teams/vip-support"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def team_not_found(team_id: str) -> DeskNotFound:
    return DeskNotFound(f"team {team_id!r} does not exist — create it with PUT /teams/{team_id}")


def agent_not_found(agent_id: str, role: str = "") -> DeskNotFound:
    who = f"agent {agent_id!r}{f' ({role})' if role else ''}"
    return DeskNotFound(f"{who} does not exist — create it with PUT /agents/{agent_id}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetimes everywhere (SQLite hands back naive ones: they are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    aware = as_utc(value)
    return aware.isoformat() if aware else None


def _union(current: Iterable[str], extra: Iterable[str]) -> list[str]:
    """Tags of both, first seen first; linear (a dict keeps insertion order)."""
    return list(dict.fromkeys([*current, *extra]))


# ---------------------------------------------------------------- sentiment


def fill_sentiment(event: Event) -> Event:
    """The event with its customer message's sentiment computed when the desk did not send it."""
    message = event.message
    if message is None or message.sender_type != "customer" or message.sentiment is not None:
        return event
    label, value = sentiment.score(message.content)
    filled = message.model_copy(update={"sentiment": label, "sentiment_score": value})
    return event.model_copy(update={"message": filled})


def _message_for_context(session: Session, message: MessageIn) -> MessageIn:
    """The triggering message as it was, with a sentiment (stored, or computed) if it had none."""
    if message.sentiment is not None:
        return message
    stored = session.get(MessageRow, message.id)
    if stored is not None and stored.sentiment is not None:
        label, value = stored.sentiment, stored.sentiment_score
    else:
        label, value = sentiment.score(message.content)
    return message.model_copy(update={"sentiment": label, "sentiment_score": value})


def event_for_context(session: Session, event: Event) -> Event:
    if event.message is None:
        return event
    return event.model_copy(update={"message": _message_for_context(session, event.message)})


# ---------------------------------------------------------------- the mirror


def _mirror_customer(session: Session, customer: CustomerIn) -> None:
    row = session.get(CustomerRow, customer.id)
    given = customer.model_dump(include=customer.model_fields_set - {"id"})
    if row is None:
        row = CustomerRow(id=customer.id)
        for key, value in customer.model_dump(exclude={"id"}).items():
            setattr(row, key, value)
    else:
        for key, value in given.items():
            setattr(row, key, dict(value) if key == "attributes" else value)
    session.add(row)


def _mirror_conversation(session: Session, event: Event, now: datetime) -> ConversationRow:
    conv = event.conversation
    customer_id = event.customer.id if event.customer else None
    row = session.get(ConversationRow, conv.id)
    if row is None:
        row = ConversationRow(
            id=conv.id,
            channel=conv.channel,
            status=conv.status,
            priority=conv.priority,
            subject=conv.subject,
            tags=_union([], conv.tags),
            assignee_agent=conv.assignee_agent,
            assignee_team=conv.assignee_team,
            customer_id=customer_id,
            created_at=as_utc(conv.created_at) or as_utc(event.occurred_at) or now,
            updated_at=now,
        )
        if event.type == "conversation.status_changed" and event.to_status:
            row.status = event.to_status
        session.add(row)
        return row
    given = conv.model_fields_set
    if customer_id is not None:
        row.customer_id = customer_id
    if conv.tags:
        row.tags = _union(row.tags, conv.tags)
    if "priority" in given:
        row.priority = conv.priority
    if "subject" in given and conv.subject:
        row.subject = conv.subject
    if conv.assignee_agent:
        row.assignee_agent = conv.assignee_agent
    if conv.assignee_team:
        row.assignee_team = conv.assignee_team
    if event.type == "conversation.status_changed" and event.to_status:
        row.status = event.to_status
    row.updated_at = now
    session.add(row)
    return row


def _mirror_message(
    session: Session, conversation: ConversationRow, event: Event, message: MessageIn
) -> None:
    row = session.get(MessageRow, message.id)
    if row is not None:  # already mirrored: idempotent, only fill a missing sentiment
        if row.sentiment is None and row.sender_type == "customer":
            row.sentiment, row.sentiment_score = sentiment.score(row.content)
            session.add(row)
        return
    label, value = message.sentiment, message.sentiment_score
    if label is None and message.sender_type == "customer":
        label, value = sentiment.score(message.content)
    created_at = as_utc(message.created_at) or as_utc(event.occurred_at) or utcnow()
    session.add(
        MessageRow(
            id=message.id,
            conversation_id=conversation.id,
            sender_type=message.sender_type,
            content=message.content,
            sentiment=label,
            sentiment_score=value,
            language=message.language,
            created_at=created_at,
        )
    )
    if message.sender_type == "customer":
        if conversation.awaiting_reply_since is None:
            conversation.awaiting_reply_since = created_at
    elif message.sender_type in ANSWERING_SENDERS:
        conversation.awaiting_reply_since = None
    session.add(conversation)


def mirror_event(session: Session, event: Event, *, now: datetime | None = None) -> None:
    """Upsert the conversation, customer and message of `event` (idempotent by their ids). Does not
    commit: the caller owns the transaction."""
    now = now or utcnow()
    if event.customer is not None:
        _mirror_customer(session, event.customer)
    conversation = _mirror_conversation(session, event, now)
    if event.message is not None:
        _mirror_message(session, conversation, event, event.message)
    session.flush()


# ---------------------------------------------------------------- fresh state


def _message_count(session: Session, conversation_id: str) -> int:
    query = (
        select(func.count())
        .select_from(MessageRow)
        .where(col(MessageRow.conversation_id) == conversation_id)
    )
    return int(session.exec(query).one())


def _state_of(
    session: Session, row: ConversationRow, now: datetime
) -> tuple[ConversationState, CustomerState | None]:
    waiting = as_utc(row.awaiting_reply_since)
    conversation = ConversationState(
        id=row.id,
        channel=row.channel,
        status=row.status,  # type: ignore[arg-type]
        priority=row.priority,  # type: ignore[arg-type]
        subject=row.subject,
        tags=list(row.tags),
        assignee_agent=row.assignee_agent,
        assignee_team=row.assignee_team,
        message_count=_message_count(session, row.id),
        waiting_minutes=(
            round(max((now - waiting).total_seconds(), 0.0) / 60, 2) if waiting else None
        ),
        created_at=as_utc(row.created_at),
    )
    customer = None
    if row.customer_id:
        customer_row = session.get(CustomerRow, row.customer_id)
        if customer_row is not None:
            customer = CustomerState.model_validate(customer_row.model_dump())
    return conversation, customer


def load_state(
    session: Session, conversation_id: str, now: datetime | None = None
) -> tuple[ConversationState, CustomerState | None]:
    """The conversation and its customer as the desk store has them now (fresh state).

    Raises DeskNotFound when the conversation was never mirrored."""
    row = session.get(ConversationRow, conversation_id)
    if row is None:
        raise DeskNotFound(f"conversation {conversation_id!r} is not in the desk store")
    return _state_of(session, row, as_utc(now) or utcnow())


def conversation_view(session: Session, conversation_id: str) -> dict[str, Any] | None:
    """GET /conversations/{id}: the mirror of one conversation as JSON-ready data, or None."""
    row = session.get(ConversationRow, conversation_id)
    if row is None:
        return None
    customer = session.get(CustomerRow, row.customer_id) if row.customer_id else None
    messages = session.exec(
        select(MessageRow)
        .where(col(MessageRow.conversation_id) == conversation_id)
        .order_by(col(MessageRow.created_at), col(MessageRow.id))
    ).all()
    tickets = session.exec(
        select(TicketRow)
        .where(col(TicketRow.conversation_id) == conversation_id)
        .order_by(col(TicketRow.created_at), col(TicketRow.id))
    ).all()
    notifications = session.exec(
        select(NotificationRow)
        .where(col(NotificationRow.conversation_id) == conversation_id)
        .order_by(col(NotificationRow.created_at), col(NotificationRow.id))
    ).all()
    return {
        "id": row.id,
        "channel": row.channel,
        "status": row.status,
        "priority": row.priority,
        "subject": row.subject,
        "tags": list(row.tags),
        "assignment": {"agent": row.assignee_agent, "team": row.assignee_team},
        "customer": customer.model_dump(mode="json") if customer else None,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "awaiting_reply_since": _iso(row.awaiting_reply_since),
        "message_count": len(messages),
        "messages": [
            {
                "id": m.id,
                "sender_type": m.sender_type,
                "content": m.content,
                "sentiment": m.sentiment,
                "sentiment_score": m.sentiment_score,
                "language": m.language,
                "created_at": _iso(m.created_at),
                "source": m.source,
            }
            for m in messages
        ],
        "tickets": [
            {
                "id": t.id,
                "title": t.title,
                "description": t.description,
                "priority": t.priority,
                "team": t.team,
                "created_at": _iso(t.created_at),
                "source": t.source,
            }
            for t in tickets
        ],
        "notifications": [
            {
                "id": n.id,
                "recipient_agent": n.recipient_agent,
                "message": n.message,
                "created_at": _iso(n.created_at),
                "source": n.source,
            }
            for n in notifications
        ],
    }


# ---------------------------------------------------------------- actions


def _effect_id(prefix: str, scope: str, step_id: str) -> str:
    """A short deterministic id for a row an action creates (a second line of idempotency)."""
    digest = hashlib.sha256(f"{scope}\x00{step_id}".encode()).hexdigest()
    return f"{prefix}-{digest[:16]}"


def emitted_event_id(run_id: str, step_id: str) -> str:
    """`{run_id}:{step_id}`, or a digest of it when that would be longer than an event id may be."""
    plain = f"{run_id}:{step_id}"
    if len(plain) <= MAX_EVENT_ID:
        return plain
    return f"evt-{hashlib.sha256(plain.encode()).hexdigest()}"


def _require_team(session: Session, team_id: str, *, lock: bool = False) -> TeamRow:
    query = select(TeamRow).where(col(TeamRow.id) == team_id)
    if lock:
        query = query.with_for_update()
    team = session.exec(query).first()
    if team is None:
        raise team_not_found(team_id)
    return team


def _require_agent(session: Session, agent_id: str, role: str = "") -> AgentRow:
    agent = session.get(AgentRow, agent_id)
    if agent is None:
        raise agent_not_found(agent_id, role)
    return agent


def _available(session: Session, members: list[str]) -> list[str]:
    if not members:
        return []
    rows = session.exec(
        select(AgentRow).where(col(AgentRow.id).in_(members), col(AgentRow.available))
    ).all()
    available = {row.id for row in rows}
    return [member for member in members if member in available]


def _pick_round_robin(session: Session, team: TeamRow) -> str | None:
    """The next available member from the team's cursor; advances the cursor past it."""
    members = list(team.members)
    available = set(_available(session, members))
    for offset in range(len(members)):
        index = (team.round_robin_cursor + offset) % len(members)
        if members[index] in available:
            team.round_robin_cursor = (index + 1) % len(members)
            session.add(team)
            return members[index]
    return None


def _pick_least_busy(session: Session, team: TeamRow, conversation_id: str) -> str | None:
    """The available member with the fewest open conversations (ties: team order)."""
    candidates = _available(session, list(team.members))
    if not candidates:
        return None
    rows = session.exec(
        select(ConversationRow.assignee_agent, func.count())
        .where(
            col(ConversationRow.assignee_agent).in_(candidates),
            col(ConversationRow.status).in_(OPEN_STATUSES),
            col(ConversationRow.id) != conversation_id,
        )
        .group_by(col(ConversationRow.assignee_agent))
    ).all()
    load = {agent: int(count) for agent, count in rows}
    return min(candidates, key=lambda member: (load.get(member, 0), candidates.index(member)))


def _notify(
    session: Session,
    conversation_id: str,
    recipients: list[str],
    message: str,
    source: str,
    scope: str,
    step_id: str,
    now: datetime,
) -> list[str]:
    base = _effect_id("ntf", scope, step_id)
    ids = []
    for index, recipient in enumerate(recipients):
        notification_id = f"{base}-{index}"
        session.add(
            NotificationRow(
                id=notification_id,
                conversation_id=conversation_id,
                recipient_agent=recipient,
                message=message,
                created_at=now,
                source=source,
            )
        )
        ids.append(notification_id)
    return ids


def _conversation_for(session: Session, event: Event, now: datetime) -> ConversationRow:
    row = session.get(ConversationRow, event.conversation.id)
    if row is None:  # never mirrored (should not happen: ingestion mirrors first): mirror it now
        mirror_event(session, event.model_copy(update={"message": None}), now=now)
        row = session.get(ConversationRow, event.conversation.id)
        assert row is not None
    return row


def _status_event(
    session: Session, args: ActionInput, row: ConversationRow, previous: str, now: datetime
) -> Event:
    customer = session.get(CustomerRow, row.customer_id) if row.customer_id else None
    return Event(
        id=emitted_event_id(args.run_id, args.step.id),
        type="conversation.status_changed",
        occurred_at=now,
        conversation=ConversationIn.model_validate(
            {
                "id": row.id,
                "channel": row.channel,
                "status": row.status,
                "priority": row.priority,
                "subject": row.subject,
                "tags": list(row.tags),
                "assignee_agent": row.assignee_agent,
                "assignee_team": row.assignee_team,
                "created_at": as_utc(row.created_at),
            }
        ),
        customer=CustomerIn.model_validate(customer.model_dump()) if customer else None,
        from_status=previous,  # type: ignore[arg-type]
        to_status=row.status,  # type: ignore[arg-type]
        causal_chain=list(args.causal_chain),
    )


def _apply(session: Session, args: ActionInput, now: datetime) -> ActionResult:
    step, scope = args.step, args.idempotency_scope
    source = f"{scope}:{step.id}"
    # The ledger row goes first: a racing attempt collides here, before any effect.
    ledger = ActionEffectRow(
        scope=scope,
        step_id=step.id,
        action=step.action,
        conversation_id=args.event.conversation.id,
        created_at=now,
    )
    session.add(ledger)
    session.flush()

    row = _conversation_for(session, args.event, now)
    conversation, customer = _state_of(session, row, now)
    context = build_context(
        conversation,
        customer,
        event_for_context(session, args.event),
        args.sla,
        args.step_outputs,
    )
    rendered: dict[str, Any] = step.params.model_dump(mode="json")
    for name, template in step.params.templates().items():
        rendered[name] = render(template, context)

    output: dict[str, Any]
    emitted: list[Event] = []
    if isinstance(step, AutoReplyStep):
        message_id = _effect_id("auto", scope, step.id)
        session.add(
            MessageRow(
                id=message_id,
                conversation_id=row.id,
                sender_type="automation",
                content=rendered["message"],
                created_at=now,
                source=source,
            )
        )
        output = {"message_id": message_id, "message": rendered["message"]}
    elif isinstance(step, RouteStep):
        params = step.params
        if params.agent is not None:
            _require_agent(session, params.agent)
            row.assignee_agent = params.agent
        else:
            assert params.team is not None
            team = _require_team(session, params.team, lock=params.strategy == "round_robin")
            row.assignee_team = team.id
            if params.strategy == "round_robin":
                row.assignee_agent = _pick_round_robin(session, team)
            elif params.strategy == "least_busy":
                row.assignee_agent = _pick_least_busy(session, team, row.id)
            else:
                row.assignee_agent = None  # the team's queue
        output = {"agent": row.assignee_agent, "team": row.assignee_team}
    elif isinstance(step, AddTagStep):
        added = list(dict.fromkeys(step.params.tags))
        row.tags = _union(row.tags, added)
        output = {"tags": added}
    elif isinstance(step, ChangeStatusStep):
        previous = row.status
        row.status = step.params.status
        if previous != row.status:
            emitted.append(_status_event(session, args, row, previous, now))
        output = {"status": row.status, "previous_status": previous}
    elif isinstance(step, CreateTicketStep):
        if step.params.team is not None:
            _require_team(session, step.params.team)
        ticket_id = _effect_id("TCK", scope, step.id)
        session.add(
            TicketRow(
                id=ticket_id,
                conversation_id=row.id,
                title=rendered["title"],
                description=rendered["description"],
                priority=step.params.priority,
                team=step.params.team,
                created_at=now,
                source=source,
            )
        )
        output = {"ticket_id": ticket_id, "title": rendered["title"]}
    elif isinstance(step, NotifyStep):
        if step.params.agent is not None:
            recipients = [_require_agent(session, step.params.agent).id]
        else:
            assert step.params.team is not None
            recipients = list(_require_team(session, step.params.team).members)
        ids = _notify(session, row.id, recipients, rendered["message"], source, scope, step.id, now)
        output = {"recipients": recipients, "notification_ids": ids}
    elif isinstance(step, EscalateStep):
        target = step.params.to
        if target is not None:
            _require_agent(session, target)
        else:
            if row.assignee_team is None:
                raise DeskNotFound(
                    f"escalate has no 'to' and conversation {row.id!r} has no assigned team "
                    "whose supervisor could take it — set 'to' or route to a team first"
                )
            team = _require_team(session, row.assignee_team)
            if team.supervisor is None:
                raise DeskNotFound(
                    f"team {team.id!r} has no supervisor to escalate to — set one with "
                    f"PUT /teams/{team.id} or give the escalate step a 'to'"
                )
            target = _require_agent(session, team.supervisor, f"supervisor of team {team.id!r}").id
        row.priority = step.params.priority
        row.assignee_agent = target
        row.tags = _union(row.tags, [ESCALATED_TAG])
        _notify(
            session,
            row.id,
            [target],
            f"Escalated to you: {rendered['reason']}",
            source,
            scope,
            step.id,
            now,
        )
        output = {"agent": target, "priority": row.priority, "reason": rendered["reason"]}
    else:  # pragma: no cover - the ActionStep union is closed
        raise TypeError(f"unknown action step {step!r}")

    assert set(output) == set(ACTION_OUTPUTS[step.action]), (step.action, output)
    row.updated_at = now
    session.add(row)
    result = ActionResult(
        output=output,
        rendered=rendered,
        emitted_events=emitted,
        delivery=WebhookDelivery(
            idempotency_key=source,
            action=step.action,
            conversation_id=row.id,
            payload={
                "run_id": args.run_id,
                "step_id": step.id,
                "event_id": args.event.id,
                "params": rendered,
                "output": output,
            },
        ),
    )
    ledger.output = output
    ledger.result = result.model_dump(mode="json")
    session.add(ledger)
    return result


def stored_result(engine: Engine, scope: str, step_id: str) -> ActionResult | None:
    """The recorded result of (scope, step id), marked replayed, or None if it never took effect."""
    with Session(engine) as session:
        row = session.get(ActionEffectRow, (scope, step_id))
        if row is None:
            return None
        if row.result:
            result = ActionResult.model_validate(row.result)
        else:
            result = ActionResult(output=dict(row.output))
        return result.model_copy(update={"replayed": True})


def apply_action(
    engine: Engine,
    args: ActionInput,
    *,
    now: datetime | None = None,
    after_commit: Callable[[ActionResult], None] | None = None,
) -> ActionResult:
    """Apply one action step exactly once per (args.idempotency_scope, args.step.id).

    Raises DeskNotFound (nothing written) for an unknown team/agent or an escalation with nobody
    to escalate to. Database errors propagate (the caller retries). `after_commit` runs after the
    effect is committed (tests use it to simulate a crash before the result is returned)."""
    now = as_utc(now) or utcnow()
    scope, step_id = args.idempotency_scope, args.step.id
    existing = stored_result(engine, scope, step_id)
    if existing is not None:
        return existing
    try:
        with session_scope(engine) as session:
            result = _apply(session, args, now)
    except IntegrityError:
        # A racing attempt recorded the same (scope, step) first: its result is the result.
        existing = stored_result(engine, scope, step_id)
        if existing is None:
            raise
        return existing
    if after_commit is not None:
        after_commit(result)
    return result
