"""Cancelling a running run from the console, in real headless Chromium. The webhook is down
(nothing listens there), so a run stays in flight retrying its delivery until cancelled; its page
shows each attempt and the last error meanwhile."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from store.settings import Settings
from tests import test_browser_console
from tests.test_browser_console import Console, shot

pytestmark = test_browser_console.pytestmark
console = test_browser_console.console


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "s3cret"}
    )


async def test_admin_cancels_a_running_run(console: Console) -> None:
    body = {
        "name": "Tag and tell the desk",
        "status": "active",
        "trigger": {"type": "new_conversation"},
        "steps": [{"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["x"]}}],
    }
    assert (
        await console.http.post("/workflows", json=body, headers=console.auth("admin"))
    ).is_success
    [run_id] = await console.send_event()

    viewer = await console.page()
    await console.sign_in(viewer, "viewer")
    await viewer.goto(f"/console/runs/{run_id}")
    await expect(viewer.get_by_role("button", name="Cancel run")).to_be_disabled()

    page = await console.page()
    await console.sign_in(page)
    await page.goto(f"/console/runs/{run_id}")
    # The page re-reads a running run: each delivery attempt and the last error show up.
    retrying = page.locator("[data-pending=deliver_webhook]")
    await expect(retrying).to_contain_text("Retrying the webhook delivery (step tag): attempt")
    await expect(retrying).to_contain_text(
        re.compile(r"Attempt \d+ failed: could not reach the webhook \(ConnectError")
    )
    await expect(page.locator(".tl-card").first).to_contain_text("webhook delivery: attempt")
    await shot(page, "36-run-webhook-retrying", full_page=False)
    cancel = page.get_by_role("button", name="Cancel run")
    await expect(cancel).to_be_visible()
    await cancel.click()
    dialog = page.get_by_role("dialog", name="Cancel this run?")
    await shot(page, "22-run-cancel-confirmation", full_page=False)
    await dialog.get_by_role("button", name="Cancel run").click()
    await expect(page.locator("#run-title .run-cancelled")).to_be_visible(timeout=20_000)
    await expect(cancel).to_be_hidden()
    await expect(page.get_by_text("cancelled on request")).to_be_visible()
    await expect(retrying).to_be_hidden()
    await shot(page, "23-run-cancelled")
    status = (await console.http.get(f"/runs/{run_id}", headers=console.auth("admin"))).json()
    assert status["status"] == "cancelled"
