"""What plugins register: crews, tools, models, job backends, export formats and result
renderers.

These are plain frozen dataclasses so a plugin module can build them without importing crewAI;
the heavy objects (crewAI agents, tools, LLMs) are made by their factories only when a job runs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from rich.console import RenderableType

    from novelcrew.backends.base import JobBackend
    from novelcrew.context import RunContext, ToolContext
    from novelcrew.settings import Settings

NAME_RE = re.compile(r"^[a-z][a-z0-9_\-]*$")
#: export formats may carry a dot, as their files do (``shots.csv``, ``report.html``)
EXPORT_NAME_RE = re.compile(r"^[a-z][a-z0-9_.\-]*$")


class Health(BaseModel):
    """One dependency's state, as shown by ``GET /health``."""

    status: Literal["ok", "degraded", "down", "disabled"]
    required: bool = False
    detail: str = ""
    data: dict[str, Any] = {}


CrewRun = Callable[["RunContext", Any], Awaitable[Any]]
HealthCheck = Callable[["Settings"], Awaitable[Health]]


@dataclass(frozen=True)
class Crew:
    """A crew of agents that turns one input model into one output model.

    ``run(ctx, inputs)`` receives validated ``input_model`` inputs and a ``RunContext`` (tools
    by name, the routed LLM per agent role, progress and events) and returns an
    ``output_model`` instance (or a dict that validates as one).
    """

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    run: CrewRun
    version: str = "0.1.0"
    tools: tuple[str, ...] = ()
    optional_tools: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    estimated_seconds: int = 60
    #: Inputs that make a small but real run: used by docs, ``--help`` and contract checks.
    example_inputs: dict[str, Any] | None = None
    #: Crews whose results this one reads when they run before it in a chain (``ctx.previous``):
    #: the director plans the architect's scenes. Contract checks run them first; clients see
    #: it in ``/crews``. A crew that can also work alone (from a project's graph) still lists them.
    runs_after: tuple[str, ...] = ()
    #: The job ``config`` keys this crew reads, as a pydantic model that lets other keys by
    #: (a chain shares one config). A job's config is validated against it when the job is
    #: submitted, so a bad value is a 422 naming the field, not a job that fails once it runs.
    config_model: type[BaseModel] | None = None


@dataclass(frozen=True)
class Tool:
    """A tool by name: ``factory(ctx)`` builds it for one job (scoped to its project).

    The built object should be a crewAI ``BaseTool`` (so agents can call it) whose ``run`` also
    works as a plain call from crew code.
    """

    name: str
    description: str
    factory: Callable[[ToolContext], Any]
    health: HealthCheck | None = None


@dataclass(frozen=True)
class Model:
    """An LLM provider, chosen by the prefix of a model id (``openrouter/...`` -> ``openrouter``).

    ``build(model_id, settings)`` returns a crewAI ``BaseLLM``; ``health(settings)`` is optional.
    """

    provider: str
    description: str
    build: Callable[[str, Settings], Any]
    health: HealthCheck | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobBackendSpec:
    """A job backend by name: ``factory(settings, plugins)`` returns a ``JobBackend``."""

    name: str
    description: str
    factory: Callable[[Settings, Any], JobBackend]


@dataclass(frozen=True)
class Export:
    """A file format a finished job can be exported as (``GET /jobs/{id}/export/{name}``,
    ``novelcrew export JOB --format NAME``, the web UI's export buttons).

    ``render(job)`` receives the job record as ``GET /jobs/{id}`` shows it (a plain dict; the
    crews' outputs under ``job["result"][<crew>]``) and returns the file as text (sent as
    UTF-8) or bytes. It raises ``ExportUnavailable`` when the job has nothing the format is
    made from (the API answers 409). The file is named ``<job id><suffix>``.
    """

    name: str
    media_type: str
    suffix: str
    description: str
    render: Callable[[dict[str, Any]], str | bytes]
    #: a short label for buttons and menus (the web UI); the name when empty
    label: str = ""

    def file(self, job: dict[str, Any]) -> bytes:
        """The rendered file as bytes (text is encoded as UTF-8)."""
        body = self.render(job)
        return body.encode("utf-8") if isinstance(body, str) else body


@dataclass(frozen=True)
class Renderer:
    """How ``novelcrew run``, ``novelcrew jobs show`` and the demo client print a crew's result
    in a terminal (without one, a result prints as pretty JSON).

    A renderer claims results by crew name (``crews``: the crews whose output it knows) and/or
    by shape (``matches(result) -> bool``, for any other crew whose output looks the same).
    The crew's own renderer wins; then the first registered whose ``matches`` says yes.
    ``render(result)`` receives the crew's output as a plain dict (as ``GET /jobs/{id}`` shows
    it) and returns a rich renderable. If it raises, the result prints as JSON with a note.
    Import rich inside ``render`` (or keep it in a module imported there), not at the top of
    the entry-point module.
    """

    name: str
    description: str
    render: Callable[[Mapping[str, Any]], RenderableType]
    crews: tuple[str, ...] = ()
    matches: Callable[[Mapping[str, Any]], bool] | None = None
