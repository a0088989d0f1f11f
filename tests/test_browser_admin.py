"""The console's admin pages in real headless Chromium (same stack as test_browser_console):
version history with a side-by-side diff and Restore, stopped runs, the conversation page."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from tests import test_browser_console
from tests.test_browser_console import Console, shot

pytestmark = test_browser_console.pytestmark
console = test_browser_console.console


def refund(name: str = "Refund to billing", status: str = "draft") -> dict[str, Any]:
    return {
        "name": name,
        "description": "Tag refund requests",
        "status": status,
        "trigger": {"type": "new_message", "content_patterns": ["refund"]},
        "steps": [
            {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["refund"]}}
        ],
    }


async def test_history_compares_versions_and_restores_one(console: Console) -> None:
    admin = console.auth("admin")
    created = await console.http.post("/workflows", json=refund(), headers=admin)
    assert created.status_code == 201, created.text
    wid = created.json()["id"]
    changed = refund(name="Refunds, tagged twice", status="active")
    changed["steps"].append(
        {"id": "tag2", "type": "action", "action": "add_tag", "params": {"tags": ["money"]}}
    )
    assert (await console.http.put(f"/workflows/{wid}", json=changed, headers=admin)).is_success

    page = await console.page()
    await console.sign_in(page)
    await page.goto(f"/console/workflows/{wid}")
    await page.get_by_role("link", name="History").click()
    await expect(
        page.get_by_role("heading", name="Version history · Refunds, tagged twice")
    ).to_be_visible()
    rows = page.locator("#versions-body tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("status draft → active")
    await expect(rows.first).to_contain_text("step 'tag2' added")
    await expect(rows.first).to_contain_text("browser admin")
    # The diff of v1 and v2 side by side: the old name on the left, the new one on the right.
    await expect(page.locator(".diff-pane").first.locator(".diff-removed")).to_contain_text(
        ["Refund to billing"]
    )
    await expect(page.locator(".diff-pane").nth(1).locator(".diff-added").first).to_be_visible()
    await expect(page.locator("#diff-summary")).to_contain_text("v1 → v2")
    await shot(page, "18-versions-diff")

    await expect(page.get_by_role("button", name="Restore version 2")).to_be_disabled()
    await page.get_by_role("button", name="Restore version 1").click()
    dialog = page.get_by_role("dialog", name="Restore this version?")
    await expect(dialog).to_contain_text("saved as version 3")
    await dialog.get_by_role("button", name="Restore").click()
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_contain_text("restored version 1")
    await expect(
        page.get_by_role("heading", name="Version history · Refund to billing")
    ).to_be_visible()
    await shot(page, "19-versions-restored")
    current = await console.http.get(f"/workflows/{wid}", headers=admin)
    assert current.json()["version"] == 3 and current.json()["status"] == "draft"


async def test_viewer_sees_history_but_cannot_restore(console: Console) -> None:
    admin = console.auth("admin")
    created = await console.http.post("/workflows", json=refund(), headers=admin)
    wid = created.json()["id"]
    await console.http.patch(f"/workflows/{wid}", json={"name": "Two"}, headers=admin)
    page = await console.page()
    await console.sign_in(page, "viewer")
    await page.goto(f"/console/workflows/{wid}/versions")
    await expect(page.locator("#versions-body tr")).to_have_count(2)
    await expect(page.get_by_role("button", name="Restore version 1")).to_be_disabled()


LEADS_ONLY = {
    "name": "Leads only",
    "status": "active",
    "trigger": {"type": "new_conversation"},
    "steps": [
        {
            "id": "is-lead",
            "type": "condition",
            "field": "customer.lifecycle",
            "operator": "equals",
            "value": "lead",
            "on_false": "stop",
        },
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["lead"]}},
    ],
}
WELCOME_TAG = {
    "name": "Tag welcomed",
    "status": "active",
    "trigger": {"type": "new_conversation"},
    "steps": [
        {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["welcomed"]}}
    ],
}


async def test_stopped_runs_and_the_conversation_page(console: Console) -> None:
    admin = console.auth("admin")
    for body in (LEADS_ONLY, WELCOME_TAG):
        assert (await console.http.post("/workflows", json=body, headers=admin)).is_success
    run_ids = await console.send_event()  # Ada is a customer: "Leads only" stops
    assert len(run_ids) == 2
    conversation = run_ids[0].split(":")[-1].replace("evt-", "c-")

    page = await console.page()
    await console.sign_in(page)
    await page.goto("/console/runs")
    stopped = page.locator("#runs-body tr[data-status=stopped]")
    for _ in range(40):
        if (
            await stopped.count()
            and await page.locator("#runs-body tr[data-status=completed]").count()
        ):
            break
        await asyncio.sleep(0.25)
        await page.reload()
    await expect(stopped).to_have_count(1)
    await expect(stopped.locator(".run-stopped")).to_have_text("stopped")
    await page.get_by_label("Status").select_option("stopped")
    await expect(page.locator("#runs-body tr")).to_have_count(1)
    await expect(page.locator("#runs-body tr[data-status=stopped]")).to_have_count(1)
    await shot(page, "20-runs-stopped-filter")

    await page.get_by_role("link", name=conversation).click()
    await expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    await expect(page.locator("#conv-tags")).to_contain_text("welcomed")
    await expect(page.locator("#conv-runs tr")).to_have_count(2)
    await expect(page.locator("#conv-runs tr[data-status=stopped]")).to_have_count(1)
    await shot(page, "21-conversation")

    await page.goto("/console/analytics")
    await expect(page.locator("#donut")).to_contain_text("Stopped by a condition")


async def test_directory_pages_and_builder_pickers(console: Console) -> None:
    page = await console.page()
    await console.sign_in(page)
    await page.get_by_role("link", name="Teams").first.click()
    await expect(page.get_by_role("heading", name="Teams", exact=True)).to_be_visible()
    await page.get_by_role("button", name="New team").click()
    dialog = page.locator("#dir-dialog")
    await dialog.get_by_label("Id", exact=True).fill("vip-support")
    await dialog.get_by_label("Name", exact=True).fill("VIP")
    await dialog.get_by_label("Members (agent ids, comma-separated)").fill("ana, bo")
    await dialog.get_by_role("button", name="Save").click()
    row = page.locator("#dir-body tr[data-id=vip-support]")
    await expect(row).to_contain_text("ana, bo")
    await row.get_by_role("button", name="Edit vip-support").click()
    await dialog.get_by_label("Name", exact=True).fill("VIP support")
    await dialog.get_by_role("button", name="Save").click()
    await expect(row).to_contain_text("VIP support")
    await shot(page, "24-teams")

    await page.get_by_role("link", name="Agents").first.click()
    await page.get_by_role("button", name="New agent").click()
    await dialog.get_by_label("Id", exact=True).fill("ana")
    await dialog.get_by_label("Name", exact=True).fill("Ana")
    await dialog.get_by_label("Email").fill("not-an-email-is-fine@example.com")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.locator("#dir-body tr[data-id=ana]")).to_contain_text("Ana")
    await shot(page, "25-agents")

    # Schedules have their own page: tests/test_browser_time.py.

    # A draft naming a team that does not exist: the builder warns, the picker fixes it.
    body = {
        "name": "Route to ghosts",
        "status": "draft",
        "trigger": {"type": "new_conversation"},
        "steps": [
            {"id": "route", "type": "action", "action": "route", "params": {"team": "ghosts"}}
        ],
    }
    created = await console.http.post("/workflows", json=body, headers=console.auth("admin"))
    assert [w["id"] for w in created.json()["warnings"]] == ["ghosts"]
    wid = created.json()["id"]
    await page.goto(f"/console/workflows/{wid}")
    warnings = page.locator("#ref-warnings")
    await expect(warnings).to_contain_text("step 'route' names team 'ghosts'")
    picker = page.get_by_role("group", name="Step 1 · Route").get_by_label("Team id")
    await expect(picker).to_have_value("ghosts")
    await shot(page, "27-builder-picker-warning")
    await picker.select_option("vip-support")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#page-meta")).to_contain_text("Version 2")
    await expect(warnings).to_be_hidden()
    saved = await console.http.get(f"/workflows/{wid}", headers=console.auth("admin"))
    assert saved.json()["steps"][0]["params"]["team"] == "vip-support"


async def test_cards_count_runs_failed_in_the_last_day(console: Console) -> None:
    body = {
        "name": "Escalate to nobody",
        "status": "active",
        "trigger": {"type": "new_conversation"},
        # No `to` and no assigned team: nobody to escalate to, the run fails for good.
        "steps": [{"id": "esc", "type": "action", "action": "escalate", "params": {"reason": "x"}}],
    }
    assert (
        await console.http.post("/workflows", json=body, headers=console.auth("admin"))
    ).is_success
    await console.send_event()
    page = await console.page()
    await console.sign_in(page)
    badge = page.locator("[data-field=failed-24h]")
    for _ in range(40):
        if await badge.count():
            break
        await asyncio.sleep(0.5)
        await page.reload()
    await expect(badge).to_have_text("1 failed in 24 h")
    await shot(page, "28-workflows-failed-count")
    await badge.click()
    await expect(page.get_by_label("Status")).to_have_value("failed")
    await expect(page.locator("#runs-body tr[data-status=failed]")).to_have_count(1)


# The innermost elements that reach past the right edge (to say what overflows).
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
  .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > innerWidth + 1))
  .slice(0, 8).map((e) => `${e.tagName.toLowerCase()}.${e.className}#${e.id}`)"""


