"""The console's time features (SPEC §2.3) in real headless Chromium, on the same stack as
test_browser_console: the builder's wait / wait_for / branch / stop steps and schedule picker
(round-trip unchanged), the test panel's `assume` choices, the schedules page, and deactivating a
workflow whose runs are waiting."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests import test_browser_console
from tests.test_browser_admin import OVERFLOWING
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
    # A nested step's error is shown at its own field.
    await page.get_by_role("button", name="Save").click()
    message = page.get_by_role("group", name="Step 2.then.1 · Send auto-reply").get_by_label(
        "Message"
    )
    await expect(message).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#form-errors")).to_contain_text("Step 2.then.1")
    await message.fill("Anything else we can help with?")
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


async def test_schedules_page_creates_edits_and_deletes(console: Console) -> None:
    admin = console.auth("admin")
    page = await console.page()
    await console.sign_in(page)
    await page.get_by_role("link", name="Schedules").first.click()
    await expect(page.get_by_role("heading", name="Schedules", exact=True)).to_be_visible()
    await expect(page.locator("#sch-deadline-note")).to_contain_text("moves no deadline")

    await page.get_by_role("button", name="New schedule").click()
    dialog = page.get_by_role("dialog", name="New schedule")
    await dialog.get_by_label("Id", exact=True).fill("bad hours")
    await dialog.get_by_label("Name", exact=True).fill("Support hours")
    await dialog.get_by_label("Time zone").fill("Europe/Berlin")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog.get_by_label("Id", exact=True)).to_have_attribute("aria-invalid", "true")
    await dialog.get_by_label("Id", exact=True).fill("support-hours")
    # Friday is a split day: 09:00–13:00 and 14:00–17:00.
    friday = dialog.get_by_role("group", name="Friday")
    await friday.get_by_role("button", name="Add Friday hours").click()
    await friday.get_by_label("Friday closes (1)").fill("13:00")
    await friday.get_by_label("Friday opens (2)").fill("12:00")  # overlaps: refused
    await friday.get_by_label("Friday closes (2)").fill("17:00")
    await dialog.get_by_label("Public holidays of").fill("DE")
    await dialog.get_by_label("Closed on").fill("2026-12-24, 2026-12-31")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.locator("#sch-form-error")).to_contain_text("before the previous one closes")
    await expect(friday.get_by_label("Friday opens (2)")).to_have_attribute("aria-invalid", "true")
    await friday.get_by_label("Friday opens (2)").fill("14:00")
    await shot(page, "31-schedule-form", full_page=False)
    await dialog.get_by_role("button", name="Save").click()
    row = page.locator("#sch-body tr[data-id=support-hours]")
    await expect(row.locator("[data-field=hours]")).to_have_text(
        "Mon–Thu 09:00–17:00 · Fri 09:00–13:00, 14:00–17:00"
    )
    await expect(row).to_contain_text("2 dates + DE public holidays")

    # Edit: open on Saturday mornings too, in New York.
    await row.get_by_role("button", name="Edit support-hours").click()
    dialog = page.get_by_role("dialog", name="Edit support-hours")
    await dialog.get_by_role("button", name="Add Saturday hours").click()
    await dialog.get_by_label("Saturday closes").fill("12:00")
    await dialog.get_by_label("Time zone").fill("America/New_York")
    await dialog.get_by_role("button", name="Save").click()
    await expect(row.locator("[data-field=hours]")).to_contain_text("Sat 09:00–12:00")
    await expect(row).to_contain_text("America/New_York")
    await shot(page, "26-schedules")
    saved = (await console.http.get("/schedules/support-hours", headers=admin)).json()
    assert saved["hours"]["fri"] == [["09:00", "13:00"], ["14:00", "17:00"]]
    assert saved["hours"]["sat"] == [["09:00", "12:00"]]
    assert (saved["timezone"], saved["holiday_calendar"]) == ("America/New_York", "DE")
    assert saved["holidays"] == ["2026-12-24", "2026-12-31"]

    # In use by a workflow: the delete is refused (409) and the page names the workflow.
    body = {**EVERYTHING, "name": "Uses support hours", "on_failure": None}
    created = await console.http.post("/workflows", json=body, headers=admin)
    assert created.status_code == 201, created.text
    await row.get_by_role("button", name="Delete support-hours").click()
    await (
        page.get_by_role("dialog", name="Delete schedule?")
        .get_by_role("button", name="Delete")
        .click()
    )
    refused = page.locator("#sch-alert")
    await expect(refused).to_contain_text("support-hours is still in use")
    await expect(refused.get_by_role("link", name="'Uses support hours'")).to_have_attribute(
        "href", f"/console/workflows/{created.json()['id']}"
    )
    await expect(row).to_be_visible()
    await shot(page, "32-schedule-in-use", full_page=False)

    deleted = await console.http.delete(f"/workflows/{created.json()['id']}", headers=admin)
    assert deleted.status_code == 204
    await row.get_by_role("button", name="Delete support-hours").click()
    await (
        page.get_by_role("dialog", name="Delete schedule?")
        .get_by_role("button", name="Delete")
        .click()
    )
    await expect(row).to_have_count(0)
    assert (await console.http.get("/schedules/support-hours", headers=admin)).status_code == 404


async def test_deactivating_a_workflow_with_waiting_runs_asks_to_cancel_them(
    console: Console,
) -> None:
    admin = console.auth("admin")
    body = {
        "name": "Nudge after two days",
        "status": "active",
        "trigger": {"type": "new_conversation"},
        "steps": [
            {"id": "pause", "type": "wait", "for": "2d"},
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["nudged"]}},
        ],
    }
    created = await console.http.post("/workflows", json=body, headers=admin)
    assert created.status_code == 201, created.text
    [run_id] = await console.send_event()

    page = await console.page()
    await console.sign_in(page)
    badge = page.locator("[data-field=waiting]")
    for _ in range(40):
        if await badge.count():
            break
        await asyncio.sleep(0.5)
        await page.reload()
    await expect(badge).to_have_text("1 waiting")

    # The runs page lists it as waiting, with what for and until when.
    await badge.click()
    await expect(page.get_by_label("Status")).to_have_value("waiting")
    waiting = page.locator("#runs-body tr[data-status=waiting]")
    await expect(waiting).to_have_count(1)
    await expect(waiting.locator("[data-field=waiting]")).to_contain_text("for 2d until")
    await shot(page, "33-runs-waiting")
    # The run itself: its wait, the deadline fixed when it began, and Cancel offered.
    await waiting.get_by_role("link", name=f"Open run {run_id}").click()
    await expect(page.locator("#run-content")).to_contain_text("Waiting for 2d until")
    await expect(page.locator("#run-content")).to_contain_text("Still waiting.")
    await expect(page.get_by_role("button", name="Cancel run")).to_be_visible()

    await page.get_by_role("link", name="Workflows").first.click()
    toggle = page.get_by_role("switch", name="Active: Nudge after two days")
    await toggle.click()
    dialog = page.get_by_role("dialog", name="Deactivate workflow?")
    await expect(dialog).to_contain_text("1 run of “Nudge after two days” is waiting")
    await dialog.get_by_role("button", name="Keep it active").click()
    await expect(toggle).to_have_attribute("aria-checked", "true")

    await toggle.click()
    await shot(page, "34-deactivate-waiting-runs", full_page=False)
    await dialog.get_by_role("button", name="Deactivate and cancel them").click()
    await expect(page.get_by_text("Cancelling 1 waiting run.")).to_be_visible()
    toggle = page.get_by_role("switch", name="Active: Nudge after two days")
    await expect(toggle).to_have_attribute("aria-checked", "false")
    assert (await console.http.get(f"/workflows/{created.json()['id']}", headers=admin)).json()[
        "status"
    ] == "draft"
    for _ in range(40):
        run = (await console.http.get(f"/runs/{run_id}", headers=admin)).json()
        if run["status"] == "cancelled":
            break
        await asyncio.sleep(0.25)
    assert run["status"] == "cancelled"
    [pause] = run["trace"]
    assert pause["wait"]["woken_by"] == "cancelled"


async def test_time_pages_do_not_scroll_sideways_on_a_phone(console: Console) -> None:
    admin = console.auth("admin")
    await console.http.put("/schedules/support-hours", json=SUPPORT_HOURS, headers=admin)
    created = await console.http.post("/workflows", json=EVERYTHING, headers=admin)
    wid = created.json()["id"]
    page = await console.page(width=390, height=844)
    await console.sign_in(page)

    async def fits(what: str) -> None:
        widths = await page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        if widths[0] > widths[1]:
            wide = await page.evaluate(OVERFLOWING)
            raise AssertionError(f"{what} scrolls sideways: {widths}; too wide: {wide}")

    await page.goto(f"/console/workflows/{wid}")
    await expect(page.get_by_role("group", name="Step 5.then.1.then.1 · Branch")).to_be_visible()
    await page.get_by_role("button", name="Run test").click()
    await expect(page.locator("#test-outcome")).to_be_visible()
    await fits("the builder with nested branches and its test report")
    await page.goto("/console/schedules")
    await page.wait_for_load_state("networkidle")
    await fits("the schedules page")
    await page.get_by_role("button", name="Edit support-hours").click()
    await expect(page.get_by_role("dialog", name="Edit support-hours")).to_be_visible()
    await fits("the schedule form")
    await shot(page, "35-schedule-form-phone", full_page=False)
