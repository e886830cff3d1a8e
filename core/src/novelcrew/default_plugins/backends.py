"""The built-in job backends: ``inline`` (SQLite, in-process) and ``arq`` (Redis workers)."""

from __future__ import annotations

from typing import Any

from novelcrew.hookspecs import hookimpl
from novelcrew.specs import JobBackendSpec


def _inline(settings: Any, plugins: Any) -> Any:
    from novelcrew.backends.inline import InlineBackend

    return InlineBackend.from_settings(settings, plugins)


def _arq(settings: Any, plugins: Any) -> Any:
    from novelcrew.backends.arq import ArqBackend

    return ArqBackend.from_settings(settings, plugins)


@hookimpl(trylast=True)
def register_job_backends(register: Any) -> None:
    register(JobBackendSpec(
        name="inline",
        description="Runs jobs inside the server process; records and events in SQLite.",
        factory=_inline,
    ))
    register(JobBackendSpec(
        name="arq",
        description="Queues jobs in Redis for `novelcrew worker` processes on any machines.",
        factory=_arq,
    ))
