"""The API reference offline, in real headless Chromium (issue 18): every request to a host other
than this machine is aborted and recorded, and must never happen. `/docs` renders the operations,
"Try it out" calls the local API with a Bearer key given in the Authorize dialog, `/redoc`
renders; neither page breaks its own Content-Security-Policy (beyond the one image ReDoc would
fetch from cdn.redoc.ly, which the policy stops before any request).

The API is served by uvicorn on a free port, on the session's Temporal dev server (no worker:
nothing here starts a run). Screenshots go to `test-artifacts/screenshots/`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest_asyncio

from app.main import create_app
from store.keys import create_key
from store.settings import Settings
from tests import test_browser_console
from tests.served import served
from tests.test_browser_console import CHROMIUM, CHROMIUM_ARGS, shot

pytestmark = test_browser_console.pytestmark  # browser; skipped without Chromium or playwright

with contextlib.suppress(ImportError):  # the module still collects (and skips) without it
    from playwright.async_api import Browser, Page, Route, async_playwright, expect

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
WAIT_MS = 30_000  # generous: CI shares 2 cores, and the bundles (1-1.5 MB) pass through the route
WORKFLOW_NAME = "Refund to billing (reference test)"
# A watcher installed before any page script: what the page's policy refused, as "directive url".
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(e.effectiveDirective + " " + e.blockedURI);
});
"""


@dataclass
class Reference:
    base_url: str
    browser: Browser
    admin_key: str
    blocked: list[str] = field(default_factory=list)

    async def page(self) -> Page:
        """A page on which every request leaving this machine is aborted and recorded."""
        context = await self.browser.new_context(
            viewport={"width": 1280, "height": 900}, base_url=self.base_url
        )
        await context.route("**/*", self._local_only)
        await context.add_init_script(RECORD_CSP_VIOLATIONS)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        return page

    async def _local_only(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            self.blocked.append(route.request.url)
            await route.abort("internetdisconnected")


async def csp_violations(page: Page) -> list[str]:
    return list(await page.evaluate("window.cspViolations"))


@pytest_asyncio.fixture
async def reference(settings: Settings) -> AsyncIterator[Reference]:
    app = create_app(settings)
    async with served(app) as base_url:
        admin_key = create_key(app.state.engine, "admin", name="reference test")
        async with httpx.AsyncClient(base_url=base_url) as http:
            workflow = {
                "name": WORKFLOW_NAME,
                "description": "Tag refund requests",
                "status": "draft",
                "trigger": {"type": "new_message", "content_patterns": ["refund"]},
                "steps": [
                    {"id": "tag", "type": "action", "action": "add_tag", "params": {"tags": ["r"]}}
                ],
            }
            headers = {"Authorization": f"Bearer {admin_key}"}
            response = await http.post("/workflows", json=workflow, headers=headers)
            assert response.status_code == 201, response.text
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield Reference(base_url=base_url, browser=browser, admin_key=admin_key)
            finally:
                await browser.close()


async def test_swagger_ui_lists_operations_and_tries_one_out_with_a_bearer_key(
    reference: Reference,
) -> None:
    page = await reference.page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto("/docs")
    await expect(page.get_by_role("heading", name="supportflow")).to_be_visible(timeout=WAIT_MS)
    operation = page.locator("#operations-workflows-list_workflows_workflows_get")
    await expect(operation).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".opblock")).to_have_count(
        len(await operation_ids(reference)), timeout=WAIT_MS
    )
    await shot(page, "reference-01-swagger-operations", full_page=False)

    # Without a key the API answers 401: the call really goes to the local API.
    await operation.locator(".opblock-summary").click()
    await operation.get_by_role("button", name="Try it out").click()
    await operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table td.response-col_status:not(.col_header)")
    await expect(status).to_have_text("401", timeout=WAIT_MS)

    # Authorize with the admin key; the same call now lists the workflow.
    await page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    await dialog.get_by_role("textbox").fill(reference.admin_key)
    await dialog.get_by_role("button", name="Apply credentials").click()
    await dialog.get_by_role("button", name="Close").click()
    async with page.expect_request("**/workflows?*") as sent:
        await operation.get_by_role("button", name="Execute").click()
    request = await sent.value
    assert request.headers["authorization"] == f"Bearer {reference.admin_key}"
    assert urlsplit(request.url).hostname == "127.0.0.1"
    await expect(status).to_have_text("200", timeout=WAIT_MS)
    await expect(operation.locator(".live-responses-table")).to_contain_text(
        WORKFLOW_NAME, timeout=WAIT_MS
    )
    await shot(page, "reference-02-swagger-try-it-out")

    assert errors == []
    assert await csp_violations(page) == []
    assert reference.blocked == []


async def test_redoc_renders_offline(reference: Reference) -> None:
    page = await reference.page()
    # The guard itself: from a page without a policy (every page of ours sends one, which would
    # refuse the request before the guard sees it), a request elsewhere is aborted and recorded.
    # (".invalid" never resolves: nothing could leave anyway.)
    await page.goto("about:blank")
    probe = "https://cdn.example.invalid/probe.js"
    failed = await page.evaluate(f"fetch({probe!r}).then(() => false, () => true)")
    assert failed and reference.blocked == [probe]
    reference.blocked.clear()

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto("/redoc")
    heading = page.get_by_role("heading", name="supportflow (0.1.0)")
    await expect(heading).to_be_visible(timeout=WAIT_MS)
    menu = page.locator(".menu-content")
    await expect(menu.get_by_text("List Workflows", exact=True)).to_be_attached(timeout=WAIT_MS)
    await expect(page.get_by_text("Download OpenAPI specification")).to_be_visible(timeout=WAIT_MS)
    # Search runs in ReDoc's blob: worker (REDOC_CSP allows it).
    await page.get_by_placeholder("Search...").fill("dry run")
    await expect(page.locator("[data-role='search:results']")).to_contain_text(
        "Dry Run", timeout=WAIT_MS
    )
    await shot(page, "reference-03-redoc", full_page=False)

    assert errors == []
    # The "API docs by Redocly" logo is the one thing ReDoc fetches elsewhere: our policy stops
    # it (and the route never even sees it). Anything else refused would be a broken page.
    for violation in await csp_violations(page):
        assert violation.startswith("img-src https://cdn.redoc.ly/"), violation
    assert reference.blocked == []


async def operation_ids(reference: Reference) -> list[str]:
    """Every operation of the OpenAPI document (what Swagger UI should list)."""
    async with httpx.AsyncClient(base_url=reference.base_url) as http:
        schema = (await http.get("/openapi.json")).json()
    return [op["operationId"] for path in schema["paths"].values() for op in path.values()]
