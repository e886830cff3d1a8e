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

import atexit
import contextlib
import logging
import re
import sys
import threading
import time
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
        plain = not self.secrets  # no secret text to look for: only key names matter
        for key, value in event_dict.items():
            if key == "event":
                if not plain and isinstance(value, str):
                    event_dict[key] = self._mask_text(value)
            elif value is None or (
                (value.__class__ in _SCALARS or (plain and value.__class__ is str))
                and not self._secret_key(key)
            ):
                continue
            else:
                event_dict[key] = self._clean(key, value)
        return event_dict

    def tracebacks(self, logger: Any, method: str, event_dict: EventDict) -> EventDict:
        """Mask what a rendered traceback quotes (the rest was masked before rendering)."""
        if "exception" in event_dict:
            event_dict["exception"] = self._clean(None, event_dict["exception"])
        return event_dict


class _LineBuffer:
    """Lines written together instead of one ``write`` and ``flush`` each: by a daemon thread
    every ``interval`` seconds, at once for a warning or worse (with every line before it, in
    order), when ``max_lines`` wait, and at exit. A server writes a line per request; writing
    each cost about 15 µs there, and released the GIL to whichever thread wanted it.

    What a process killed outright had not yet written (at most ``interval``) is lost."""

    def __init__(self, stream: IO[str] | None, interval: float = 0.2,
                 max_lines: int = 512) -> None:
        self._stream = stream
        self.interval = interval
        self.max_lines = max_lines
        self._lines: list[str] = []
        self._lock = threading.Lock()  # taking lines out and writing them, in order
        self._taking = threading.Lock()  # a line added while the list is swapped is not lost
        self._closed = threading.Event()
        threading.Thread(target=self._run, name="novelcrew-log-flush", daemon=True).start()
        atexit.register(self.close)

    def write(self, line: str, *, urgent: bool = False) -> None:
        with self._taking:
            self._lines.append(line)
            waiting = len(self._lines)
        if urgent or waiting >= self.max_lines:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            with self._taking:
                lines, self._lines = self._lines, []
            if not lines:
                return
            file = self._stream or sys.stderr
            # nowhere left to report it (stdlib's handleError would print to the same stream)
            with contextlib.suppress(OSError, ValueError):
                file.write("".join(lines))
                file.flush()

    def close(self) -> None:
        """Write what is left; a new configuration replaces this buffer."""
        self._closed.set()
        self.flush()
        atexit.unregister(self.close)

    def _run(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()


class _NamedWriteLogger:
    """structlog's ``WriteLogger``, with the name ``get_logger(name)`` gave it (for
    ``logger``). With no stream it writes to whatever ``sys.stderr`` is when a line is written
    (test runners and daemons swap it), as a stdlib handler on stderr follows a redirect too.
    Like a stdlib handler, it never lets a broken stream (closed, full disk, a pipe whose reader
    left) fail the code that logged. With a ``_LineBuffer``, lines go through it."""

    _lock = threading.Lock()  # one line at a time, whichever thread logs

    def __init__(self, file: IO[str] | None, name: str | None,
                 buffer: _LineBuffer | None = None) -> None:
        self._file = file
        self.name = name or "root"
        self._buffer = buffer

    def msg(self, message: str) -> None:
        if self._buffer is not None:
            self._buffer.write(message + "\n")
            return
        self._write(message)

    def urgent(self, message: str) -> None:
        if self._buffer is not None:
            self._buffer.write(message + "\n", urgent=True)
            return
        self._write(message)

    def _write(self, message: str) -> None:
        file = self._file or sys.stderr
        with self._lock, contextlib.suppress(OSError, ValueError):
            file.write(message + "\n")
            file.flush()

    log = debug = info = msg
    warn = warning = fatal = failure = err = error = critical = exception = urgent


class _BufferHandler(logging.Handler):
    """stdlib records into the same ``_LineBuffer``, so every line keeps its place."""

    def __init__(self, buffer: _LineBuffer) -> None:
        super().__init__()
        self.buffer = buffer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # as StreamHandler: a record that cannot be formatted fails nobody
            self.handleError(record)
            return
        self.buffer.write(line + "\n", urgent=record.levelno >= logging.WARNING)


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


class _Timestamp:
    """``timestamp`` as ISO 8601 in UTC with microseconds (``2026-11-25T22:19:11.726151Z``).
    The date and time of day are formatted once a second; structlog's ``TimeStamper`` built a
    ``datetime`` and formatted it whole for every line, a sixth of a request line's cost."""

    def __init__(self) -> None:
        #: one tuple, replaced whole, so threads never see one second with another's text
        self._cached = (-1, "")

    def __call__(self, logger: Any, method: str, event_dict: EventDict) -> EventDict:
        now = time.time()
        second = int(now)
        cached_second, prefix = self._cached
        if second != cached_second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._cached = (second, prefix)
        event_dict["timestamp"] = f"{prefix}.{int((now - second) * 1_000_000):06d}Z"
        return event_dict


def _only_with(keys: tuple[str, ...], *processors: Processor) -> Processor:
    """Run ``processors`` only on lines that carry one of ``keys`` (exceptions, stacks)."""

    def processor(logger: Any, method: str, event_dict: EventDict) -> EventDict:
        if any(key in event_dict for key in keys):
            for step in processors:
                event_dict = step(logger, method, event_dict)  # type: ignore[assignment]
        return event_dict

    return processor


def _drop_color_message(logger: Any, method: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)  # uvicorn's duplicate of the message
    return event_dict


#: the buffer of the current configuration, if it asked for one
_buffer: _LineBuffer | None = None


def configure_logging(settings: Settings, *, stream: IO[str] | None = None,
                      fmt: str | None = None, buffered: bool = False) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) in ``settings.log_format``.

    Safe to call more than once (the last call wins); ``fmt`` overrides the format. When
    ``log_format`` was not set anywhere, a terminal gets the console format and anything else
    (a file, journald, a container log) JSON lines. ``buffered`` (``novelcrew serve``) writes
    lines in groups, at least every 0.2 s and at once from a warning up (``_LineBuffer``).
    """
    global _buffer
    if _buffer is not None:
        _buffer.close()
        _buffer = None
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
        _Timestamp(),
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

    if buffered:
        _buffer = _LineBuffer(stream)
    buffer = _buffer
    structlog.configure(
        processors=[
            *shared,
            _only_with(("stack_info", "exc_info", "exception"),
                       structlog.processors.StackInfoRenderer(), *exc,
                       redact.tracebacks),  # tracebacks rendered above may quote a secret too
            renderer,
        ],
        logger_factory=lambda *args: _NamedWriteLogger(stream, args[0] if args else None,
                                                       buffer),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), _drop_color_message, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exc,
            redact.tracebacks,
            renderer,
        ],
    )
    handler: logging.Handler = (_BufferHandler(buffer) if buffer is not None
                                else logging.StreamHandler(out))
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
