"""Actions on the desk store (SPEC §2.2): each effect, exactly once per (scope, step)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from definitions.errors import NotFound
from definitions.runs import ActionResult
from desk.actions import apply_action
from desk.mirror import mirror_event
from desk.state import conversation_view
from store.db import session_scope
from store.directory import AgentIn, put_agent
from store.models import ActionEffectRow, ConversationRow, MessageRow, NotificationRow, TicketRow
from store.trigger_index import index_definition
from tests.desk_builders import action_input, make_event, seed_directory, store_definition

pytest_plugins = ["tests.db_fixtures"]


@pytest.fixture
def desk(desk_engine: Engine) -> Engine:
    """A database with the directory and one mirrored conversation c-9 (customer Ada, vip)."""
    seed_directory(desk_engine)
    with session_scope(desk_engine) as session:
        mirror_event(session, make_event("evt-1"))
    return desk_engine


def _apply(engine: Engine, step: dict[str, Any], **kwargs: Any) -> ActionResult:
    return apply_action(engine, action_input(step, make_event("evt-1"), **kwargs))


def _view(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        view = conversation_view(session, "c-9")
    assert view is not None
    return view


def test_auto_reply_adds_an_automation_message_with_rendered_text(desk: Engine) -> None:
    step = {
        "id": "greet",
        "action": "auto_reply",
        "params": {"message": 'Hi {{customer.name | default: "there"}} ({{customer.plan}})'},
    }
    result = _apply(desk, step)
    assert result.output["message"] == "Hi Ada (gold)"
    assert result.rendered == {"message": "Hi Ada (gold)"}
    assert set(result.output) == {"message_id", "message"}
    messages = _view(desk)["messages"]
    assert messages[-1]["sender_type"] == "automation"
    assert messages[-1]["content"] == "Hi Ada (gold)"
    assert messages[-1]["source"] == "run:def-1:evt-1:greet"
    assert result.delivery is not None
    assert result.delivery.idempotency_key == "run:def-1:evt-1:greet"
    assert result.delivery.action == "auto_reply"
    assert result.delivery.payload["output"] == result.output


def test_same_scope_and_step_takes_effect_once(desk: Engine) -> None:
    step = {"id": "greet", "action": "auto_reply", "params": {"message": "Hello"}}
    first = _apply(desk, step)
    second = _apply(desk, step)
    assert not first.replayed and second.replayed
    assert second.output == first.output and second.delivery == first.delivery
    with Session(desk) as session:
        automated = session.exec(select(MessageRow).where(MessageRow.sender_type == "automation"))
        assert len(automated.all()) == 1
    # Another run (scope) of the same step is a new effect.
    _apply(desk, step, scope="run:def-1:evt-2")
    assert len([m for m in _view(desk)["messages"] if m["sender_type"] == "automation"]) == 2


def test_retry_after_the_commit_returns_the_stored_result(desk: Engine) -> None:
    """The attempt crashes after the effect committed; the retry must not repeat it."""
    step = {
        "id": "t",
        "action": "create_ticket",
        "params": {"title": "Refund for {{customer.name}}"},
    }
    args = action_input(step, make_event("evt-1"))

    def crash(_: ActionResult) -> None:
        raise ConnectionError("worker died before answering")

    with pytest.raises(ConnectionError):
        apply_action(desk, args, after_commit=crash)
    retried = apply_action(desk, args)
    assert retried.replayed and retried.output["title"] == "Refund for Ada"
    assert len(_view(desk)["tickets"]) == 1


def test_racing_attempts_record_one_effect(desk: Engine) -> None:
    step = {"id": "n", "action": "notify", "params": {"team": "vip-support", "message": "Look"}}
    args = action_input(step, make_event("evt-1"))
    results: list[ActionResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(apply_action(desk, args))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({tuple(r.output["notification_ids"]) for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    with Session(desk) as session:
        assert len(session.exec(select(NotificationRow)).all()) == 3
        assert len(session.exec(select(ActionEffectRow)).all()) == 1


def test_route_direct_to_team_and_to_agent(desk: Engine) -> None:
    team = _apply(desk, {"id": "r1", "action": "route", "params": {"team": "billing"}})
    assert team.output == {"agent": None, "team": "billing"}
    agent = _apply(desk, {"id": "r2", "action": "route", "params": {"agent": "cy"}})
    assert agent.output == {"agent": "cy", "team": "billing"}
    assert _view(desk)["assignment"] == {"agent": "cy", "team": "billing"}


def test_round_robin_cycles_through_available_members(desk: Engine) -> None:
    step = {
        "id": "r",
        "action": "route",
        "params": {"team": "vip-support", "strategy": "round_robin"},
    }
    picked = [_apply(desk, step, scope=f"run:d:e{i}").output["agent"] for i in range(5)]
    assert picked == ["ana", "bo", "ana", "bo", "ana"]  # cy is unavailable


def test_round_robin_with_nobody_available_queues_on_the_team(desk: Engine) -> None:
    with Session(desk) as session:
        put_agent(session, "bo", AgentIn(name="Bo", available=False))
    step = {"id": "r", "action": "route", "params": {"team": "billing", "strategy": "round_robin"}}
    assert _apply(desk, step).output == {"agent": None, "team": "billing"}


def test_least_busy_picks_the_member_with_fewest_open_conversations(desk: Engine) -> None:
    with session_scope(desk) as session:
        for index, (agent, status) in enumerate(
            [
                ("ana", "open"),
                ("ana", "pending"),
                ("bo", "open"),
                ("bo", "resolved"),
                ("bo", "closed"),
                ("cy", "resolved"),
            ]
        ):
            session.add(
                ConversationRow(
                    id=f"other-{index}", channel="email", status=status, assignee_agent=agent
                )
            )
    step = {
        "id": "r",
        "action": "route",
        "params": {"team": "vip-support", "strategy": "least_busy"},
    }
    # ana has 2 open, bo 1 open (resolved/closed do not count), cy has 0 but is unavailable.
    assert _apply(desk, step).output == {"agent": "bo", "team": "vip-support"}


def test_add_tag_never_duplicates(desk: Engine) -> None:
    with session_scope(desk) as session:
        mirror_event(session, make_event("evt-x", conversation={"tags": ["billing"]}))
    result = _apply(
        desk, {"id": "t", "action": "add_tag", "params": {"tags": ["refund", "billing", "refund"]}}
    )
    assert result.output == {"tags": ["refund", "billing"]}
    assert _view(desk)["tags"] == ["billing", "refund"]


def test_change_status_emits_a_deterministic_status_event(desk: Engine) -> None:
    step = {"id": "close", "action": "change_status", "params": {"status": "resolved"}}
    result = _apply(desk, step, causal_chain=["run:def-1:evt-1"])
    assert result.output == {"status": "resolved", "previous_status": "open"}
    assert _view(desk)["status"] == "resolved"
    [event] = result.emitted_events
    assert event.id == "run:def-1:evt-1:close"
    assert event.type == "conversation.status_changed"
    assert (event.from_status, event.to_status) == ("open", "resolved")
    assert event.causal_chain == ["run:def-1:evt-1"]
    assert event.conversation.status == "resolved"
    assert event.customer is not None and event.customer.id == "u-4"
    assert _apply(desk, step).emitted_events == [event]  # the replay hands it out again


def test_change_status_to_the_same_status_emits_nothing(desk: Engine) -> None:
    result = _apply(desk, {"id": "s", "action": "change_status", "params": {"status": "open"}})
    assert result.output == {"status": "open", "previous_status": "open"}
    assert result.emitted_events == []


def test_create_ticket_renders_and_links_to_the_conversation(desk: Engine) -> None:
    tag = _apply(desk, {"id": "tag", "action": "add_tag", "params": {"tags": ["refund"]}})
    step = {
        "id": "ticket",
        "action": "create_ticket",
        "params": {
            "title": "Refund: {{conversation.subject}}",
            "description": "{{message.content}} / {{message.sentiment}} / {{steps.tag.tags}}",
            "priority": "high",
            "team": "billing",
        },
    }
    result = _apply(desk, step, step_outputs={"tag": tag.output})
    assert result.output["title"] == "Refund: Refund"
    [ticket] = _view(desk)["tickets"]
    assert ticket["id"] == result.output["ticket_id"]
    assert ticket["description"] == "I want a refund / positive / refund"
    assert (ticket["priority"], ticket["team"]) == ("high", "billing")


def test_notify_team_creates_one_notification_per_member(desk: Engine) -> None:
    step = {
        "id": "n",
        "action": "notify",
        "params": {"team": "vip-support", "message": "VIP {{customer.name}} waits"},
    }
    result = _apply(desk, step)
    assert result.output["recipients"] == ["ana", "cy", "bo"]
    notifications = _view(desk)["notifications"]
    assert [n["recipient_agent"] for n in notifications] == ["ana", "cy", "bo"]
    assert {n["message"] for n in notifications} == {"VIP Ada waits"}
    assert sorted(result.output["notification_ids"]) == sorted(n["id"] for n in notifications)


def test_notify_one_agent(desk: Engine) -> None:
    result = _apply(
        desk, {"id": "n", "action": "notify", "params": {"agent": "sam", "message": "Hi"}}
    )
    assert result.output["recipients"] == ["sam"]
    assert len(_view(desk)["notifications"]) == 1


def test_escalate_to_the_supervisor_of_the_assigned_team(desk: Engine) -> None:
    _apply(desk, {"id": "r", "action": "route", "params": {"team": "vip-support"}})
    step = {"id": "esc", "action": "escalate", "params": {"reason": "{{customer.name}} is angry"}}
    result = _apply(desk, step)
    assert result.output == {"agent": "sam", "priority": "urgent", "reason": "Ada is angry"}
    view = _view(desk)
    assert view["priority"] == "urgent"
    assert view["assignment"] == {"agent": "sam", "team": "vip-support"}
    assert "escalated" in view["tags"]
    [notification] = view["notifications"]
    assert notification["recipient_agent"] == "sam" and "Ada is angry" in notification["message"]


def test_escalate_to_an_explicit_agent_with_priority(desk: Engine) -> None:
    step = {
        "id": "esc",
        "action": "escalate",
        "params": {"reason": "x", "to": "ana", "priority": "high"},
    }
    assert _apply(desk, step).output == {"agent": "ana", "priority": "high", "reason": "x"}


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            {"action": "route", "params": {"team": "vip"}},
            "team 'vip' does not exist — create it with PUT /teams/vip",
        ),
        (
            {"action": "route", "params": {"agent": "zed"}},
            "agent 'zed' does not exist — create it with PUT /agents/zed",
        ),
        (
            {"action": "notify", "params": {"team": "nope", "message": "x"}},
            "team 'nope' does not exist",
        ),
        (
            {"action": "notify", "params": {"agent": "zed", "message": "x"}},
            "agent 'zed' does not exist",
        ),
        ({"action": "create_ticket", "params": {"title": "x", "team": "nope"}}, "team 'nope'"),
        ({"action": "escalate", "params": {"reason": "x", "to": "zed"}}, "agent 'zed'"),
        ({"action": "escalate", "params": {"reason": "x"}}, "has no assigned team"),
    ],
)
def test_unknown_targets_fail_with_a_readable_message_and_write_nothing(
    desk: Engine, step: dict[str, Any], message: str
) -> None:
    with pytest.raises(NotFound) as caught:
        _apply(desk, {"id": "bad", **step})
    assert message in str(caught.value)
    with Session(desk) as session:
        assert session.exec(select(ActionEffectRow)).all() == []
        assert session.exec(select(TicketRow)).all() == []
        assert session.exec(select(NotificationRow)).all() == []


def test_escalate_without_a_supervisor_names_the_team(desk: Engine) -> None:
    _apply(desk, {"id": "r", "action": "route", "params": {"team": "billing"}})
    with pytest.raises(NotFound, match="team 'billing' has no supervisor"):
        _apply(desk, {"id": "esc", "action": "escalate", "params": {"reason": "x"}})


# ---------------------------------------------------------------- the four new actions


def test_remove_tag_set_priority_note_and_attribute(desk: Engine) -> None:
    _apply(desk, {"id": "tag", "action": "add_tag", "params": {"tags": ["vip", "billing"]}})
    removed = _apply(
        desk, {"id": "untag", "action": "remove_tag", "params": {"tags": ["VIP", "x"]}}
    )
    assert removed.output == {"tags": ["VIP", "x"]}
    none = _apply(desk, {"id": "prio", "action": "set_priority", "params": {"priority": None}})
    assert none.output == {"priority": None, "previous_priority": "normal"}
    note = _apply(
        desk,
        {"id": "note", "action": "add_note", "params": {"note": "Policy for {{customer.name}}"}},
    )
    assert note.output["note"] == "Policy for Ada"
    attr = _apply(
        desk,
        {
            "id": "attr",
            "action": "set_attribute",
            "params": {"key": "seen", "value": "{{customer.segment}}"},
        },
    )
    assert attr.output == {"key": "seen", "value": "vip"}
    assert attr.delivery is not None and attr.delivery.payload["params"]["key"] == "seen"
    view = _view(desk)
    assert view["tags"] == ["billing"]
    assert view["priority"] is None
    assert view["attributes"] == {"seen": "vip"}
    assert view["messages"][-1]["sender_type"] == "note"
    assert view["messages"][-1]["content"] == "Policy for Ada"


UPDATED_LISTENER = {
    "name": "on update",
    "status": "active",
    "trigger": {"type": "conversation_updated"},
    "steps": [{"id": "t", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
}


def test_changes_emit_conversation_updated_only_when_someone_listens(desk: Engine) -> None:
    quiet = _apply(desk, {"id": "p1", "action": "set_priority", "params": {"priority": "high"}})
    assert quiet.emitted_events == []
    with session_scope(desk) as session:
        index_definition(session, store_definition(session, "listener", UPDATED_LISTENER))
    heard = _apply(desk, {"id": "p2", "action": "escalate", "params": {"reason": "x", "to": "sam"}})
    (event,) = heard.emitted_events
    assert event.type == "conversation.updated"
    assert event.id == "run:def-1:evt-1:p2:updated"
    assert event.causal_chain == ["run:def-1:evt-1"]
    assert set(event.changes) == {"priority", "assignee_agent", "tags"}
    assert event.changes["priority"].from_ == "high" and event.changes["priority"].to == "urgent"
    assert event.tags_added() == ["escalated"]
    assert event.conversation.priority == "urgent"
    # No change, no event: an idempotent add_tag of a present tag.
    same = _apply(desk, {"id": "p3", "action": "add_tag", "params": {"tags": ["escalated"]}})
    assert same.emitted_events == []
    # A status change is its own event (conversation.status_changed), not an update.
    closed = _apply(desk, {"id": "p4", "action": "change_status", "params": {"status": "closed"}})
    assert [e.type for e in closed.emitted_events] == ["conversation.status_changed"]


def test_an_update_no_listener_would_fire_on_is_not_emitted(desk: Engine) -> None:
    """A rule on priority changes hears priority changes only: the tag an action adds emits
    nothing, so it costs no dispatch."""
    on_priority = {
        **UPDATED_LISTENER,
        "trigger": {"type": "conversation_updated", "fields": ["priority"]},
    }
    with session_scope(desk) as session:
        index_definition(session, store_definition(session, "on-priority", on_priority))
    tagged = _apply(desk, {"id": "tag", "action": "add_tag", "params": {"tags": ["billing"]}})
    assert tagged.emitted_events == []
    raised = _apply(desk, {"id": "prio", "action": "set_priority", "params": {"priority": "high"}})
    assert [set(e.changes) for e in raised.emitted_events] == [{"priority"}]