async def test_no_page_scrolls_sideways_on_a_phone(console: Console) -> None:
    admin = console.auth("admin")
    created = await console.http.post("/workflows", json=refund(), headers=admin)
    wid = created.json()["id"]
    await console.http.put(f"/workflows/{wid}", json=refund(name="Renamed"), headers=admin)
    tagger = {**refund(name="Tag new conversations", status="active")}
    tagger["trigger"] = {"type": "new_conversation"}
    await console.http.post("/workflows", json=tagger, headers=admin)
    [run_id] = await console.send_event()
    conversation = run_id.split(":")[-1].replace("evt-", "c-")
    await console.http.put("/teams/ops", json={"name": "Ops", "members": ["ana"]}, headers=admin)
    page = await console.page(width=390, height=844)
    await console.sign_in(page)
    pages = [
        "/console/workflows",
        "/console/templates",
        "/console/workflows/new",
        f"/console/workflows/{wid}",
        f"/console/workflows/{wid}/versions",
        "/console/runs",
        f"/console/runs/{run_id}",
        f"/console/conversations/{conversation}",
        "/console/analytics",
        "/console/teams",
        "/console/agents",
        "/console/schedules",
    ]
    for path in pages:
        await page.goto(path)
        await page.wait_for_load_state("networkidle")
        widths = await page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        if widths[0] > widths[1]:
            wide = await page.evaluate(OVERFLOWING)
            raise AssertionError(f"{path} scrolls sideways: {widths}; too wide: {wide}")
    await expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
