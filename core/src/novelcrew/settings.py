"""One settings model for the whole process.

Sources, strongest first: CLI flags (passed as keyword arguments), the environment
(``NOVELCREW_*`` plus Novel Movie's names as aliases), ``.env``, ``novelcrew.toml``, defaults.
``get_settings()`` is cached rather than an import-time singleton so tests can override it.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(f"NOVELCREW_{name}", *aliases)


class Settings(BaseSettings):
    """novelcrew's configuration; every field is documented in docs/operator-guide.md."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        toml_file="novelcrew.toml",
        populate_by_name=True,
    )

    # server
    host: str = Field("127.0.0.1", validation_alias=_env("HOST"))
    port: int = Field(5001, validation_alias=_env("PORT", "CREWAI_PORT"))
    data_dir: Path = Field(Path(".novelcrew"), validation_alias=_env("DATA_DIR"))
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))
    log_format: Literal["json", "console"] = Field("json", validation_alias=_env("LOG_FORMAT"))
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, validation_alias=_env("API_KEYS")
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("CORS_ORIGINS")
    )
    rate_limit_per_minute: int = Field(600, validation_alias=_env("RATE_LIMIT_PER_MINUTE"))
    max_story_chars: int = Field(2_000_000, validation_alias=_env("MAX_STORY_CHARS"))
    max_body_bytes: int = Field(16_000_000, validation_alias=_env("MAX_BODY_BYTES"))
    gc_freeze: bool = Field(True, validation_alias=_env("GC_FREEZE"))  # novelcrew serve
    webhook_secret: SecretStr | None = Field(None, validation_alias=_env("WEBHOOK_SECRET"))
    webhook_retries: int = Field(5, validation_alias=_env("WEBHOOK_RETRIES"))
    #: first retry delay of a webhook delivery; doubles per retry (capped at 60 s)
    webhook_backoff_seconds: float = Field(
        1.0, ge=0, validation_alias=_env("WEBHOOK_BACKOFF_SECONDS")
    )

    # jobs
    job_backend: str = Field("inline", validation_alias=_env("JOB_BACKEND"))
    concurrency: int = Field(4, ge=1, validation_alias=_env("CONCURRENCY"))
    job_timeout_seconds: float = Field(3600, validation_alias=_env("JOB_TIMEOUT_SECONDS"))
    job_max_attempts: int = Field(3, ge=1, validation_alias=_env("JOB_MAX_ATTEMPTS"))
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=_env("REDIS_URL"))
    queue_name: str = Field("novelcrew:queue", validation_alias=_env("QUEUE_NAME"))
    worker_heartbeat_seconds: float = Field(2.0, validation_alias=_env("WORKER_HEARTBEAT_SECONDS"))
    worker_lease_seconds: float = Field(10.0, validation_alias=_env("WORKER_LEASE_SECONDS"))
    worker_poll_delay_seconds: float = Field(
        0.03, gt=0, validation_alias=_env("WORKER_POLL_DELAY_SECONDS")
    )
    worker_grace_seconds: float = Field(30.0, ge=0, validation_alias=_env("WORKER_GRACE_SECONDS"))

    # plugins (None: every installed plugin; empty list: none)
    plugins: Annotated[list[str] | None, NoDecode] = Field(None, validation_alias=_env("PLUGINS"))
    # extra plugin modules by import path, registered like entry points (no install needed)
    plugin_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("PLUGIN_MODULES")
    )

    # models
    default_model: str | None = Field(
        None, validation_alias=_env("MODEL", "NOVELCREW_DEFAULT_MODEL")
    )
    crew_models: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, validation_alias=_env("CREW_MODELS")
    )
    agent_models: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, validation_alias=_env("AGENT_MODELS")
    )
    fallback_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("FALLBACK_MODELS")
    )
    model_timeout_seconds: float = Field(120.0, validation_alias=_env("MODEL_TIMEOUT_SECONDS"))
    model_max_retries: int = Field(3, ge=0, validation_alias=_env("MODEL_MAX_RETRIES"))
    model_backoff_seconds: float = Field(1.0, validation_alias=_env("MODEL_BACKOFF_SECONDS"))
    model_max_backoff_seconds: float = Field(
        30.0, validation_alias=_env("MODEL_MAX_BACKOFF_SECONDS")
    )
    prompt_token_budget: int = Field(12_000, validation_alias=_env("PROMPT_TOKEN_BUDGET"))
    openrouter_api_key: SecretStr | None = Field(
        None, validation_alias=_env("OPENROUTER_API_KEY", "OPENROUTER_API_KEY")
    )
    openrouter_base_url: str = Field(
        "https://openrouter.ai/api/v1",
        validation_alias=_env("OPENROUTER_BASE_URL", "OPENROUTER_BASE_URL"),
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=_env("OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=_env("OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )

    # Novel Movie services (read by the pathrag and payload plugins)
    pathrag_url: str | None = Field(None, validation_alias=_env("PATHRAG_URL", "PATHRAG_API_URL"))
    payload_url: str | None = Field(
        None, validation_alias=_env("PAYLOAD_URL", "NOVEL_MOVIE_API_URL")
    )
    payload_api_key: SecretStr | None = Field(
        None, validation_alias=_env("PAYLOAD_API_KEY", "NOVEL_MOVIE_API_KEY")
    )
    payload_auth_collection: str = Field("users", validation_alias=_env("PAYLOAD_AUTH_COLLECTION"))

    @field_validator("api_keys", "cors_origins", "fallback_models", "plugin_modules",
                     mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("plugins", mode="before")
    @classmethod
    def _plugin_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("crew_models", "agent_models", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """Accept ``name=model,name=model`` as well as JSON."""
        if isinstance(value, str):
            if value.lstrip().startswith("{"):
                return json.loads(value)
            pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
            return {k.strip(): v.strip() for k, v in pairs}
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
        )

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def model_for_default(self) -> str:
        if self.default_model:
            return self.default_model
        if self.openrouter_api_key:
            return "openrouter/anthropic/claude-sonnet-4"
        return "offline"

    def model_for(self, crew: str | None = None, agent_role: str | None = None) -> str:
        """The model a call uses: per agent role, then per crew, then the default."""
        if agent_role and agent_role in self.agent_models:
            return self.agent_models[agent_role]
        if crew and crew in self.crew_models:
            return self.crew_models[crew]
        return self.model_for_default


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()


def plugins_env_set() -> bool:
    return "NOVELCREW_PLUGINS" in os.environ
