"""The actions of SPEC §2.2 applied to the desk, each exactly once per (scope, step id).

`apply_action(engine, action_input)` writes the effect and its row in the action ledger
(`store.action_ledger`) in ONE transaction, so an action either happened and is recorded, or
neither; a second call for the same (scope, step id) — an activity retry, a replayed or re-run
workflow, or a racing attempt — returns the stored result with `replayed=True` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, assert_never

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from definitions.context import ConversationState, CustomerState, build_context
from definitions.models import (
    ACTION_OUTPUTS,
    ActionStep,
    AddNoteStep,
    AddTagParams,
    AddTagStep,
    AutoReplyStep,
    ChangeStatusStep,
    CreateTicketParams,
    CreateTicketStep,
    EscalateStep,
    NotifyParams,
    NotifyStep,
    RemoveTagParams,
    RemoveTagStep,
    RouteParams,
    RouteStep,
    SetAttributeParams,
    SetAttributeStep,
    SetPriorityStep,
)
from definitions.placeholders import render
from definitions.runs import ActionInput, ActionResult
from definitions.utc import as_utc
from definitions.vocabulary import NOTE_SENDER
from desk.directory import require_agent, require_team
from desk.effect import Effect
from desk.emitted import record_changes, status_changed_event
from desk.escalation import escalate
from desk.mirror import mirrored_conversation
from desk.notifications import notify_agents
from desk.routing import pick_assignee
from desk.sentiment import event_for_context
from desk.state import state_of
from desk.time_values import step_time_fields
from desk.webhook_payload import webhook_delivery
from store import action_ledger
from store.db import session_scope
from store.models import MessageRow, TicketRow, utcnow

# ---------------------------------------------------------------- one function per action


def _message(effect: Effect, prefix: str, sender_type: str, content: str) -> str:
    message_id = effect.row_id(prefix)
    effect.session.add(
        MessageRow(
            id=message_id,
            conversation_id=effect.conversation.id,
            sender_type=sender_type,
            content=content,
            created_at=effect.now,
            source=effect.source,
        )
    )
    return message_id


def auto_reply(effect: Effect) -> dict[str, Any]:
    message = effect.rendered["message"]
    return {"message_id": _message(effect, "auto", "automation", message), "message": message}


def add_note(effect: Effect) -> dict[str, Any]:
    """An internal note: sender type `note`, so no trigger matches it and no SLA clock counts it."""
    note = effect.rendered["note"]
    return {"message_id": _message(effect, "note", NOTE_SENDER, note), "note": note}


def route(effect: Effect, params: RouteParams) -> dict[str, Any]:
    effect.change(picked=pick_assignee(effect.session, effect.conversation, params))
    return {"agent": effect.conversation.assignee_agent, "team": effect.conversation.assignee_team}


def add_tag(effect: Effect, params: AddTagParams | RemoveTagParams) -> dict[str, Any]:
    """add_tag and remove_tag (idempotent); the output names the tags of the step."""
    effect.change()
    return {"tags": list(dict.fromkeys(params.tags))}


def change_status(effect: Effect) -> dict[str, Any]:
    previous = effect.before.status
    effect.change()
    if previous != effect.conversation.status:
        effect.emitted.append(status_changed_event(effect, previous))
    return {"status": effect.conversation.status, "previous_status": previous}


def set_priority(effect: Effect) -> dict[str, Any]:
    previous = effect.before.priority
    effect.change()
    return {"priority": effect.conversation.priority, "previous_priority": previous}


def set_attribute(effect: Effect, params: SetAttributeParams) -> dict[str, Any]:
    effect.change()
    return {"key": params.key, "value": effect.rendered["value"]}


def create_ticket(effect: Effect, params: CreateTicketParams) -> dict[str, Any]:
    if params.team is not None:
        require_team(effect.session, params.team)
    ticket_id = effect.row_id("TCK")
    effect.session.add(
        TicketRow(
            id=ticket_id,
            conversation_id=effect.conversation.id,
            title=effect.rendered["title"],
            description=effect.rendered["description"],
            priority=params.priority,
            team=params.team,
            created_at=effect.now,
            source=effect.source,
        )
    )
    return {"ticket_id": ticket_id, "title": effect.rendered["title"]}


def notify(effect: Effect, params: NotifyParams) -> dict[str, Any]:
    if params.agent is not None:
        recipients = [require_agent(effect.session, params.agent).id]
    else:
        assert params.team is not None  # NotifyParams guarantees exactly one target
        recipients = list(require_team(effect.session, params.team).members)
    ids = notify_agents(effect, recipients, effect.rendered["message"])
    return {"recipients": recipients, "notification_ids": ids}


def perform(effect: Effect, step: ActionStep) -> dict[str, Any]:
    """Do what `step` says to the conversation; its output (ACTION_OUTPUTS)."""
    match step:
        case AutoReplyStep():
            return auto_reply(effect)
        case RouteStep(params=params):
            return route(effect, params)
        case AddTagStep(params=params):
            return add_tag(effect, params)
        case ChangeStatusStep():
            return change_status(effect)
        case CreateTicketStep(params=params):
            return create_ticket(effect, params)
        case NotifyStep(params=params):
            return notify(effect, params)
        case EscalateStep(params=params):
            return escalate(effect, params)
        case RemoveTagStep(params=params):
            return add_tag(effect, params)
        case SetPriorityStep():
            return set_priority(effect)
        case AddNoteStep():
            return add_note(effect)
        case SetAttributeStep(params=params):
            return set_attribute(effect, params)
        case _:
            assert_never(step)


# ---------------------------------------------------------------- applying a step once


def _rendered(
    session: Session,
    args: ActionInput,
    conversation: ConversationState,
    customer: CustomerState | None,
    now: datetime,
) -> dict[str, Any]:
    """The step's params with their templates rendered against the fresh state (`time.*` from
    the definition's schedule at `now`)."""
    event = event_for_context(session, args.event)
    time = step_time_fields(session, args.schedule, args.step, now)
    context = build_context(conversation, customer, event, args.sla, args.step_outputs, time)
    rendered: dict[str, Any] = args.step.params.model_dump(mode="json")
    for name, template in args.step.params.templates().items():
        rendered[name] = render(template, context)
    return rendered


