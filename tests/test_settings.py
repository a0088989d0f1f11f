"""Configuration comes from the environment variables named in SPEC §6."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from store.settings import Settings, get_settings
from worker.main import workflow_runner

ENV_NAMES = {
    "DATABASE_URL": "database_url",
    "SUPPORTFLOW_DATA_DIR": "data_dir",
    "TEMPORAL_ADDRESS": "temporal_address",
    "TEMPORAL_NAMESPACE": "temporal_namespace",
    "TEMPORAL_UI_URL": "temporal_ui_url",
    "SUPPORTFLOW_WEBHOOK_URL": "webhook_url",
    "SUPPORTFLOW_WEBHOOK_SECRET": "webhook_secret",
    "SUPPORTFLOW_TASK_QUEUE": "task_queue",
    "SUPPORTFLOW_API_BASE_URL": "api_base_url",
    "SUPPORTFLOW_WORKFLOW_SANDBOX": "workflow_sandbox",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.usefixtures("clean_env")
def test_defaults_give_the_embedded_stack() -> None:
    settings = Settings()
    assert settings.data_dir == Path(".supportflow")
    assert settings.database_url == "sqlite:///.supportflow/supportflow.db"
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.temporal_namespace == "default"
    assert settings.temporal_ui_url == "http://127.0.0.1:8233"
    assert settings.task_queue == "supportflow"
    assert settings.webhook_url is None
    assert settings.webhook_secret is None
    assert settings.resolved_api_base_url == "http://127.0.0.1:8000"
    assert settings.workflow_sandbox is False


def test_every_setting_reads_its_environment_variable(clean_env: pytest.MonkeyPatch) -> None:
    values = {
        "DATABASE_URL": "postgresql+psycopg://u@db:5432/sf",
        "SUPPORTFLOW_DATA_DIR": "/var/lib/sf",
        "TEMPORAL_ADDRESS": "temporal:7233",
        "TEMPORAL_NAMESPACE": "support",
        "TEMPORAL_UI_URL": "http://ui.example:8080",
        "SUPPORTFLOW_WEBHOOK_URL": "https://desk.example/hooks/supportflow",
        "SUPPORTFLOW_WEBHOOK_SECRET": "s3cret",
        "SUPPORTFLOW_TASK_QUEUE": "sf-blue",
        "SUPPORTFLOW_API_BASE_URL": "https://sf.example",
        "SUPPORTFLOW_WORKFLOW_SANDBOX": "True",
    }
    for name, value in values.items():
        clean_env.setenv(name, value)
    settings = Settings()
    for name, field in ENV_NAMES.items():
        assert str(getattr(settings, field)) == values[name], name


def test_default_database_follows_the_data_dir(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SUPPORTFLOW_DATA_DIR", "/tmp/elsewhere")
    assert Settings().database_url == "sqlite:////tmp/elsewhere/supportflow.db"
    assert Settings(data_dir=Path("here")).database_url == "sqlite:///here/supportflow.db"


@pytest.mark.parametrize("url", ["ftp://desk.example/hook", "desk.example/hook", "not a url"])
def test_webhook_url_must_be_http(clean_env: pytest.MonkeyPatch, url: str) -> None:
    clean_env.setenv("SUPPORTFLOW_WEBHOOK_URL", url)
    with pytest.raises(ValidationError, match="webhook_url|SUPPORTFLOW_WEBHOOK_URL"):
        Settings()


def test_empty_webhook_variables_mean_unset(clean_env: pytest.MonkeyPatch) -> None:
    # docker-compose passes "${SUPPORTFLOW_WEBHOOK_URL:-}": an empty string when not configured.
    clean_env.setenv("SUPPORTFLOW_WEBHOOK_URL", "")
    clean_env.setenv("SUPPORTFLOW_WEBHOOK_SECRET", "")
    settings = Settings()
    assert settings.webhook_url is None
    assert settings.webhook_secret is None


@pytest.mark.usefixtures("clean_env")
def test_get_settings_is_cached() -> None:
    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_workflows_run_without_the_sandbox_unless_asked(clean_env: pytest.MonkeyPatch) -> None:
    assert isinstance(workflow_runner(Settings()), UnsandboxedWorkflowRunner)
    clean_env.setenv("SUPPORTFLOW_WORKFLOW_SANDBOX", "1")
    assert isinstance(workflow_runner(Settings()), SandboxedWorkflowRunner)
