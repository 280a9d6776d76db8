"""The API's settings: the `api:` section of configs/project.yaml, with defaults, checked once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ...core.config import AUTH_MODES, Config, SettingsReader
from ...core.errors import UserError

API_KEY_ENV = "API_KEY"
API_KEY_HEADER = "X-API-Key"
MAX_PORT = 65535


@dataclass(frozen=True)
class ApiSettings:
    auth: str = "api_key"
    host: str = "127.0.0.1"
    port: int = 8000
    max_records: int = 1000  # records per request
    max_body_bytes: int = 4 * 1024 * 1024  # larger request bodies get 413 before they are read
    # Micro-batching: concurrent requests are scored together in one model call of at most this many
    # records; the first request of a batch waits at most batch_wait_ms for others to join it.
    batch_max_records: int = 256
    batch_wait_ms: float = 2.0
    prediction_log_max_bytes: int = 50 * 1024 * 1024  # a log file is closed and a new one started
    prediction_log_max_files: int = 20  # older files are deleted
    api_key: str | None = None  # from the environment, never from a file

    @property
    def auth_enabled(self) -> bool:
        return self.auth == "api_key"


def api_setting_names() -> list[str]:
    """The keys the `api:` section may hold (the key itself comes from the environment only)."""
    return [name for name in ApiSettings.__dataclass_fields__ if name != "api_key"]


def load_settings(config: Config) -> ApiSettings:
    """Settings from `config.api`; unknown keys are an error, so a typo does not silently fall back."""
    raw: dict[str, Any] = dict(config.api)
    defaults = ApiSettings()
    reader = SettingsReader({"api": raw}, "configs/project.yaml")
    auth = reader.choice("api.auth", AUTH_MODES) if "auth" in raw else defaults.auth
    values: dict[str, Any] = {"auth": auth, "host": str(raw.get("host", defaults.host))}
    for name, low in (
        ("port", 1),
        ("max_records", 1),
        ("max_body_bytes", 1024),
        ("batch_max_records", 1),
        ("prediction_log_max_bytes", 1024),
        ("prediction_log_max_files", 1),
    ):
        high = MAX_PORT if name == "port" else None
        values[name] = reader.number(f"api.{name}", getattr(defaults, name), low=low, high=high, integer=True)
    values["batch_wait_ms"] = reader.number("api.batch_wait_ms", defaults.batch_wait_ms, low=0)
    reader.refuse_unknown(extra={f"api.{name}" for name in api_setting_names()})  # a Config built in code
    return ApiSettings(**values, api_key=os.environ.get(API_KEY_ENV) or None)


def check_can_start(settings: ApiSettings) -> None:
    """With auth on, a missing key would lock everybody out (or, worse, let everybody in): refuse."""
    key = settings.api_key
    if not settings.auth_enabled:
        return
    if not key:
        raise UserError(
            f"api.auth is api_key but the environment variable {API_KEY_ENV} is not set; "
            f"set it to the key clients send in the {API_KEY_HEADER} header "
            "(or set api.auth: none in configs/project.yaml)"
        )
    if key != key.strip():
        what = "holds only whitespace" if not key.strip() else "starts or ends with whitespace"
        raise UserError(
            f"{API_KEY_ENV} {what}; HTTP strips it from the {API_KEY_HEADER} header, so no client could "
            "send this key: set a key without surrounding spaces"
        )
