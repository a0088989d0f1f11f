"""Runtime configuration, read from the environment (SPEC §6).

Every component (API, worker, CLI) builds one `Settings`; `get_settings()` caches the one read from
the process environment. Tests and `supportflow dev` build their own with explicit values
(`Settings(data_dir=..., task_queue=...)`): fields accept their Python name as well as their
environment variable name.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, AnyHttpUrl, Field, TypeAdapter, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from definitions.durations import format_duration, parse_duration

DEFAULT_DATA_DIR = Path(".supportflow")
DEFAULT_TASK_QUEUE = "supportflow"
DEFAULT_EVENT_RETENTION = timedelta(days=30)
#: The shortest event retention: an event id is the idempotency key while its row is kept, and a
#: sender may resend for a day after an outage.
MIN_EVENT_RETENTION = timedelta(days=1)

_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _env(name: str, field_name: str) -> AliasChoices:
    """Accept the environment variable name and the field's own name (for explicit construction)."""
    return AliasChoices(name, field_name)


def _check_http_url(value: str | None) -> str | None:
    """Validate an http(s) URL but keep it as the plain string the user gave."""
    if value is None or value == "":
        return None
    _HTTP_URL.validate_python(value)
    return value


class UnsignedWebhook(ValueError):
    """A webhook URL without a secret, and unsigned deliveries not allowed."""


