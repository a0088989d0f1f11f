"""Fixtures shared by every test. Temporal servers, task queues and databases come from
`tests/temporal_fixtures.py` (see its docstring)."""

from tests.temporal_fixtures import (  # noqa: F401 - fixtures are found by name
    assert_eventually,
    db_url,
    dev_env,
    engine,
    settings,
    task_queue,
    time_env,
)
