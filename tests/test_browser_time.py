"""The console's time features (SPEC §2.3) in real headless Chromium, on the same stack as
test_browser_console: the builder's wait / wait_for / branch / stop steps and schedule picker
(round-trip unchanged), the test panel's `assume` choices, the schedules page, and deactivating a
workflow whose runs are waiting."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests import test_browser_console
from tests.test_browser_console import Console, shot

pytestmark = test_browser_console.pytestmark
console = test_browser_console.console

SUPPORT_HOURS = {
    "name": "Support hours",
    "timezone": "Europe/Berlin",
    "hours": {
        "mon": [["09:00", "17:30"]],
        "tue": [["09:00", "17:30"]],
        "wed": [["09:00", "17:30"]],
        "thu": [["09:00", "17:30"]],
        "fri": [["09:00", "13:00"], ["14:00", "17:00"]],
    },
    "holidays": ["2026-12-24"],
    "holiday_calendar": "DE",
}

# Every new step shape, nested three branches deep, business time, a group condition, the
# conversation_idle trigger and on_failure: what the builder must save back unchanged.
EVERYTHING: dict[str, Any] = {
    "name": "Everything about time",
    "description": "Round-trips through the builder",
    "status": "draft",
    "schedule": "support-hours",
    "on_failure": {"notify": {"team": "ops"}},
    "trigger": {
        "type": "conversation_idle",
        "waiting_on": "customer",
        "idle_for": "4h",
        "business_hours": True,
        "statuses": ["pending"],
    },
    "steps": [
        {"id": "open", "type": "wait", "until": "open"},
        {"id": "pause", "type": "wait", "for": "2h", "business_hours": True},
        {
            "id": "reply",
            "type": "wait_for",
            "event": "customer_message",
            "timeout": "48h",
            "business_hours": True,
            "on_event": "stop",
            "on_timeout": "continue",
        },
        {
            "id": "resolved",
            "type": "wait_for",
            "event": "status_change",
            "to_statuses": ["resolved", "closed"],
            "timeout": "1d",
        },
        {
            "id": "outer",
            "type": "branch",
            "if": {
                "all": [
                    {"field": "steps.reply.outcome", "operator": "equals", "value": "timeout"},
                    {"field": "time.business_hours", "operator": "equals", "value": "true"},
                ]
            },
            "then": [
                {
                    "id": "middle",
                    "type": "branch",
                    "if": {
                        "field": "conversation.status",
                        "operator": "equals",
                        "value": "pending",
                    },
                    "then": [
                        {
                            "id": "inner",
                            "type": "branch",
                            "if": {
                                "any": [
                                    {
                                        "field": "time.weekday",
                                        "operator": "in",
                                        "value": ["sat", "sun"],
                                    },
                                    {
                                        "field": "customer.segment",
                                        "operator": "equals",
                                        "value": "vip",
                                    },
                                ]
                            },
                            "then": [
                                {
                                    "id": "nudge",
                                    "type": "action",
                                    "action": "auto_reply",
                                    "params": {"message": "Still there, {{customer.name}}?"},
                                }
                            ],
                            "else": [{"id": "halt", "type": "stop"}],
                        }
                    ],
                    "else": [],
                }
            ],
            "else": [
                {
                    "id": "close",
                    "type": "action",
                    "action": "change_status",
                    "params": {"status": "closed"},
                }
            ],
        },
        {"id": "done", "type": "stop"},
    ],
}

# What a read adds to a definition and a save changes.
READ_ONLY = {
    "id",
    "version",
    "created_at",
    "updated_at",
    "steps_count",
    "execution_count",
    "warnings",
}


def definition_of(read: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in read.items() if k not in READ_ONLY}


async def save_and_wait(page: Page, version: int) -> None:
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#page-meta")).to_contain_text(f"Version {version}")
    await expect(page.locator(".field-error")).to_have_count(0)


async def test_builder_round_trips_every_time_step_unchanged(console: Console) -> None:
    admin = console.auth("admin")
    assert (
        await console.http.put("/schedules/support-hours", json=SUPPORT_HOURS, headers=admin)
    ).is_success
    created = await console.http.post("/workflows", json=EVERYTHING, headers=admin)
    assert created.status_code == 201, created.text
    wid = created.json()["id"]
    before = definition_of((await console.http.get(f"/workflows/{wid}", headers=admin)).json())

    page = await console.page()
    await console.sign_in(page)
    await page.goto(f"/console/workflows/{wid}")
    await expect(page.get_by_label("Business hours (schedule)")).to_have_value("support-hours")
    await expect(page.get_by_role("group", name="Step 5.then.1.then.1 · Branch")).to_be_visible()
    await expect(
        page.get_by_role("group", name="Step 5.then.1.then.1.else.1 · Stop")
    ).to_be_visible()
    # Branches nest at most 3 deep: the innermost paths offer no further branch.
    inner_then = page.get_by_role("group", name="Step 5.then.1.then.1 then")
    await expect(inner_then.get_by_role("button", name="+ Action")).to_be_visible()
    await expect(inner_then.get_by_role("button", name="+ Branch")).to_have_count(0)
    await save_and_wait(page, 2)
    after = definition_of((await console.http.get(f"/workflows/{wid}", headers=admin)).json())
    assert after == before


async def test_build_a_wait_for_and_a_branch_then_test_both_ways(console: Console) -> None:
    admin = console.auth("admin")
    page = await console.page()
    await console.sign_in(page)
    await page.goto("/console/workflows/new")
    await page.get_by_label("Name", exact=True).fill("Follow up when pending")

    await page.get_by_role("button", name="+ Add wait for").click()
    wait = page.get_by_role("group", name="Step 1 · Wait for")
    await expect(wait.get_by_label("Wait until")).to_have_value("customer_message")
    await wait.get_by_label("At most").fill("24h")
    await wait.get_by_label("When it happens").select_option("stop")

    await page.get_by_role("button", name="+ Add branch").click()
    branch = page.get_by_role("group", name="Step 2 · Branch")
    await branch.get_by_label("Field").select_option("steps.wait-for.outcome")
    await branch.get_by_label("Value").select_option("timeout")
    then = page.get_by_role("group", name="Step 2 then")
    await then.get_by_role("button", name="+ Action").click()
    await (
        page.get_by_role("group", name="Step 2.then.1 · Send auto-reply")
        .get_by_label("Message")
        .fill("Anything else we can help with?")
    )
    await then.get_by_role("button", name="+ Branch").click()
    nested = page.get_by_role("group", name="Step 2.then.2 · Branch")
    await nested.get_by_label("Field").select_option("conversation.status")
    await nested.get_by_label("Value").select_option("pending")
    await (
        page.get_by_role("group", name="Step 2.then.2 then")
        .get_by_role("button", name="+ Stop")
        .click()
    )
    otherwise = page.get_by_role("group", name="Step 2 else")
    await otherwise.get_by_role("button", name="+ Wait").first.click()
    await page.get_by_role("group", name="Step 2.else.1 · Wait").get_by_label("Duration").fill("2d")
    await save_and_wait(page, 1)
    await shot(page, "29-builder-time-steps")

    wid = page.url.rsplit("/", 1)[-1]
    saved = (await console.http.get(f"/workflows/{wid}", headers=admin)).json()
    assert [s["type"] for s in saved["steps"]] == ["wait_for", "branch"]
    wait_for, branch_step = saved["steps"]
    assert (wait_for["timeout"], wait_for["on_event"]) == ("24h", "stop")
    assert branch_step["if"] == {
        "field": "steps.wait-for.outcome",
        "operator": "equals",
        "value": "timeout",
    }
    assert [s["id"] for s in branch_step["then"]] == ["reply", "branch-2"]
    assert [s["type"] for s in branch_step["then"][1]["then"]] == ["stop"]
    assert branch_step["else"][0]["for"] == "2d"

    # Reloaded, it shows what was saved; saved again, it is the same definition.
    await page.reload()
    await expect(page.get_by_role("group", name="Step 2.then.2.then.1 · Stop")).to_be_visible()
    await save_and_wait(page, 2)
    again = (await console.http.get(f"/workflows/{wid}", headers=admin)).json()
    assert definition_of(again) == definition_of(saved)

    # The test panel: the wait_for ends as assumed; the branch shows both paths.
    choice = page.get_by_label("Wait wait-for ends when")
    await expect(choice).to_have_value("timeout")
    await page.get_by_role("button", name="Run test").click()
    result = page.locator("#test-result")
    await expect(result.locator("[data-step=wait-for]")).to_contain_text("would wait up to 24h")
    await expect(result.locator("[data-step=branch]")).to_contain_text("takes the then path")
    await expect(result.locator("[data-step=reply]")).to_have_attribute("data-status", "would_run")
    await expect(result.locator("[data-step=wait]")).to_have_attribute("data-status", "not_taken")
    await shot(page, "30-builder-test-assume")
    await choice.select_option("event")
    await page.get_by_role("button", name="Run test").click()
    await expect(page.locator("#test-outcome")).to_contain_text("stop at step 'wait-for'")
    await expect(result.locator("[data-step=wait-for]")).to_contain_text("assumed event")
