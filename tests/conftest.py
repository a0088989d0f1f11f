"""Fixtures shared by every test. Temporal servers, task queues and databases come from
`tests/temporal_fixtures.py` (see its docstring)."""

import os

import pytest
from hypothesis import settings as hypothesis_settings

from tests.temporal_fixtures import (  # noqa: F401 - fixtures are found by name
    assert_eventually,
    db_url,
    dev_env,
    engine,
    settings,
    task_queue,
    time_env,
    time_server,
)

# Workflows built in this process run in the SDK's sandbox (store.settings `workflow_sandbox`),
# so every test also checks them for non-deterministic calls; the processes the tests start as a
# user would (tests/cli_process.py) run as shipped, without it.
os.environ.setdefault("SUPPORTFLOW_WORKFLOW_SANDBOX", "1")

# CI replays the same examples every run (a red build is reproducible); local runs explore.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`.ci/run` sets SUPPORTFLOW_SKIP_BROWSER_TESTS (to the reason) when Chromium could not be
    installed: the browser tests are then skipped, visibly, instead of failing."""
    reason = os.environ.get("SUPPORTFLOW_SKIP_BROWSER_TESTS")
    if not reason:
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: {reason}")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)
