"""One settings model for the whole process.

Sources, strongest first: CLI flags (passed as keyword arguments), the environment
(``NOVELCREW_*`` plus Novel Movie's names as aliases), ``.env``, ``novelcrew.toml``, defaults.
``get_settings()`` is cached rather than an import-time singleton so tests can override it.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from novelcrew.errors import NovelcrewError


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(f"NOVELCREW_{name}", *aliases)


def _by_alias(settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource
              ) -> PydanticBaseSettingsSource:
    """Keyword arguments (``Settings(port=...)``, the CLI's flags) named by their environment
    alias, so they beat the environment: pydantic-settings before 2.11 (the one crewAI 1.12
    pins) hands both on, and pydantic takes the alias over the field name."""
    if not isinstance(init, InitSettingsSource):
        return init
    kwargs = dict(init.init_kwargs)
    for name, info in settings_cls.model_fields.items():
        alias = info.validation_alias
        if name in kwargs and isinstance(alias, AliasChoices):
            first = alias.choices[0]
            if isinstance(first, str) and first not in kwargs:
                kwargs[first] = kwargs.pop(name)
    return InitSettingsSource(settings_cls, init_kwargs=kwargs)


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
    port: int = Field(5001, ge=0, le=65535, validation_alias=_env("PORT", "CREWAI_PORT"))
    data_dir: Path = Field(Path(".novelcrew"), validation_alias=_env("DATA_DIR"))
    #: upper-cased; one of ``LOG_LEVELS`` (uvicorn and the logging setup take no other)
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))
    #: a free label shown by /stats (the original server's ENVIRONMENT), e.g. staging
    environment: str = Field("production", validation_alias=_env("ENVIRONMENT"))
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
    #: a connection must send a request's head within this many seconds of opening (or of
    #: its previous response), or it is closed (``api/deadlines.py``; novelcrew serve)
    header_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=_env("HEADER_TIMEOUT_SECONDS"))
    #: a request's body must arrive in full within this many seconds of its head (else 408)
    body_timeout_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("BODY_TIMEOUT_SECONDS"))
    gc_freeze: bool = Field(True, validation_alias=_env("GC_FREEZE"))  # serve and worker
    #: run ``serve`` / ``worker`` processes on these CPUs, one each (``affinity.py``)
    cpu_affinity: Annotated[list[int] | None, NoDecode] = Field(
        None, validation_alias=_env("CPU_AFFINITY"))
    webhook_secret: SecretStr | None = Field(None, validation_alias=_env("WEBHOOK_SECRET"))
    webhook_retries: int = Field(5, validation_alias=_env("WEBHOOK_RETRIES"))
    #: first retry delay of a webhook delivery; doubles per retry (capped at 60 s)
    webhook_backoff_seconds: float = Field(
        1.0, ge=0, validation_alias=_env("WEBHOOK_BACKOFF_SECONDS")
    )

    #: hosts and CIDRs webhooks may reach although they are not public (e.g. the Novel Movie
    #: app on the same host or LAN: ``127.0.0.1,novel-movie.internal,10.0.0.0/8``)
    webhook_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("WEBHOOK_ALLOW")
    )

    # jobs
    #: how long an ``Idempotency-Key`` is remembered after its job was accepted: a request
    #: that repeats it within this time gets the same job back (``api/idempotency.py``)
    idempotency_ttl_seconds: float = Field(
        86_400, gt=0, validation_alias=_env("IDEMPOTENCY_TTL_SECONDS"))
    job_backend: str = Field("inline", validation_alias=_env("JOB_BACKEND"))
    concurrency: int = Field(4, ge=1, validation_alias=_env("CONCURRENCY"))
    #: the most one attempt of a job may run (every external call also has its own deadline)
    job_timeout_seconds: float = Field(600, gt=0, validation_alias=_env("JOB_TIMEOUT_SECONDS"))
    job_max_attempts: int = Field(3, ge=1, validation_alias=_env("JOB_MAX_ATTEMPTS"))
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=_env("REDIS_URL"))
    queue_name: str = Field("novelcrew:queue", validation_alias=_env("QUEUE_NAME"))
    worker_heartbeat_seconds: float = Field(2.0, validation_alias=_env("WORKER_HEARTBEAT_SECONDS"))
    worker_lease_seconds: float = Field(10.0, validation_alias=_env("WORKER_LEASE_SECONDS"))
    worker_poll_delay_seconds: float = Field(
        0.03, gt=0, validation_alias=_env("WORKER_POLL_DELAY_SECONDS")
    )
    worker_grace_seconds: float = Field(30.0, ge=0, validation_alias=_env("WORKER_GRACE_SECONDS"))
    #: a worker's own Prometheus endpoint (the jobs it runs are counted nowhere else); 0: off.
    #: Each worker serves on this port plus its ``worker_index``, so several share a host
    worker_metrics_port: int = Field(0, ge=0, le=65535,
                                     validation_alias=_env("WORKER_METRICS_PORT"))
    worker_metrics_host: str = Field("127.0.0.1", validation_alias=_env("WORKER_METRICS_HOST"))
    worker_index: int = Field(0, ge=0, le=65535, validation_alias=_env("WORKER_INDEX"))

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
    #: sampling temperature of every model call (none: the provider's default); a job's
    #: ``config.temperature`` overrides it for that job
    model_temperature: float | None = Field(
        None, ge=0, le=2, validation_alias=_env("MODEL_TEMPERATURE"))
    #: most tokens per model answer (none: the provider's default); ``config.max_tokens``
    #: overrides it for one job
    model_max_tokens: int | None = Field(None, ge=1, validation_alias=_env("MODEL_MAX_TOKENS"))
    prompt_token_budget: int = Field(12_000, validation_alias=_env("PROMPT_TOKEN_BUDGET"))
    #: model calls at once per model, shared by every job of the process (by every arq worker
    #: with the ``arq`` backend); a 429 lowers it for a while (``novelcrew.llm.limit``)
    model_concurrency: int = Field(16, ge=1, validation_alias=_env("MODEL_CONCURRENCY"))
    #: limits for a model id or a provider / model prefix (one pool for all it matches):
    #: ``openrouter=32,openai/gpt-4o=8`` or JSON
    model_concurrency_overrides: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict, validation_alias=_env("MODEL_CONCURRENCY_OVERRIDES")
    )
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

    #: the response cache (llm/cache.py): identical model requests answered from the job
    #: backend's store; a job's ``config.cache: false`` turns it off for that job
    llm_cache: bool = Field(True, validation_alias=_env("LLM_CACHE"))
    #: how long a cached answer is kept (0: until the store evicts it)
    llm_cache_ttl_seconds: float = Field(
        30 * 24 * 3600.0, ge=0, validation_alias=_env("LLM_CACHE_TTL_SECONDS"))
    #: record every model request and answer to this directory (llm/recording.py)
    llm_record_dir: Path | None = Field(None, validation_alias=_env("LLM_RECORD"))
    #: answer model requests from this recording; a request not in it fails the job
    llm_replay_dir: Path | None = Field(None, validation_alias=_env("LLM_REPLAY"))
    #: default caps per job (llm/budget.py); ``config.max_cost_usd`` /
    #: ``config.max_tokens_total`` set them per job
    max_job_cost_usd: float | None = Field(
        None, ge=0, validation_alias=_env("MAX_JOB_COST_USD"))
    max_job_tokens: int | None = Field(None, ge=1, validation_alias=_env("MAX_JOB_TOKENS"))

    #: per-plugin settings by plugin name, e.g. ``{"payload": {"url": ...}}`` (a
    #: ``[plugin_config.payload]`` table in novelcrew.toml, or JSON); they override the
    #: plugin's own ``NOVELCREW_<PLUGIN>_*`` variables (see ``PluginSettings.of``)
    plugin_config: Annotated[dict[str, dict[str, Any]], NoDecode] = Field(
        default_factory=dict, validation_alias=_env("PLUGIN_CONFIG")
    )

    @field_validator("api_keys", "cors_origins", "fallback_models", "plugins",
                     "plugin_modules", "webhook_allow", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _named_dir(cls, value: Any) -> Any:
        """``NOVELCREW_DATA_DIR=`` (a blank line in an env file) is ``Path("")``, the current
        folder: the job store and graph landed wherever the command happened to start."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: name a folder, or leave it unset for .novelcrew")
        return value

    @field_validator("webhook_allow")
    @classmethod
    def _allow_entries(cls, value: list[str]) -> list[str]:
        """A CIDR or address that does not parse would be taken for a host name that never
        matches, so its webhooks were refused with no hint why: it stops the start instead."""
        import ipaddress

        for entry in value:
            if "/" in entry or re.fullmatch(r"[\d.]+|[\da-fA-F:]*:[\da-fA-F:.]*", entry):
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{entry!r} is not an address or CIDR: {exc}") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        """``info`` is ``INFO``; a level uvicorn does not know stops the command here with
        one line, not a ``KeyError`` from inside uvicorn once the app has started."""
        if not isinstance(value, str):
            return value
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"should be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        """A URL Redis clients take (``redis://``, ``rediss://``, ``unix://``), checked at
        start: the worker and the rate limiter otherwise fail on it deep inside arq or
        ``limits`` with a traceback that does not name the variable."""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 -- raises on a port that is not a number
        except ValueError as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if parts.scheme not in REDIS_SCHEMES:
            raise ValueError("should start with " + ", ".join(f"{s}://" for s in REDIS_SCHEMES))
        database = parts.path.lstrip("/")
        if parts.scheme != "unix" and database and not database.isdigit():
            raise ValueError(f"the database {database!r} is not a number (redis://host:port/0)")
        return value

    @field_validator("cpu_affinity", mode="before")
    @classmethod
    def _cpu_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            from novelcrew.affinity import parse_cpus

            return parse_cpus(value) if value.strip() else None
        return value

    @field_validator("plugin_config", mode="before")
    @classmethod
    def _json_table(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("crew_models", "agent_models", "model_concurrency_overrides",
                     mode="before")
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
            _by_alias(settings_cls, init_settings),
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

    def for_job(self, config: Mapping[str, Any]) -> Settings:
        """These settings with a job's ``config.temperature`` / ``config.max_tokens`` applied
        (validated at submission); the same object when the job sets neither."""
        update = {field: config[key] for key, field in JOB_MODEL_OVERRIDES.items()
                  if config.get(key) is not None}
        return self.model_copy(update=update) if update else self

    def model_for(self, crew: str | None = None, agent_role: str | None = None) -> str:
        """The model a call uses: per agent role, then per crew, then the default. Roles match
        after stripping whitespace, case-insensitively (crewAI YAML ``role: >`` ends in "\n")."""
        if agent_role:
            wanted = agent_role.strip().lower()
            for role, model in self.agent_models.items():
                if role.strip().lower() == wanted:
                    return model
        if crew and crew in self.crew_models:
            return self.crew_models[crew]
        return self.model_for_default


    def model_pool(self, model_id: str) -> tuple[str, int]:
        """The concurrency pool a call to ``model_id`` joins, and that pool's configured limit.

        ``model_concurrency_overrides`` keys match the whole model id first, then its prefixes
        at ``/`` (``openrouter/anthropic``, then ``openrouter``); no match: the model's own pool
        of ``model_concurrency``.
        """
        overrides = self.model_concurrency_overrides
        parts = model_id.split("/")
        for end in range(len(parts), 0, -1):
            key = "/".join(parts[:end])
            if key in overrides:
                return key, max(1, int(overrides[key]))
        return model_id, self.model_concurrency

#: the levels ``NOVELCREW_LOG_LEVEL`` takes (upper or lower case)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: URL schemes of ``NOVELCREW_REDIS_URL`` (what arq's ``RedisSettings.from_dsn`` accepts)
REDIS_SCHEMES = ("redis", "rediss", "unix")

#: a tenant's name in ``NOVELCREW_API_KEYS=key:tenant`` (no ``:``: it becomes part of keys)
TENANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def split_api_key(value: str, index: int = 0) -> tuple[str, str | None]:
    """``key:tenant`` -> ``(key, tenant)``; a plain ``key`` (an admin key) -> ``(key, None)``.

    The last ``:`` separates the tenant, so a key must not end in ``:<name>`` unless that is
    its tenant. ``SettingsError`` names a malformed entry by position, never by value (the
    server refuses to start: ``api/auth.py`` splits every key when the app is made)."""
    key, sep, tenant = value.rpartition(":")
    if not sep:
        return value, None
    if not key or not TENANT_PATTERN.fullmatch(tenant):
        raise SettingsError(
            f"NOVELCREW_API_KEYS: entry {index + 1} is not 'key' or 'key:tenant' (a tenant "
            "is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)")
    return key, tenant


#: a job's ``config`` keys that override model settings for that job (``Settings.for_job``)
JOB_MODEL_OVERRIDES = {"temperature": "model_temperature", "max_tokens": "model_max_tokens"}


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()


class PluginSettings(BaseSettings):
    """Base of a plugin's own settings, which live with the plugin (docs/hooks.md).

    Subclass it with ``plugin = "<name>"`` and ``model_config = PluginSettings.config_for(
    "<name>")``: fields then read ``NOVELCREW_<NAME>_<FIELD>`` from the environment and
    ``.env`` (give a field ``validation_alias=AliasChoices(...)`` to keep older names). Read
    them with ``MySettings.of(ctx.settings)``, so a ``plugin_config`` table in the core
    settings (novelcrew.toml, tests) overrides the environment. The CLI knows every imported
    subclass, so it can warn about a misspelt variable.
    """

    #: the plugin's name (its entry-point name): the key in ``Settings.plugin_config``
    plugin: ClassVar[str] = ""

    #: ``NAME=`` (compose files, systemd units) means unset, not an empty folder or number
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", populate_by_name=True,
                                      env_ignore_empty=True)

    @staticmethod
    def config_for(plugin: str) -> SettingsConfigDict:
        """The env prefix; the rest is inherited from ``PluginSettings.model_config``."""
        return SettingsConfigDict(env_prefix=f"NOVELCREW_{plugin.upper().replace('-', '_')}_")

    def model_post_init(self, context: Any) -> None:
        """The log masks this plugin's secrets (its ``SecretStr`` fields) from now on."""
        from novelcrew.logging import mask_secrets

        mask_secrets(value.get_secret_value() for value in self.__dict__.values()
                     if isinstance(value, SecretStr))

    @classmethod
    def of(cls, settings: Settings | None = None) -> Self:
        """This plugin's settings: ``settings.plugin_config[plugin]`` over the environment.

        A bad value raises ``SettingsError`` naming the variable (or the novelcrew.toml key)
        and what is wrong, as core settings do: a job that reads it fails with
        ``settings_error``, not a pydantic dump naming only the field."""
        overrides = settings.plugin_config.get(cls.plugin, {}) if settings is not None else {}
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise plugin_settings_error(cls, exc, overrides) from None


class SettingsError(NovelcrewError):
    """A setting has a value its field cannot take; the message names the variable."""

    error_type = "settings_error"


def env_names(model: type[BaseSettings]) -> dict[str, list[str]]:
    """Each field's environment variable names, the documented one first."""
    prefix = str(model.model_config.get("env_prefix") or "")
    names: dict[str, list[str]] = {}
    for field_name, info in model.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names[field_name] = [str(choice) for choice in alias.choices]
        elif isinstance(alias, str):
            names[field_name] = [alias]
        else:
            names[field_name] = [f"{prefix}{field_name}".upper()]
    return names


def settings_classes() -> list[type[BaseSettings]]:
    """Core ``Settings`` and every ``PluginSettings`` subclass imported so far."""
    found: list[type[BaseSettings]] = [Settings]
    todo: list[type[BaseSettings]] = list(PluginSettings.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def settings_error(exc: ValidationError) -> SettingsError | None:
    """A one-line ``SettingsError`` for a settings model's validation error (``None`` when the
    error is not about settings), naming the variable that was actually set."""
    model = next((cls for cls in settings_classes() if cls.__name__ == exc.title), None)
    if model is None:
        return None
    return SettingsError(_bad_values(model, exc, "from .env, novelcrew.toml or a flag"))


def plugin_settings_error(model: type[PluginSettings], exc: ValidationError,
                          overrides: Mapping[str, Any]) -> SettingsError:
    """``settings_error`` for a plugin's settings; a value from ``plugin_config`` (novelcrew
    .toml's ``[plugin_config.<plugin>]``) is named by its key there, not by the variable."""
    return SettingsError(_bad_values(model, exc, "from .env", model.plugin, overrides),
                         {"plugin": model.plugin})


def _bad_values(model: type[BaseSettings], exc: ValidationError, unset: str,
                plugin: str = "", overrides: Mapping[str, Any] | None = None) -> str:
    """``bad setting NAME=value: problem; ...``, each value named by its key in
    ``[plugin_config.<plugin>]`` when it came from there, else by the environment variable
    that set it, else by the field's documented variable and ``unset`` (where else it could
    have come from)."""
    fields = env_names(model)
    environ = {key.upper(): key for key in os.environ}
    parts = []
    for error in exc.errors():
        loc = str(error["loc"][0]) if error["loc"] else ""
        field, names = next(((f, n) for f, n in fields.items() if loc == f or loc.upper() in n),
                            (loc, [loc.upper()]))
        set_in_env = [environ[name] for name in names if name in environ]
        if overrides and (field in overrides or loc in overrides):
            where = f"[plugin_config.{plugin}] {field}"
        else:
            where = set_in_env[0] if set_in_env else f"{names[0]} ({unset})"
        parts.append(f"{where}={_hide_password(error.get('input'))!r}: {error['msg']}")
    return "bad setting " + "; ".join(parts)


#: the password of a URL's ``user:password@`` (a Redis or service URL)
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^@/\s]+@")


def _hide_password(value: Any) -> Any:
    """A bad URL is quoted back to the operator without its password (stderr is logged)."""
    return _URL_PASSWORD.sub(r"\1***@", value) if isinstance(value, str) else value


def check_plugin_settings(settings: Settings) -> None:
    """Read every imported plugin's settings once, so a bad value stops a command that runs
    jobs at its start (``SettingsError``: one line, exit 2) rather than failing each job. A
    required field left unset is not this check's business: the plugin says so when used."""
    for cls in settings_classes():
        if not issubclass(cls, PluginSettings) or not cls.plugin:
            continue
        overrides = settings.plugin_config.get(cls.plugin, {})
        try:
            cls(**overrides)
        except ValidationError as exc:
            if any(error["type"] != "missing" for error in exc.errors()):
                raise plugin_settings_error(cls, exc, overrides) from None


def check_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """Warnings about ``NOVELCREW_*`` variables no settings model reads (likely typos)."""
    environ = os.environ if environ is None else environ
    known: set[str] = set(NON_SETTING_VARIABLES)
    for cls in settings_classes():
        for names in env_names(cls).values():
            known.update(names)
    # an installed plugin whose settings class is not imported (not enabled): its prefix
    # cannot be checked field by field, so its variables pass
    from importlib.metadata import entry_points

    checked = {str(cls.model_config.get("env_prefix") or "") for cls in settings_classes()}
    unchecked = [prefix for ep in entry_points(group="novelcrew")
                 if (prefix := f"NOVELCREW_{ep.name.upper().replace('-', '_')}_")
                 not in checked]
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("NOVELCREW_") or upper in known:
            continue
        if upper.startswith(tuple(unchecked)):
            continue
        close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"unknown setting {name} is ignored{hint}")
    return warnings


#: variables read outside the settings models
NON_SETTING_VARIABLES = (
    "NOVELCREW_TRACE_PLUGINS",  # plugins.py: print every hook call
    "NOVELCREW_URL",  # novelcrew jobs: the server to talk to
    "NOVELCREW_API_KEY",  # novelcrew jobs: the key it sends
    "NOVELCREW_PAYLOAD_TEST_SERVER_DIR",  # the payload plugin's test fixture
    "NOVELCREW_PUBLISH",  # deploy/compose.yaml: the published address
    "NOVELCREW_WORKER_CONCURRENCY",  # deploy/compose.yaml: jobs per worker container
)
