"""The hook specifications of novelcrew.

Every hook but ``job_event`` takes a ``register`` callback built by the core, which validates
what is registered, records the plugin of origin and refuses name clashes (queued jobs refer to
crews, tools, models and backends by name, so a silent override would change old jobs).
"""

from __future__ import annotations

from typing import Any

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("novelcrew")
hookimpl = HookimplMarker("novelcrew")


@hookspec
def register_crews(register: Any) -> None:
    """Register crews: call ``register(Crew(...))`` once per crew."""


@hookspec
def register_tools(register: Any) -> None:
    """Register tools: call ``register(Tool(...))`` once per tool name."""


@hookspec
def register_models(register: Any) -> None:
    """Register model providers: call ``register(Model(...))`` once per provider prefix."""


@hookspec
def register_job_backends(register: Any) -> None:
    """Register job backends: call ``register(JobBackendSpec(...))`` once per backend name."""


@hookspec
def job_event(event: Any, job: Any) -> Any:
    """Observe a job lifecycle event; may return an awaitable, which the core awaits."""
