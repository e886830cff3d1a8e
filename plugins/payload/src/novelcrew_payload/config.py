"""Where Payload is and how hard to try: the core settings plus this plugin's own knobs.

The URL, API key and auth collection live in the core ``Settings`` (``NOVELCREW_PAYLOAD_URL``
or ``NOVEL_MOVIE_API_URL``, ``NOVELCREW_PAYLOAD_API_KEY`` or ``NOVEL_MOVIE_API_KEY``,
``NOVELCREW_PAYLOAD_AUTH_COLLECTION``); timeouts and retry budgets are read from the
environment or ``.env`` (``NOVELCREW_PAYLOAD_*``) so the core settings model stays free of
plugin fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from novelcrew.settings import Settings


class PayloadTuning(BaseSettings):
    """Timeouts and retries; environment variables ``NOVELCREW_PAYLOAD_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NOVELCREW_PAYLOAD_", extra="ignore",
                                      env_file=".env", env_file_encoding="utf-8")

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

    @property
    def api_url(self) -> str:
        """The REST root: ``<url>/api`` unless the URL already ends in ``/api``."""
        base = self.url.rstrip("/")
        return base if base.endswith("/api") else f"{base}/api"


def payload_config(settings: Settings) -> PayloadConfig | None:
    """The Payload configuration from ``settings``, or None when no URL is configured."""
    if not settings.payload_url:
        return None
    tuning = PayloadTuning()
    return PayloadConfig(
        url=settings.payload_url,
        api_key=settings.payload_api_key,
        auth_collection=settings.payload_auth_collection or "users",
        **tuning.model_dump(),
    )
