"""Structured logs: JSON lines by default, a readable console format for terminals.

Everything goes through one structlog processor chain, including stdlib ``logging`` (uvicorn,
httpx, crewAI), so every line carries the context bound with ``structlog.contextvars``: the
runner binds ``job_id`` while a job runs, and that context follows the job into
``asyncio.to_thread``. structlog's own lines are rendered and written by structlog itself
(a quarter of the cost of passing each through a stdlib ``LogRecord`` and handler, which
matters at one line per request); stdlib records get the same chain through
``ProcessorFormatter``, onto the same stream.
Secrets never reach the output: values under secret-looking keys are masked, and the secrets
the settings hold (API keys, provider and Payload keys, the webhook secret) are masked wherever
they appear in a line.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import IO, TYPE_CHECKING, Any

import orjson
import structlog
from structlog.typing import EventDict, Processor

if TYPE_CHECKING:
    from novelcrew.settings import Settings

MASK = "***"
#: keys whose values are always masked: ``api_key``, ``X-API-Key``, ``webhook_secret``,
#: ``auth_token`` (but not ``prompt_tokens``)
SECRET_KEY = re.compile(
    r"^(.*[_\-])?(api[_\-]?keys?|authorization|secret|password|passwd|token|cookie"
    r"|credentials?)$",
    re.I,
)
_HANDLER_FLAG = "_novelcrew_handler"
#: values that can hold no secret text
_SCALARS = frozenset({int, float, bool})


class Redactor:
    """A structlog processor that masks secrets by key name and by value."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        #: whether each key name seen so far is secret-looking (every line has the same few)
        self._secret_keys: dict[str, bool] = {}

    def _mask_text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def _secret_key(self, key: str) -> bool:
        known = self._secret_keys.get(key)
        if known is None:
            known = SECRET_KEY.search(key) is not None
            if len(self._secret_keys) < 4096:
                self._secret_keys[key] = known
        return known

    def _clean(self, key: str | None, value: Any) -> Any:
        if key is not None and self._secret_key(key) and value not in (None, "", [], {}):
            return MASK
        if value is None or value.__class__ in _SCALARS:
            return value
        if isinstance(value, str):
            return self._mask_text(value) if self.secrets else value
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(None, v) for v in value)
        return value

    def __call__(self, logger: Any, method: str, event_dict: EventDict) -> EventDict:
        for key, value in event_dict.items():
            if key == "event":
                if self.secrets and isinstance(value, str):
                    event_dict[key] = self._mask_text(value)
            elif value is not None and (value.__class__ not in _SCALARS
                                        or self._secret_key(key)):
                event_dict[key] = self._clean(key, value)
        return event_dict

    def tracebacks(self, logger: Any, method: str, event_dict: EventDict) -> EventDict:
        """Mask what a rendered traceback quotes (the rest was masked before rendering)."""
        if "exception" in event_dict:
            event_dict["exception"] = self._clean(None, event_dict["exception"])
        return event_dict


class _NamedWriteLogger:
    """structlog's ``WriteLogger``, with the name ``get_logger(name)`` gave it (for
    ``logger``). With no stream it writes to whatever ``sys.stderr`` is when a line is written
    (test runners and daemons swap it), as a stdlib handler on stderr follows a redirect too.
    Like a stdlib handler, it never lets a broken stream (closed, full disk, a pipe whose reader
    left) fail the code that logged."""

    _lock = threading.Lock()  # one line at a time, whichever thread logs

    def __init__(self, file: IO[str] | None, name: str | None) -> None:
        self._file = file
        self.name = name or "root"

    def msg(self, message: str) -> None:
        file = self._file or sys.stderr
        # nowhere left to report it (stdlib's handleError would print to the same stream)
        with self._lock, contextlib.suppress(OSError, ValueError):
            file.write(message + "\n")
            file.flush()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class BoundOnce:
    """A logger for lines written at every request. A ``structlog.get_logger`` proxy binds a
    new logger at each call (a third of a line's cost); this one binds once and again only
    when structlog is configured anew (``configure_logging``, ``capture_logs``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: Any = None
        self._config: tuple[int, ...] = ()

    def get(self) -> Any:
        config = structlog.get_config()
        key = (id(config["processors"]), id(config["logger_factory"]),
               id(config["wrapper_class"]))
        if key != self._config:
            self._logger, self._config = structlog.get_logger(self.name).bind(), key
        return self._logger


def _add_logger_name(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    record = event_dict.get("_record")
    event_dict["logger"] = record.name if record is not None else getattr(logger, "name", "")
    return event_dict


def _settings_secrets(settings: Settings) -> list[str]:
    found = [key.get_secret_value() for key in settings.api_keys]
    for name in ("openrouter_api_key", "openai_api_key", "payload_api_key", "webhook_secret"):
        value = getattr(settings, name, None)
        if value is not None:
            found.append(value.get_secret_value())
    return found


def _drop_color_message(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)  # uvicorn's duplicate of the message
    return event_dict


def configure_logging(settings: Settings, *, stream: IO[str] | None = None,
                      fmt: str | None = None) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) in ``settings.log_format``.

    Safe to call more than once (the last call wins); ``fmt`` overrides the format. When
    ``log_format`` was not set anywhere, a terminal gets the console format and anything else
    (a file, journald, a container log) JSON lines.
    """
    out = stream or sys.stderr
    if fmt is None:
        explicit = "log_format" in settings.model_fields_set
        fmt = settings.log_format if explicit or not _isatty(out) else "console"
    level = logging.getLevelName(str(settings.log_level).upper())
    if not isinstance(level, int):
        level = logging.INFO
    redact = Redactor(_settings_secrets(settings))
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_color_message,
        redact,
    ]
    renderer: Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(
            colors=_isatty(out),
            exception_formatter=structlog.dev.plain_traceback,
        )
        exc: list[Processor] = [structlog.processors.format_exc_info]
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_json)
        exc = [structlog.processors.dict_tracebacks]

    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            *exc,
            redact.tracebacks,  # tracebacks rendered above may quote a secret too
            renderer,
        ],
        logger_factory=lambda *args: _NamedWriteLogger(stream, args[0] if args else None),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exc,
            redact.tracebacks,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_FLAG, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for noisy in ("httpx", "httpcore", "LiteLLM", "opentelemetry"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _json(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def bound_context() -> MutableMapping[str, Any]:
    """The context every line logged now would carry (for tests and diagnostics)."""
    return structlog.contextvars.get_contextvars()
