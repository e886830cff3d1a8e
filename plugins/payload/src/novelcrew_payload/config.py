"""Where Payload is and how hard to try: the payload plugin's own settings.

``NOVELCREW_PAYLOAD_<FIELD>`` from the environment or ``.env`` (Novel Movie's
``NOVEL_MOVIE_API_URL`` and ``NOVEL_MOVIE_API_KEY`` kept as aliases), or a
``[plugin_config.payload]`` table in the core settings, which wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator

from novelcrew import PluginSettings

if TYPE_CHECKING:
    from novelcrew.settings import Settings


def http_url(value: str | None) -> str | None:
    """``value`` if it is an http(s) URL with a host; blank means unset (the plugin idles).

    Without this, ``localhost:3000`` (no scheme) started a server that called Payload
    "unreachable" at the first job and retried every update for its whole budget."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be Payload's address starting with http:// or https://, "
                         "e.g. http://localhost:3000")
    return value


class PayloadSettings(PluginSettings):
    """Payload's address and key, timeouts and retries (docs: the plugin's README)."""

    plugin: ClassVar[str] = "payload"
    model_config = PluginSettings.config_for("payload")

    #: Payload's root (``http://host:3000``) or its REST root; unset: the plugin stays idle
    url: str | None = Field(None, validation_alias=AliasChoices(
        "NOVELCREW_PAYLOAD_URL", "NOVEL_MOVIE_API_URL", "url"))
    #: the API key of a user in the auth collection
    api_key: SecretStr | None = Field(None, validation_alias=AliasChoices(
        "NOVELCREW_PAYLOAD_API_KEY", "NOVEL_MOVIE_API_KEY", "api_key"))
    #: the slug in ``Authorization: <slug> API-Key <key>``
    auth_collection: str = "users"
    #: seconds for one HTTP request (connect, read, write)
    timeout_seconds: float = Field(10.0, gt=0)
    #: retries of one call after a connection error, a timeout or a 5xx (never after a 4xx)
    retries: int = Field(3, ge=0)
    #: first backoff delay; doubles per retry up to ``max_backoff_seconds``
    backoff_seconds: float = Field(0.5, ge=0)
    max_backoff_seconds: float = Field(5.0, ge=0)
    #: the most one job-event update (read, then patch, with their retries) may take; the core
    #: waits at most 60 s for an observer, so this stays below that
    update_budget_seconds: float = Field(20.0, gt=0, le=50)
    #: retries of a job-event update's calls (bounded by ``update_budget_seconds`` too)
    update_retries: int = Field(6, ge=0)
    #: how long a failed or cancelled job's restore that met an outage is tried again in the
    #: background (0: never); each try waits ``backoff_seconds`` doubling to
    #: ``max_backoff_seconds``
    restore_retry_seconds: float = Field(1800.0, ge=0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value)


class PayloadConfig(BaseModel):
    """Everything a ``PayloadClient`` needs."""

    url: str
    api_key: SecretStr | None = None
    auth_collection: str = "users"
    timeout_seconds: float = 10.0
    retries: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 5.0
    update_budget_seconds: float = 20.0
    update_retries: int = 6
    restore_retry_seconds: float = 1800.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        url = http_url(value)
        if url is None:
            raise ValueError("must be Payload's address, e.g. http://localhost:3000")
        return url

    @property
    def api_url(self) -> str:
        """The REST root: ``<url>/api`` unless the URL already ends in ``/api``."""
        base = self.url.rstrip("/")
        return base if base.endswith("/api") else f"{base}/api"


def payload_config(settings: Settings) -> PayloadConfig | None:
    """The Payload configuration for ``settings``, or None when no URL is configured."""
    config = PayloadSettings.of(settings)
    if not config.url:
        return None
    return PayloadConfig(**{**config.model_dump(), "url": config.url,
                            "auth_collection": config.auth_collection or "users"})
