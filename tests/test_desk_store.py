"""The desk mirror: events upserted idempotently, fresh state, the conversation view, sentiment."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from desk.mirror import mirror_event
from desk.sentiment import score
from desk.state import conversation_view, load_state
from store.db import session_scope
from store.models import CustomerRow, MessageRow
from tests.desk_builders import T0, make_event

pytest_plugins = ["tests.db_fixtures"]


def _mirror(engine: Engine, *events: object) -> None:
    for event in events:
        with session_scope(engine) as session:
            mirror_event(session, event)  # type: ignore[arg-type]


def test_mirror_creates_conversation_customer_and_message(desk_engine: Engine) -> None:
    _mirror(desk_engine, make_event(conversation={"tags": ["refund"], "priority": "high"}))
    with Session(desk_engine) as session:
        conversation, customer = load_state(session, "c-9", T0 + timedelta(minutes=30))
    assert conversation.channel == "whatsapp"
    assert conversation.priority == "high"
    assert conversation.tags == ["refund"]
    assert conversation.message_count == 1
    assert conversation.waiting_minutes == 30
    assert customer is not None and customer.segment == "vip"
    assert customer.attributes == {"plan": "gold"}


def test_mirror_is_idempotent_by_ids(desk_engine: Engine) -> None:
    event = make_event()
    _mirror(desk_engine, event, event, event)
    with Session(desk_engine) as session:
        assert len(session.exec(select(MessageRow)).all()) == 1
        assert len(session.exec(select(CustomerRow)).all()) == 1
        conversation, _ = load_state(session, "c-9", T0)
    assert conversation.message_count == 1


def test_reply_clock_set_by_customer_and_cleared_by_agent(desk_engine: Engine) -> None:
    first = make_event("e1", occurred_at=T0)
    second = make_event("e2", occurred_at=T0 + timedelta(minutes=5))
    _mirror(desk_engine, first, second)
    with Session(desk_engine) as session:
        state, _ = load_state(session, "c-9", T0 + timedelta(minutes=10))
    assert state.waiting_minutes == 10  # from the oldest unanswered customer message
    answer = make_event(
        "e3",
        message={"sender_type": "agent", "content": "On it"},
        occurred_at=T0 + timedelta(minutes=11),
    )
    _mirror(desk_engine, answer)
    with Session(desk_engine) as session:
        state, _ = load_state(session, "c-9", T0 + timedelta(minutes=20))
    assert state.waiting_minutes is None
    assert state.message_count == 3


def test_automation_message_does_not_stop_the_reply_clock(desk_engine: Engine) -> None:
    _mirror(
        desk_engine,
        make_event("e1"),
        make_event("e2", message={"sender_type": "automation", "content": "Thanks!"}),
    )
    with Session(desk_engine) as session:
        state, _ = load_state(session, "c-9", T0 + timedelta(minutes=3))
    assert state.waiting_minutes == 3


def test_status_follows_the_desk(desk_engine: Engine) -> None:
    # A status the event carries replaces the stored one (the mirror rule), as does a status
    # change's to_status; an event that does not carry it keeps it.
    _mirror(desk_engine, make_event("e1"))
    _mirror(desk_engine, make_event("e2", conversation={"status": "closed"}))
    with Session(desk_engine) as session:
        assert load_state(session, "c-9")[0].status == "closed"
    _mirror(
        desk_engine,
        make_event("e3", "conversation.status_changed", from_status="open", to_status="pending"),
    )
    with Session(desk_engine) as session:
        assert load_state(session, "c-9")[0].status == "pending"


def test_later_events_replace_tags_and_update_customer(desk_engine: Engine) -> None:
    _mirror(desk_engine, make_event("e1", conversation={"tags": ["a"]}))
    _mirror(
        desk_engine,
        make_event("e2", conversation={"tags": ["b", "a"]}, customer={"segment": "smb"}),
    )
    with Session(desk_engine) as session:
        conversation, customer = load_state(session, "c-9")
    assert conversation.tags == ["b", "a"]  # the desk's tags, in its order
    assert customer is not None and customer.segment == "smb" and customer.name == "Ada"


def test_sentiment_filled_for_customer_messages_only(desk_engine: Engine) -> None:
    _mirror(
        desk_engine,
        make_event("e1", message={"content": "This is terrible, I am very angry"}),
        make_event("e2", message={"sender_type": "agent", "content": "So sorry!"}),
        make_event(
            "e3", message={"content": "great", "sentiment": "neutral", "sentiment_score": 0}
        ),
    )
    with Session(desk_engine) as session:
        rows = {m.id: m for m in session.exec(select(MessageRow)).all()}
    assert rows["m-e1"].sentiment == "negative" and rows["m-e1"].sentiment_score < -0.05
    assert rows["m-e2"].sentiment is None
    assert rows["m-e3"].sentiment == "neutral"  # the desk's own value wins


def test_sentiment_thresholds() -> None:
    assert score("I love it, thank you so much!")[0] == "positive"
    assert score("This is awful")[0] == "negative"
    assert score("The package arrived on Tuesday") == ("neutral", 0.0)
    assert score("") == ("neutral", 0.0)


def test_conversation_view_lists_everything_in_order(desk_engine: Engine) -> None:
    _mirror(
        desk_engine,
        make_event("e1", occurred_at=T0),
        make_event(
            "e2",
            message={"sender_type": "agent", "content": "Hello"},
            occurred_at=T0 + timedelta(minutes=1),
        ),
    )
    with Session(desk_engine) as session:
        view = conversation_view(session, "c-9")
        assert conversation_view(session, "nope") is None
    assert view is not None
    assert view["status"] == "open" and view["subject"] == "Refund"
    assert view["assignment"] == {"agent": None, "team": None}
    assert view["customer"]["name"] == "Ada"
    assert [m["id"] for m in view["messages"]] == ["m-e1", "m-e2"]
    assert view["tickets"] == [] and view["notifications"] == []
    assert view["created_at"].startswith("2026-11-27T10:00:00")