def _apply(session: Session, args: ActionInput, now: datetime) -> ActionResult:
    # The ledger row goes first: a racing attempt collides here, before any effect.
    ledger = action_ledger.claim(session, args, now)
    row = mirrored_conversation(session, args.event, now)
    before, customer = state_of(session, row, now)
    rendered = _rendered(session, args, before, customer, now)
    effect = Effect(session, args, row, rendered, now, before)
    output = perform(effect, args.step)
    assert set(output) == set(ACTION_OUTPUTS[args.step.action]), (args.step.action, output)
    row.updated_at = now
    # What changed is remembered (the mirror rule keeps it against older desk events) and, when
    # a definition listens for it, emitted as a conversation.updated event.
    record_changes(effect)
    session.add(row)
    result = ActionResult(
        output=output,
        rendered=effect.rendered,
        emitted_events=effect.emitted,
        delivery=webhook_delivery(effect, output),
    )
    action_ledger.record(session, ledger, result)
    return result


def apply_action(
    engine: Engine,
    args: ActionInput,
    *,
    now: datetime | None = None,
    after_commit: Callable[[ActionResult], None] | None = None,
) -> ActionResult:
    """Apply one action step exactly once per (args.idempotency_scope, args.step.id).

    Raises NotFound (nothing written) for an unknown team/agent or an escalation with nobody
    to escalate to. Database errors propagate (the caller retries). `after_commit` runs after the
    effect is committed (tests use it to simulate a crash before the result is returned)."""
    now = as_utc(now) or utcnow()
    scope, step_id = args.idempotency_scope, args.step.id
    try:
        with session_scope(engine) as session:
            result = _apply(session, args, now)
    except IntegrityError:
        # The (scope, step) is in the ledger already, recorded by an earlier attempt or a racing
        # one: its result is the result. (Repeats are rare, so no read before the transaction.)
        existing = action_ledger.stored_result(engine, scope, step_id)
        if existing is None:
            raise
        return existing
    if after_commit is not None:
        after_commit(result)
    return result


def apply_actions(
    engine: Engine,
    actions: Sequence[ActionInput],
    *,
    until: Callable[[ActionResult], bool],
    after_commit: Callable[[ActionResult], None] | None = None,
) -> list[ActionResult]:
    """Apply action steps in run order in ONE transaction, each exactly once as `apply_action`
    does, and each with the outputs of the ones before it (as the workflow passes them between
    two steps); stop after the first result `until` accepts. The results of the steps applied.

    A step already in the ledger (an earlier attempt got that far) rolls the transaction back;
    they are then applied one at a time, each answering with its stored result if it has one.
    Any other error (NotFound, the database) propagates with nothing written."""
    try:
        with session_scope(engine) as session:
            results = _in_order(actions, until, lambda args: _apply(session, args, utcnow()))
    except IntegrityError:
        one_at_a_time = partial(apply_action, engine, after_commit=after_commit)
        return _in_order(actions, until, one_at_a_time)
    if after_commit is not None:
        for result in results:
            after_commit(result)
    return results


def _in_order(
    actions: Sequence[ActionInput],
    until: Callable[[ActionResult], bool],
    apply: Callable[[ActionInput], ActionResult],
) -> list[ActionResult]:
    """`apply` each of `actions`, its step outputs completed with those of the ones before it,
    until a result `until` accepts."""
    results: list[ActionResult] = []
    outputs: dict[str, dict[str, Any]] = {}
    for args in actions:
        if outputs:
            args = args.model_copy(update={"step_outputs": {**args.step_outputs, **outputs}})
        result = apply(args)
        results.append(result)
        outputs[args.step.id] = result.output
        if until(result):
            break
    return results