class Settings(BaseSettings):
    """supportflow configuration. Every field can be set from the environment variable named in
    its description; unknown environment variables are ignored."""

    model_config = SettingsConfigDict(
        env_prefix="",
        case_sensitive=False,
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        validation_alias=_env("SUPPORTFLOW_DATA_DIR", "data_dir"),
        description=(
            "SUPPORTFLOW_DATA_DIR: directory for local state of the embedded stack (SQLite "
            "database, Temporal dev-server database, logs)."
        ),
    )
    """Directory for local state of the embedded stack (SQLite db, Temporal db, logs)."""

    database_url: str = Field(
        default="",
        validation_alias=_env("DATABASE_URL", "database_url"),
        description=(
            "DATABASE_URL: SQLAlchemy URL of the supportflow database, e.g. "
            "postgresql+psycopg://user@host:5432/db. Default: sqlite:///<data_dir>/supportflow.db."
        ),
    )
    """SQLAlchemy URL of the database; defaults to SQLite inside `data_dir`."""

    temporal_address: str = Field(
        default="127.0.0.1:7233",
        validation_alias=_env("TEMPORAL_ADDRESS", "temporal_address"),
        description="TEMPORAL_ADDRESS: host:port of the Temporal frontend (gRPC).",
    )
    """host:port of the Temporal frontend service."""

    temporal_namespace: str = Field(
        default="default",
        validation_alias=_env("TEMPORAL_NAMESPACE", "temporal_namespace"),
        description="TEMPORAL_NAMESPACE: Temporal namespace the runs live in.",
    )
    """Temporal namespace the runs live in."""

    temporal_ui_url: str = Field(
        default="http://127.0.0.1:8233",
        validation_alias=_env("TEMPORAL_UI_URL", "temporal_ui_url"),
        description="TEMPORAL_UI_URL: base URL of the Temporal Web UI, used for links to runs.",
    )
    """Base URL of the Temporal Web UI (links to runs), without a trailing slash."""

    webhook_url: str | None = Field(
        default=None,
        validation_alias=_env("SUPPORTFLOW_WEBHOOK_URL", "webhook_url"),
        description=(
            "SUPPORTFLOW_WEBHOOK_URL: optional http(s) URL every action is also delivered to "
            "(signed), so the real help desk applies it. Unset: actions only hit the desk mirror."
        ),
    )
    """Optional http(s) URL that receives every action, signed with `webhook_secret`."""

    webhook_secret: str | None = Field(
        default=None,
        validation_alias=_env("SUPPORTFLOW_WEBHOOK_SECRET", "webhook_secret"),
        description=(
            "SUPPORTFLOW_WEBHOOK_SECRET: HMAC-SHA256 key for the X-Supportflow-Signature header "
            "of outbound webhooks."
        ),
    )
    """HMAC-SHA256 key for `X-Supportflow-Signature` on outbound webhooks."""

    webhook_allow_unsigned: bool = Field(
        default=False,
        validation_alias=_env("SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED", "webhook_allow_unsigned"),
        description=(
            "SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED: set to 1 to deliver webhooks without a signature "
            "when SUPPORTFLOW_WEBHOOK_SECRET is unset. Otherwise such a configuration is refused "
            "at start."
        ),
    )
    """Deliver unsigned webhooks when there is a URL but no secret (otherwise refused at start)."""

    workflow_sandbox: bool = Field(
        default=False,
        validation_alias=_env("SUPPORTFLOW_WORKFLOW_SANDBOX", "workflow_sandbox"),
        description=(
            "SUPPORTFLOW_WORKFLOW_SANDBOX: set to 1 to run workflows in the Temporal SDK's sandbox "
            "(a runtime check for non-deterministic calls; ~17 ms more worker CPU per run). Off "
            "by default: the tests and every history replay run in the sandbox."
        ),
    )
    """Run workflows in the SDK's sandbox (the tests and replays always do)."""

    task_queue: str = Field(
        default=DEFAULT_TASK_QUEUE,
        validation_alias=_env("SUPPORTFLOW_TASK_QUEUE", "task_queue"),
        description=(
            "SUPPORTFLOW_TASK_QUEUE: Temporal task queue of the worker and of the runs the API "
            "starts (tests use a fresh one each)."
        ),
    )
    """Temporal task queue shared by the API (starting runs) and the worker (polling)."""

    api_base_url: str | None = Field(
        default=None,
        validation_alias=_env("SUPPORTFLOW_API_BASE_URL", "api_base_url"),
        description=(
            "SUPPORTFLOW_API_BASE_URL: public base URL of the API (links, and the default target "
            "of `supportflow events send`). Unset: http://127.0.0.1:8000."
        ),
    )
    """Public base URL of the API; None means http://127.0.0.1:8000."""

    event_retention: timedelta = Field(
        default=DEFAULT_EVENT_RETENTION,
        validation_alias=_env("SUPPORTFLOW_EVENT_RETENTION", "event_retention"),
        description=(
            "SUPPORTFLOW_EVENT_RETENTION: how long received events are kept (backtests read them; "
            "their id is the idempotency key meanwhile), e.g. '30d', '720h' or 'P30D'; 1 to 365 "
            "days. Pruned hourly by the worker's Temporal schedule."
        ),
    )
    """How long received events are kept (default 30 days, at least 1)."""

    @field_validator("event_retention", mode="before")
    @classmethod
    def _retention(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = parse_duration(value)
        if isinstance(value, timedelta) and value < MIN_EVENT_RETENTION:
            raise ValueError(
                f"{format_duration(value)} is too short: events are kept at least 1 day (their "
                "id is the idempotency key of POST /events while they are kept)"
            )
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: Any) -> str | None:
        return _check_http_url(None if value is None else str(value))

    @field_validator("api_base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> str | None:
        checked = _check_http_url(None if value is None else str(value))
        return None if checked is None else checked.rstrip("/")

    @field_validator("temporal_ui_url", mode="before")
    @classmethod
    def _ui_url(cls, value: Any) -> str:
        checked = _check_http_url(str(value))
        if checked is None:
            raise ValueError("must be an http(s) URL")
        return checked.rstrip("/")

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'supportflow.db'}"
        return self

    def webhook_signing(self) -> str:
        """One line for the start banner saying how webhooks go out; raises `UnsignedWebhook`
        for a URL without a secret unless unsigned deliveries are allowed (SPEC §3)."""
        if not self.webhook_url:
            return "off (SUPPORTFLOW_WEBHOOK_URL is not set)"
        host = urlsplit(self.webhook_url).netloc  # not the path: it may hold a token
        if self.webhook_secret:
            return f"signed, to {host} (X-Supportflow-Signature t=...,v1=...)"
        if self.webhook_allow_unsigned:
            return f"UNSIGNED, to {host} (SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED=1)"
        raise UnsignedWebhook(
            "SUPPORTFLOW_WEBHOOK_URL is set but SUPPORTFLOW_WEBHOOK_SECRET is not: set a secret, "
            "or SUPPORTFLOW_WEBHOOK_ALLOW_UNSIGNED=1 to deliver unsigned webhooks."
        )

    @property
    def resolved_api_base_url(self) -> str:
        """The API base URL, with the local default filled in."""
        return self.api_base_url or "http://127.0.0.1:8000"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings read from the process environment, built once per process."""
    return Settings()
