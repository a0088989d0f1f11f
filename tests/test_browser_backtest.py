"""The backtest in the console, in real headless Chromium against the real stack (the fixture of
tests/test_browser_console.py: uvicorn, a worker on the dev server, a fresh database): the
builder's "Backtest: last 7 days" shows the counts, the bars of matches per day and the sample
conversations with their rendered texts; the templates page asks the same of a template; a viewer
may run it; nothing breaks the Content-Security-Policy (the fixture fails the test otherwise)."""

from __future__ import annotations

from playwright.async_api import expect

from tests import test_browser_console
from tests.test_browser_console import Console, shot

pytestmark = test_browser_console.pytestmark
console = test_browser_console.console

GREET = {
    "name": "VIP greeting (draft)",
    "status": "draft",
    "trigger": {"type": "new_conversation", "channels": ["whatsapp"]},
    "steps": [
        {"id": "vip", "type": "condition", "field": "customer.segment", "operator": "equals",
         "value": "vip", "on_false": "stop"},
        {"id": "hello", "type": "action", "action": "auto_reply",
         "params": {"message": "Welcome back, {{customer.name}}!"}},
    ],
}  # fmt: skip


async def test_backtest_in_the_builder_and_on_templates(console: Console) -> None:
    created = await console.http.post("/workflows", json=GREET, headers=console.auth("admin"))
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    for _ in range(3):
        await console.send_event()
    await console.send_event(customer={"id": "u-regular", "name": "Bo", "segment": "regular"})
    await console.send_event(conversation={"id": "c-email", "channel": "email"})

    page = await console.page()
    await console.sign_in(page)
    await page.goto(f"/console/workflows/{workflow_id}")
    await page.get_by_role("button", name="Backtest: last 7 days").click()
    report = page.locator("#backtest-report")
    await expect(report.locator("#bt-scanned")).to_have_text("5")
    await expect(report.locator("#bt-matched")).to_have_text("4")
    await expect(report.locator("#bt-complete")).to_have_text("3")
    await expect(report.locator("#bt-stop")).to_have_text("1")
    bars = report.locator("svg.bt-chart rect.bt-bar")
    assert await bars.count() in (7, 8)
    await expect(report.get_by_role("img", name="Matches per day")).to_be_visible()
    await expect(report.locator("#bt-samples > li")).to_have_count(4)
    await expect(report.get_by_text("Welcome back, Ada!").first).to_be_visible()
    await expect(report.get_by_text("Would stop at vip")).to_be_visible()
    await shot(page, "37-backtest-builder")

    # Templates: "what would this template have done here?"
    await page.goto("/console/templates")
    await page.get_by_role("button", name="Preview VIP Customer Auto-Route").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name="Backtest: last 7 days").click()
    await expect(dialog.locator("#bt-scanned")).to_have_text("5")
    await expect(dialog.locator("#bt-matched")).to_have_text("3")  # VIP on WhatsApp
    await shot(page, "38-backtest-template", full_page=False)

    # A viewer may run it too.
    viewer = await console.page()
    await console.sign_in(viewer, "viewer")
    await viewer.goto(f"/console/workflows/{workflow_id}")
    await viewer.get_by_role("button", name="Backtest: last 7 days").click()
    await expect(viewer.locator("#bt-matched")).to_have_text("4")


async def test_the_builder_says_to_save_first(console: Console) -> None:
    page = await console.page()
    await console.sign_in(page)
    await page.goto("/console/workflows/new")
    button = page.get_by_role("button", name="Backtest: last 7 days")
    await expect(button).to_be_disabled()
    await expect(page.get_by_text("Save the workflow first; the backtest")).to_be_visible()
