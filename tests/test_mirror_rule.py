"""The mirror rule (SPEC §3), pure and through the desk store: a field the event carries replaces
the stored one, an omitted field is kept, except what our actions changed after the event's
`occurred_at`; the dry run applies a sample event with the same rule and writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from definitions.mirror_rule import apply_event, state_from_event
from desk.actions import apply_action
from desk.field_values import sample_fields
from desk.mirror import mirror_event
from desk.state import load_state
from store.db import session_scope
from store.models import ConversationRow, CustomerRow, MessageRow
from tests.desk_builders import T0, action_input, make_event, seed_directory

pytest_plugins = ["tests.db_fixtures"]


def _mirror(engine: Engine, *events: Any) -> None:
    for event in events:
        with session_scope(engine) as session:
            mirror_event(session, event)


def _state(engine: Engine) -> Any:
    with Session(engine) as session:
        return load_state(session, "c-9", T0 + timedelta(hours=1))[0]


@pytest.fixture
def known(desk_engine: Engine) -> Engine:
    """c-9 mirrored with tags, a priority, a team, an agent and attributes."""
    seed_directory(desk_engine)
    _mirror(
        desk_engine,
        make_event(
            "e1",
            conversation={
                "tags": ["vip", "billing"],
                "priority": "high",
                "assignee_team": "billing",
                "assignee_agent": "bo",
                "inbox": "support-en",
                "attributes": {"order": "A-1", "amount": 40},
            },
        ),
    )
    return desk_engine


def test_tags_cleared_by_an_empty_list(known: Engine) -> None:
    _mirror(
        known, make_event("e2", occurred_at=T0 + timedelta(minutes=1), conversation={"tags": []})
    )
    assert _state(known).tags == []


def test_unassigned_by_null(known: Engine) -> None:
    change = {"assignee_team": None, "assignee_agent": None}
    _mirror(known, make_event("e2", occurred_at=T0 + timedelta(minutes=1), conversation=change))
    state = _state(known)
    assert (state.assignee_team, state.assignee_agent) == (None, None)


def test_priority_none(known: Engine) -> None:
    _mirror(
        known,
        make_event("e2", occurred_at=T0 + timedelta(minutes=1), conversation={"priority": None}),
    )
    assert _state(known).priority is None


def test_omitted_fields_are_kept(known: Engine) -> None:
    _mirror(known, make_event("e2", occurred_at=T0 + timedelta(minutes=1)))
    state = _state(known)
    assert state.tags == ["vip", "billing"]
    assert (state.priority, state.assignee_team, state.assignee_agent) == ("high", "billing", "bo")
    assert state.inbox == "support-en"
    assert state.attributes == {"order": "A-1", "amount": 40}
    assert state.message_count == 2
    assert state.last_activity_at == T0 + timedelta(minutes=1)


def test_attributes_carried_replace_the_stored_ones(known: Engine) -> None:
    _mirror(
        known,
        make_event(
            "e2",
            occurred_at=T0 + timedelta(minutes=1),
            conversation={"attributes": {"order": "A-2"}},
        ),
    )
    assert _state(known).attributes == {"order": "A-2"}


def test_an_older_event_does_not_undo_our_actions(known: Engine) -> None:
    """Our actions at T0+10m; a desk event that happened at T0+5m (sent before it could know)
    carries the old values: ours stay. A later event wins again."""
    first = make_event("e1")
    for step in (
        {"id": "untag", "action": "remove_tag", "params": {"tags": ["vip"]}},
        {"id": "prio", "action": "set_priority", "params": {"priority": "urgent"}},
        {"id": "route", "action": "route", "params": {"team": "vip-support"}},
        {"id": "attr", "action": "set_attribute", "params": {"key": "order", "value": "A-9"}},
    ):
        apply_action(known, action_input(step, first), now=T0 + timedelta(minutes=10))
    stale = {
        "tags": ["vip", "billing"],
        "priority": "high",
        "assignee_team": "billing",
        "assignee_agent": "bo",
        "attributes": {"order": "A-1", "amount": 50},
        "subject": "Refund please",
    }
    _mirror(known, make_event("e2", occurred_at=T0 + timedelta(minutes=5), conversation=stale))
    state = _state(known)
    assert state.tags == ["billing"]
    assert state.priority == "urgent"
    assert (state.assignee_team, state.assignee_agent) == ("vip-support", None)
    # Per attribute: ours stays, the desk's other one is taken.
    assert state.attributes == {"order": "A-9", "amount": 50}
    assert state.subject == "Refund please"  # not ours: the desk's value
    _mirror(known, make_event("e3", occurred_at=T0 + timedelta(minutes=20), conversation=stale))
    state = _state(known)
    assert state.tags == ["vip", "billing"] and state.priority == "high"
    assert state.assignee_team == "billing" and state.attributes == {"order": "A-1", "amount": 50}


def test_an_older_status_change_does_not_undo_ours(known: Engine) -> None:
    step = {"id": "close", "action": "change_status", "params": {"status": "resolved"}}
    apply_action(known, action_input(step, make_event("e1")), now=T0 + timedelta(minutes=10))
    older = make_event(
        "e2",
        "conversation.status_changed",
        occurred_at=T0 + timedelta(minutes=5),
        from_status="open",
        to_status="pending",
    )
    _mirror(known, older)
    assert _state(known).status == "resolved"


def test_new_conversation_from_a_status_change_takes_to_status_and_occurred_at() -> None:
    event = make_event(
        "e1",
        "conversation.status_changed",
        occurred_at=T0,
        from_status="open",
        to_status="resolved",
        conversation={"status": "open"},
    )
    conversation, _ = state_from_event(event)
    assert conversation.status == "resolved"
    assert conversation.created_at == T0
    mirrored = apply_event(None, event, message_is_new=False)
    assert mirrored.created_at == T0 and mirrored.status == "resolved"


def _counts(engine: Engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return (
            session.exec(select(func.count()).select_from(ConversationRow)).one(),
            session.exec(select(func.count()).select_from(CustomerRow)).one(),
            session.exec(select(func.count()).select_from(MessageRow)).one(),
        )


def test_the_dry_run_reads_what_ingestion_would_store_and_writes_nothing(known: Engine) -> None:
    before = _counts(known)
    sample = make_event(
        "e2",
        occurred_at=T0 + timedelta(minutes=3),
        conversation={"tags": [], "assignee_team": None, "priority": None},
        customer={"id": "u-new", "phone": "+44 1"},
    )
    with Session(known) as session:
        dry, customer, _ = sample_fields(session, sample, T0 + timedelta(hours=1))
    assert _counts(known) == before  # nothing written
    with Session(known) as session:
        assert session.get(ConversationRow, "c-9").tags == ["vip", "billing"]  # type: ignore[union-attr]
    _mirror(known, sample)
    with Session(known) as session:
        real, real_customer = load_state(session, "c-9", T0 + timedelta(hours=1))
    assert dry == real
    assert customer == real_customer and customer is not None and customer.phone == "+44 1"
