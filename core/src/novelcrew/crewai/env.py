"""crewAI's process environment: set before crewAI is first imported.

crewAI reads these at import (and a ``.env`` it loads could switch tracing on): without them a
server stalls on tracing at the first kickoff, prompts on a terminal, writes under ``$HOME`` and
spends seconds at exit reaching telemetry. ``prepare`` is cheap after its first call, so the
runner calls it before every crew run and any plugin code.

crewAI's telemetry is off through ``CREWAI_DISABLE_TELEMETRY`` alone: ``OTEL_SDK_DISABLED`` would
switch off the OpenTelemetry SDK for the whole process, an operator's own tracing included.

Tracing off takes two words: ``CREWAI_TRACING_ENABLED=false`` for this run, and, in the storage
directory novelcrew gives crewAI, the answer ``crewai traces disable`` records (tracing
declined). crewAI 1.12 ignores the variable on a machine that has never answered: it
collects the first run's traces, then asks on the terminal and waits up to 20 seconds.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_DISABLE_TRACKING": "true",
}
_lock = threading.Lock()
_prepared: set[Path] = set()


def prepare(data_dir: Path | str | None = None) -> None:
    """Set crewAI's environment variables and its storage directory (idempotent).

    The storage directory is ``<data_dir>/crewai`` unless ``CREWAI_STORAGE_DIR`` is already set;
    without ``data_dir`` the settings' data directory is used.
    """
    key = Path(data_dir) if data_dir is not None else None
    if key is not None and key in _prepared and all(
            os.environ.get(k) == v for k, v in ENV.items()):
        return
    with _lock:
        os.environ.update(ENV)
        if key is None:
            from novelcrew.settings import get_settings

            key = get_settings().resolved_data_dir
        storage = Path(key).expanduser().resolve() / "crewai"
        storage.mkdir(parents=True, exist_ok=True)
        if os.environ.setdefault("CREWAI_STORAGE_DIR", str(storage)) == str(storage):
            decline_tracing(storage)
        _prepared.add(key)


#: crewAI's per-user answers (``crewai traces enable/disable``) in its storage directory
USER_DATA = ".crewai_user.json"


def decline_tracing(storage: Path) -> None:
    """Record in ``storage`` what ``crewai traces disable`` records, unless an answer is there.

    Only for a storage directory novelcrew chose: a user's own ``CREWAI_STORAGE_DIR`` keeps
    the user's answer."""
    path = storage / USER_DATA
    try:
        data = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or data.get("first_execution_done"):
        return
    data.update(first_execution_done=True, trace_consent=False)
    try:
        path.write_text(json.dumps(data, indent=2), "utf-8")
    except OSError as exc:  # a read-only data directory: crewAI may ask on a terminal
        _log.warning("could not record crewAI's tracing answer in %s: %s", path, exc)


#: one import of crewAI at a time: two threads importing it at once (the server's warm-up
#: before a job, and a dry run's estimate) meet in crewAI's import cycles, and Python then
#: hands one of them a partially initialised module ("cannot import name 'crewai_event_bus'
#: from partially initialized module"). Whoever comes second waits, then finds it imported.
IMPORT_LOCK = threading.RLock()  # re-entrant: a tool factory built under it may import too


def import_crewai(data_dir: Path | str | None = None) -> float:
    """Prepare the environment and import crewAI (seconds taken): the server's warm-up, and
    what any code path that is not a crew's run calls before it touches crewAI."""
    started = time.monotonic()
    prepare(data_dir)
    with IMPORT_LOCK:
        import crewai
        import crewai.llms.base_llm  # noqa: F401

    return time.monotonic() - started


_definitions_lock = threading.Lock()
_defined: set[type] = set()


def build_flow_definitions(crew: Any) -> None:
    """Build, before ``crew`` is kicked off, the flow definitions crewAI builds lazily per
    class: of its agents' executor classes and crewAI's default one (a crewAI ``Flow`` in
    1.15), and of the crew itself if it is a ``Flow``.

    crewAI builds one at the first instance of the class, reading the class's attributes, then
    stores it on the class. Two crews kicked off at once in a fresh process (a worker's first
    job, the architect's chunk analyses) build it in two threads, and the slower one fails with
    "dictionary changed size during iteration" when the faster one stores its copy. Built here,
    once, on the event loop and under a lock, it is stored before any thread reads it. Public
    API only (the class method ``flow_definition``); a crewAI without it builds nothing lazily.
    """
    from crewai import Agent

    default = Agent.model_fields.get("executor_class")  # what a Flow's own crews' agents use
    found: list[Any] = [type(crew), default.default if default is not None else None,
                        *(getattr(agent, "executor_class", None)
                          for agent in getattr(crew, "agents", None) or [])]
    for cls in found:
        build = getattr(cls, "flow_definition", None)
        if not isinstance(cls, type) or cls in _defined or not callable(build):
            continue
        with _definitions_lock:
            if cls not in _defined:
                build()
                _defined.add(cls)
