"""The API's settings: the `api:` section of the project's settings (`ApiSettings`, declared with the others
in core/config.py and checked when they are read), completed from the environment at start-up."""

from __future__ import annotations

from ...core.config import API_KEY_ENV, CONFIG_RELATIVE_PATH, ApiSettings, Config
from ...core.errors import UserError
from ...core.settings import with_environment

__all__ = ["API_KEY_ENV", "API_KEY_HEADER", "ApiSettings", "check_can_start", "load_settings"]

API_KEY_HEADER = "X-API-Key"


def load_settings(config: Config) -> ApiSettings:
    """`config.api` with what the environment sets (the key)."""
    return with_environment(config.api)


def check_can_start(settings: ApiSettings) -> None:
    """With auth on, a missing key would lock everybody out (or, worse, let everybody in): refuse."""
    key = settings.api_key
    if not settings.auth_enabled:
        return
    if not key:
        raise UserError(
            f"api.auth is api_key but the environment variable {API_KEY_ENV} is not set; "
            f"set it to the key clients send in the {API_KEY_HEADER} header "
            f"(or set api.auth: none in {CONFIG_RELATIVE_PATH})"
        )
    if key != key.strip():
        what = "holds only whitespace" if not key.strip() else "starts or ends with whitespace"
        raise UserError(
            f"{API_KEY_ENV} {what}; HTTP strips it from the {API_KEY_HEADER} header, so no client could "
            "send this key: set a key without surrounding spaces"
        )
