"""crewAI's process environment: set before crewAI is first imported.

crewAI reads these at import (and a ``.env`` it loads could switch tracing on): without them a
server stalls on tracing at the first kickoff, prompts on a terminal, writes under ``$HOME`` and
spends seconds at exit reaching telemetry. ``prepare`` is cheap after its first call, so the
runner calls it before every crew run and any plugin code.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

_log = logging.getLogger(__name__)

ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
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
        os.environ.setdefault("CREWAI_STORAGE_DIR", str(storage))
        _prepared.add(key)


def import_crewai(data_dir: Path | str | None = None) -> float:
    """Prepare the environment and import crewAI (seconds taken): the server's warm-up."""
    started = time.monotonic()
    prepare(data_dir)
    import crewai
    import crewai.llms.base_llm  # noqa: F401

    return time.monotonic() - started
