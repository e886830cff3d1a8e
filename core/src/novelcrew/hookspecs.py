"""The hook specifications of novelcrew (documented, with examples, in docs/hooks.md).

The ``register_*`` hooks take a ``register`` callback built by the core, which validates what is
registered, records the plugin of origin and refuses name clashes (queued jobs refer to crews,
tools, models and backends by name, so a silent override would change old jobs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import typer

    from novelcrew.jobs import Job, JobEvent
    from novelcrew.specs import Crew, Export, JobBackendSpec, Model, Renderer, Tool

hookspec = HookspecMarker("novelcrew")
hookimpl = HookimplMarker("novelcrew")


@hookspec
def register_crews(register: Callable[[Crew], None]) -> None:
    """Register crews: call ``register(Crew(...))`` once per crew."""


@hookspec
def register_tools(register: Callable[[Tool], None]) -> None:
    """Register tools: call ``register(Tool(...))`` once per tool name."""


@hookspec
def register_models(register: Callable[[Model], None]) -> None:
    """Register model providers: call ``register(Model(...))`` once per provider prefix."""


@hookspec
def register_job_backends(register: Callable[[JobBackendSpec], None]) -> None:
    """Register job backends: call ``register(JobBackendSpec(...))`` once per backend name."""


@hookspec
def register_exports(register: Callable[[Export], None]) -> None:
    """Register export formats of a finished job: call ``register(Export(...))`` once each."""


@hookspec
def register_renderers(register: Callable[[Renderer], None]) -> None:
    """Register terminal renderers of crews' results: call ``register(Renderer(...))`` once each."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add commands or command groups to the ``novelcrew`` CLI (a ``typer.Typer``)."""


@hookspec
def job_event(event: JobEvent, job: Job) -> Awaitable[None] | None:
    """Observe a job lifecycle event; may return an awaitable, which the core awaits."""
