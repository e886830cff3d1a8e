"""The registry: every crew, tool, model, job backend, export format and result renderer, with
the plugin it came from.

The core builds the ``register`` callbacks handed to the hooks, so this is the one place that
validates registrations and refuses a name registered twice (naming both plugins).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from novelcrew.errors import CrewNotFound, NotFound, RegistrationError, ToolMissing
from novelcrew.specs import (
    EXPORT_NAME_RE,
    NAME_RE,
    Crew,
    Export,
    JobBackendSpec,
    Model,
    Renderer,
    Tool,
)

T = TypeVar("T")

#: crew names Novel Movie's routes under ``/crews/`` take (``/crews/execute``, ...)
COMPAT_CREW_PATHS = frozenset({"execute", "status", "list"})


@dataclass
class Entry(Generic[T]):
    spec: T
    plugin: str


@dataclass
class Registry:
    crews: dict[str, Entry[Crew]] = field(default_factory=dict)
    tools: dict[str, Entry[Tool]] = field(default_factory=dict)
    models: dict[str, Entry[Model]] = field(default_factory=dict)
    backends: dict[str, Entry[JobBackendSpec]] = field(default_factory=dict)
    exports: dict[str, Entry[Export]] = field(default_factory=dict)
    renderers: dict[str, Entry[Renderer]] = field(default_factory=dict)
    #: which installed (not loaded) plugins offer a tool, for the "install or enable" hint;
    #: the plugin loader sets it (the registry does not know how plugins are found)
    tool_hint: Callable[[str], list[str]] | None = None
    #: the plugins that failed to load, for the hint of an unknown crew (the crew may be
    #: theirs); the plugin loader sets it
    load_failures: Callable[[], list[str]] | None = None

    # registration -------------------------------------------------------------------------
    def _add(self, kind: str, table: dict[str, Entry[Any]], name: str, spec: Any, plugin: str,
             pattern: re.Pattern[str] = NAME_RE) -> None:
        if not isinstance(name, str) or not pattern.match(name):
            allowed = "'-', '_' and '.'" if pattern is EXPORT_NAME_RE else "'-' and '_'"
            article = "an" if kind[0] in "aeiou" else "a"
            raise RegistrationError(
                f"plugin {plugin!r} registered {article} {kind} with an invalid name {name!r} "
                f"(lowercase letters, digits, {allowed}, starting with a letter)"
            )
        if name in table:
            raise RegistrationError(
                f"{kind} {name!r} is registered by both {table[name].plugin!r} and {plugin!r}",
                {"kind": kind, "name": name, "plugins": [table[name].plugin, plugin]},
            )
        table[name] = Entry(spec, plugin)

    def register_crew(self, crew: Crew, plugin: str) -> None:
        if not isinstance(crew, Crew):
            raise RegistrationError(f"plugin {plugin!r} registered {crew!r}, not a Crew")
        if crew.name in COMPAT_CREW_PATHS:
            # GET /crews/{name} could never reach it: Novel Movie's route answers first
            raise RegistrationError(
                f"plugin {plugin!r} registered a crew named {crew.name!r}, which is Novel "
                f"Movie's route /crews/{crew.name}; choose another name",
                {"crew": crew.name, "plugin": plugin})
        from pydantic import BaseModel

        for label, model in (
            ("input_model", crew.input_model),
            ("output_model", crew.output_model),
        ):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise RegistrationError(
                    f"crew {crew.name!r} of plugin {plugin!r}: {label} must be a pydantic model"
                )
        config = crew.config_model
        if config is not None:
            if not (isinstance(config, type) and issubclass(config, BaseModel)):
                raise RegistrationError(
                    f"crew {crew.name!r} of plugin {plugin!r}: config_model must be a pydantic "
                    f"model (or None), got {config!r}", {"crew": crew.name, "plugin": plugin})
            if config.model_config.get("extra") == "forbid":
                # a job's config also holds core's options and a chain's other crews' keys
                raise RegistrationError(
                    f"crew {crew.name!r} of plugin {plugin!r}: config_model must let other keys "
                    "through (not extra='forbid'): a job's config also holds core's options "
                    "(model, temperature...) and the keys of the other crews of a chain",
                    {"crew": crew.name, "plugin": plugin})
        if not callable(crew.run):
            raise RegistrationError(f"crew {crew.name!r} of plugin {plugin!r}: run is not callable")
        if not _is_async(crew.run):
            raise RegistrationError(
                f"crew {crew.name!r} of plugin {plugin!r}: run must be an async function "
                f"(`async def run(ctx, inputs)`), got {_describe(crew.run)}; the runner awaits "
                "it, and a blocking run would stall every job of the process",
                {"crew": crew.name, "plugin": plugin},
            )
        arguments = _call_mismatch(crew.run, 2)
        if arguments:
            raise RegistrationError(
                f"crew {crew.name!r} of plugin {plugin!r}: run must take (ctx, inputs), the "
                f"run context and the validated input model; {arguments}",
                {"crew": crew.name, "plugin": plugin},
            )
        self._add("crew", self.crews, crew.name, crew, plugin)

    def register_tool(self, tool: Tool, plugin: str) -> None:
        if not isinstance(tool, Tool):
            raise RegistrationError(f"plugin {plugin!r} registered {tool!r}, not a Tool")
        self._add("tool", self.tools, tool.name, tool, plugin)

    def register_model(self, model: Model, plugin: str) -> None:
        if not isinstance(model, Model):
            raise RegistrationError(f"plugin {plugin!r} registered {model!r}, not a Model")
        self._add("model provider", self.models, model.provider, model, plugin)

    def register_backend(self, backend: JobBackendSpec, plugin: str) -> None:
        if not isinstance(backend, JobBackendSpec):
            raise RegistrationError(f"plugin {plugin!r} registered {backend!r}, not a backend")
        self._add("job backend", self.backends, backend.name, backend, plugin)

    def register_export(self, export: Export, plugin: str) -> None:
        if not isinstance(export, Export):
            raise RegistrationError(f"plugin {plugin!r} registered {export!r}, not an Export")
        if not callable(export.render):
            raise RegistrationError(
                f"export {export.name!r} of plugin {plugin!r}: render is not callable")
        if not (isinstance(export.suffix, str) and export.suffix.startswith(".")
                and "/" not in export.suffix and '"' not in export.suffix):
            raise RegistrationError(
                f"export {export.name!r} of plugin {plugin!r}: suffix {export.suffix!r} must "
                "start with '.' (the file is named <job id><suffix>)")
        self._add("export format", self.exports, export.name, export, plugin, EXPORT_NAME_RE)

    def register_renderer(self, renderer: Renderer, plugin: str) -> None:
        """A renderer needs a callable ``render`` and something to claim results by (crew
        names and/or ``matches``); a crew claimed by two renderers is refused like a name
        clash, since which one prints the crew's result would depend on load order."""
        if not isinstance(renderer, Renderer):
            raise RegistrationError(f"plugin {plugin!r} registered {renderer!r}, not a Renderer")
        where = f"renderer {renderer.name!r} of plugin {plugin!r}"
        if not callable(renderer.render):
            raise RegistrationError(f"{where}: render is not callable")
        if renderer.matches is not None and not callable(renderer.matches):
            raise RegistrationError(f"{where}: matches is not callable")
        crews = renderer.crews
        if isinstance(crews, str) or not all(isinstance(c, str) and NAME_RE.match(c)
                                             for c in crews):
            raise RegistrationError(f"{where}: crews must be a tuple of crew names, got "
                                    f"{crews!r}")
        if not crews and renderer.matches is None:
            raise RegistrationError(f"{where} claims no result: give it crews=(...) and/or "
                                    "matches=")
        for other in self.renderers.values():
            both = sorted(set(crews) & set(other.spec.crews))
            if both:
                raise RegistrationError(
                    f"crew {both[0]!r} is claimed by renderer {other.spec.name!r} of "
                    f"{other.plugin!r} and renderer {renderer.name!r} of {plugin!r}",
                    {"kind": "renderer", "crew": both[0],
                     "plugins": [other.plugin, plugin]})
        self._add("renderer", self.renderers, renderer.name, renderer, plugin)

    def registrars(self, plugin: str) -> dict[str, Callable[[Any], None]]:
        """The ``register`` callback for each hook, bound to one plugin."""
        return {
            "register_crews": lambda spec: self.register_crew(spec, plugin),
            "register_tools": lambda spec: self.register_tool(spec, plugin),
            "register_models": lambda spec: self.register_model(spec, plugin),
            "register_job_backends": lambda spec: self.register_backend(spec, plugin),
            "register_exports": lambda spec: self.register_export(spec, plugin),
            "register_renderers": lambda spec: self.register_renderer(spec, plugin),
        }

    # lookups ------------------------------------------------------------------------------
    def crew(self, name: str) -> Crew:
        try:
            return self.crews[name].spec
        except KeyError:
            failed = self.load_failures() if self.load_failures else []
            hint = (f"; plugins that failed to load: {', '.join(failed)} (`novelcrew plugins` "
                    "or GET /plugins says why)" if failed else "")
            raise CrewNotFound(
                f"unknown crew {name!r}; known crews: {', '.join(sorted(self.crews)) or 'none'}"
                f"{hint}",
                {"crew": name, "known": sorted(self.crews), "failed_plugins": failed},
            ) from None

    def check_chain(self, names: Iterable[str]) -> list[Crew]:
        return [self.crew(name) for name in names]

    def missing_tools(self, crew: Crew) -> list[str]:
        return [name for name in crew.tools if name not in self.tools]

    def tool(self, name: str, wanted_by: str | None = None) -> Tool:
        try:
            return self.tools[name].spec
        except KeyError:
            offering = self.tool_hint(name) if self.tool_hint else []
            hint = (
                f"; install or enable one of: {', '.join(offering)}"
                if offering
                else "; no installed plugin provides it"
            )
            who = f"crew {wanted_by!r} needs " if wanted_by else ""
            raise ToolMissing(
                f"{who}tool {name!r}, which no loaded plugin registers{hint}",
                {"tool": name, "crew": wanted_by, "plugins": offering},
            ) from None

    def model_provider(self, model_id: str) -> Model:
        provider = model_id.split("/", 1)[0]
        try:
            return self.models[provider].spec
        except KeyError:
            from novelcrew.errors import InvalidInput

            raise InvalidInput(
                f"unknown model provider {provider!r} in model id {model_id!r}; "
                f"known: {', '.join(sorted(self.models)) or 'none'}",
                {"model": model_id},
            ) from None

    def export(self, name: str) -> Export:
        """The export format ``name``; ``NotFound`` (404) names the known ones, or says that
        no plugin registers any (the story formats come with novelcrew-exports)."""
        try:
            return self.exports[name].spec
        except KeyError:
            known = list(self.exports)  # in registration order, as GET /exports lists them
            hint = (f"; known: {', '.join(known)}" if known else
                    "; no export formats are installed (novelcrew-exports adds the story "
                    "formats)")
            raise NotFound(f"unknown export format {name!r}{hint}",
                           {"formats": known}) from None

    def backend(self, name: str) -> JobBackendSpec:
        try:
            return self.backends[name].spec
        except KeyError:
            from novelcrew.errors import BackendUnavailable

            raise BackendUnavailable(
                f"unknown job backend {name!r}; known: {', '.join(sorted(self.backends))}"
            ) from None


def _is_async(run: Any) -> bool:
    """``async def`` functions and methods, partials of them, and objects with an async
    ``__call__`` (what ``await crew.run(ctx, inputs)`` can await)."""
    if inspect.iscoroutinefunction(run):
        return True
    if inspect.isroutine(run):
        return False
    return inspect.iscoroutinefunction(type(run).__call__)


def _call_mismatch(function: Any, positional: int) -> str | None:
    """Why ``function`` cannot be called with ``positional`` arguments (``run(inputs)`` for
    ``run(ctx, inputs)``), or ``None`` when it can, or when Python cannot tell."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*([None] * positional))
    except TypeError as exc:
        return f"{getattr(function, '__name__', 'run')}{signature} cannot: {exc}"
    return None


def _describe(run: Any) -> str:
    name = getattr(run, "__qualname__", None) or type(run).__name__
    return f"a plain function {name!r}" if inspect.isroutine(run) else f"{name!r}"
