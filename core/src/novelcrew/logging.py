"""Structured logs: JSON lines by default, a readable console format for terminals.

structlog as its documentation sets it up beside the standard library. JSON lines: structlog
renders its own lines with orjson and writes them itself (``BytesLogger``, its fast path: no
``LogRecord`` per line), and a handler on the root logger renders every stdlib record (uvicorn,
httpx, crewAI's loggers) through the same processors (``ProcessorFormatter``) onto the same
stream. The console format hands structlog's lines to that handler too. Either way each line
is written and flushed as it is logged: a line logged before the process is killed is in the
file. The stream is stderr by default.

Every line carries the context bound with ``structlog.contextvars``: the runner binds
``job_id`` while a job runs, and that context follows the job into ``asyncio.to_thread``.

What never reaches the output:
- secrets: values under secret-looking keys are masked, and the secrets the settings hold (API
  keys, provider keys, the webhook secret, and every ``SecretStr`` of a plugin's
  ``PluginSettings``, such as Payload's key, from when the plugin reads them) are masked
  wherever they appear;
- local variables of a traceback's frames (they may hold a story): tracebacks are rendered
  without them;
- the data a pydantic ``ValidationError`` quotes (``input_value=...``, a story or a result):
  cut from every line and traceback, whichever library logged it;
- the text of records logged by the model libraries (crewAI, LiteLLM, the OpenAI SDK): they
  quote prompts and provider error bodies (crewAI logs ``OpenAI API call failed: <body>`` on
  the root logger), so only a record's head before its first colon is kept;
- crewAI's console output: crewAI prints its panels with rich to stdout, never to stderr, so
  they never land between the log's lines as long as the log stays on stderr (or a file).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer
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
_HANDLER_NAME = "novelcrew"
#: pydantic's ``[type=..., input_value=<repr of the data>, input_type=str]`` (one line each)
_QUOTED_INPUT = re.compile(r"input_value=[^\n]*, input_type=")


class _Output(structlog.BytesLogger):
    """structlog's ``BytesLogger`` that, like a stdlib handler, never lets a broken stream
    (closed, a full disk, a pipe whose reader left) fail the code that logged."""

    def msg(self, message: bytes) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().msg(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


#: secret values learned from plugins' settings (``mask_secrets``): every redactor masks them
_learned: set[str] = set()
#: the redactor of the current logging configuration
_active: Redactor | None = None


def mask_secrets(values: Iterable[str]) -> None:
    """Mask these values wherever they appear in the log, from now on. ``PluginSettings`` calls
    it with a plugin's secrets: plugins load after logging is configured, so the redactor
    cannot read their settings up front."""
    new = {s for s in values if s and len(s) >= 4} - _learned
    if new:
        _learned.update(new)
        if _active is not None:
            _active.add(new)


class Redactor:
    """A structlog processor that masks secrets by key name and by value."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)
        #: whether each key name seen so far is secret-looking (lines repeat the same few)
        self._secret_keys: dict[str, bool] = {}

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values too (longest first, so a key holding another is masked whole)."""
        found = {s for s in secrets if s and len(s) >= 4}
        self.secrets = sorted(found.union(self.secrets), key=len, reverse=True)

    def _secret_key(self, key: str) -> bool:
        known = self._secret_keys.get(key)
        if known is None:
            known = SECRET_KEY.search(key) is not None
            if len(self._secret_keys) < 4096:
                self._secret_keys[key] = known
        return known

    def _mask_text(self, text: str) -> str:
        if "input_value=" in text:
            text = _QUOTED_INPUT.sub("input_type=", text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def _clean(self, key: str | None, value: Any) -> Any:
        if key is not None and self._secret_key(key) and value not in (None, "", [], {}):
            return MASK
        if isinstance(value, str):
            return self._mask_text(value)
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(None, v) for v in value)
        return value

    def __call__(self, logger: Any, method: str, event_dict: EventDict) -> EventDict:
        for key, value in event_dict.items():
            if key.startswith("_"):  # structlog's own (``_record``, ``_from_structlog``)
                continue
            event_dict[key] = self._clean(None if key == "event" else key, value)
        return event_dict

    def tracebacks(self, logger: Any, method: str, event_dict: EventDict) -> EventDict:
        """Mask what a rendered traceback quotes (the rest was masked before rendering)."""
        if "exception" in event_dict:
            event_dict["exception"] = self._clean(None, event_dict["exception"])
        return event_dict


class ModelLibraryFilter(logging.Filter):
    """A handler filter that withholds what the model libraries' own records say after their
    head (``OpenAI API call failed: [withheld]``): provider error bodies and debug lines quote
    prompts, and our own lines already say what failed. crewAI also logs through the root
    logger (``logging.error``), so a record counts as theirs by its logger's name or by the
    file that logged it."""

    LOGGERS = ("crewai", "litellm", "LiteLLM", "openai", "instructor")
    WITHHELD = "[withheld: it may quote prompts]"

    def __init__(self) -> None:
        super().__init__()
        import importlib.util

        self.folders: tuple[str, ...] = ()
        for name in ("crewai", "litellm"):
            with contextlib.suppress(ImportError, ValueError):
                spec = importlib.util.find_spec(name)  # finds the folder, imports nothing
                if spec is not None and spec.submodule_search_locations:
                    self.folders += tuple(spec.submodule_search_locations)

    def _theirs(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in self.LOGGERS:
            return True
        return (record.name == "root" and bool(self.folders)
                and record.pathname.startswith(self.folders))

    def filter(self, record: logging.LogRecord) -> bool:
        if self._theirs(record):
            message = record.getMessage()
            head, colon, rest = message.partition(":")
            cut = bool(colon and rest.strip()) or len(head) > 120
            record.msg = head[:120] + (f": {self.WITHHELD}" if cut else "")
            record.args = None
            record.exc_info = record.exc_text = record.stack_info = None
        return True


def _settings_secrets(settings: Settings) -> list[str]:
    found: list[str] = []
    for key in settings.api_keys:  # ``key`` or ``key:tenant``: the key is the secret
        entry = key.get_secret_value()
        found.append(entry)
        if ":" in entry:
            found.append(entry.rpartition(":")[0])
    for name in ("openrouter_api_key", "openai_api_key", "webhook_secret"):
        value = getattr(settings, name, None)
        if value is not None:
            found.append(value.get_secret_value())
    return found


def _drop_color_message(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)  # uvicorn's duplicate of the message
    return event_dict


def configure_logging(settings: Settings, *, stream: IO[str] | None = None,
                      fmt: str | None = None, cache: bool = False) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) in ``settings.log_format``.

    Safe to call more than once (the last call wins); ``fmt`` overrides the format. When
    ``log_format`` was not set anywhere, a terminal gets the console format and anything else
    (a file, journald, a container log) JSON lines. ``cache`` (``novelcrew serve``) makes
    structlog build each module's logger once; left off, a later configuration (tests,
    ``structlog.testing.capture_logs``) reaches loggers already used.
    """
    out = stream or sys.stderr
    if fmt is None:
        explicit = "log_format" in settings.model_fields_set
        fmt = settings.log_format if explicit or not _isatty(out) else "console"
    level = logging.getLevelName(str(settings.log_level).upper())
    if not isinstance(level, int):
        level = logging.INFO
    global _active
    redact = _active = Redactor([*_settings_secrets(settings), *_learned])
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Processor
    exceptions: Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(
            colors=_isatty(out), exception_formatter=structlog.dev.plain_traceback)
        exceptions = structlog.processors.format_exc_info  # the stdlib's: no locals
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_json)
        exceptions = structlog.processors.ExceptionRenderer(
            ExceptionDictTransformer(show_locals=False))

    binary = getattr(out, "buffer", None)
    if fmt == "console" or binary is None:
        # through the stdlib handler below, which renders both kinds of line
        structlog.configure(
            processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.make_filtering_bound_logger(level),
            cache_logger_on_first_use=cache,
        )
    else:
        structlog.configure(
            processors=[*shared, structlog.processors.StackInfoRenderer(), exceptions,
                        redact.tracebacks, structlog.processors.JSONRenderer(orjson.dumps)],
            logger_factory=lambda *args: _Output(binary, name=args[0] if args else None),
            wrapper_class=structlog.make_filtering_bound_logger(level),
            cache_logger_on_first_use=cache,
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), _drop_color_message, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            exceptions,
            redact.tracebacks,  # a rendered traceback may quote a secret too
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    handler.addFilter(ModelLibraryFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
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
