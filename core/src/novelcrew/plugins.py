"""Plugin loading and introspection.

Entry points of group ``novelcrew`` load one at a time, lazily and once: a plugin that raises on
import or registration is recorded with its error and the rest carry on. ``NOVELCREW_PLUGINS``
(a comma list; empty for none) limits which installed plugins load; the built-in default plugins
always load. ``NOVELCREW_TRACE_PLUGINS=1`` prints every hook call to stderr.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import json
import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pluggy

from novelcrew import __version__, hookspecs
from novelcrew.errors import RegistrationError
from novelcrew.registry import Registry

log = logging.getLogger(__name__)

GROUP = "novelcrew"
DEFAULT_PLUGINS = (
    "novelcrew.default_plugins.backends",
    "novelcrew.default_plugins.models",
    "novelcrew.default_plugins.offline",
    "novelcrew.default_plugins.joblog",
)
REGISTER_HOOKS = ("register_crews", "register_tools", "register_models", "register_job_backends",
                  "register_exports", "register_renderers")


@dataclass
class PluginInfo:
    """What ``novelcrew plugins`` and ``GET /plugins`` show for one plugin."""

    name: str
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    crews: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    renderers: list[str] = field(default_factory=list)
    error: str | None = None
    builtin: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "hooks": self.hooks,
            "crews": self.crews,
            "tools": self.tools,
            "models": self.models,
            "exports": self.exports,
            "renderers": self.renderers,
            "error": self.error,
        }


@dataclass
class Plugins:
    """A loaded plugin manager with its registry and what happened to each plugin."""

    pm: pluggy.PluginManager
    registry: Registry
    infos: dict[str, PluginInfo]

    def call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call each plugin's implementation of a hook through pluggy on its own, so one that
        raises cannot hide the call from the others (pluggy stops a hook call at the first
        exception). Each call goes through pluggy's hook execution, so
        ``NOVELCREW_TRACE_PLUGINS`` traces it. Returns ``(plugin name, result or exception)``
        pairs in pluggy's calling order."""
        out: list[tuple[str, Any]] = []
        plugins = self.pm.get_plugins()
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            caller = self.pm.subset_hook_caller(
                hook_name, remove_plugins=[p for p in plugins if p is not impl.plugin]
            )
            try:
                results = caller(**kwargs)
            except Exception as exc:
                out.append((impl.plugin_name, exc))
            else:
                out.append((impl.plugin_name, results[0] if results else None))
        return out

    def list(self) -> list[PluginInfo]:
        return sorted(self.infos.values(), key=lambda info: (info.builtin, info.name))


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("NOVELCREW_TRACE_PLUGINS"):

        def before(hook_name: str, hook_impls: Any, kwargs: Any) -> None:
            print(f"novelcrew: hook {hook_name} -> {[i.plugin_name for i in hook_impls]}",
                  file=sys.stderr)

        def after(outcome: Any, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
            pass

        pm.add_hookcall_monitoring(before, after)
    return pm


def _allowed(allow: list[str] | None, ep: EntryPoint) -> bool:
    if allow is None:
        return True
    dist = ep.dist.name if ep.dist else ""
    return ep.name in allow or dist in allow


def _version(ep: EntryPoint) -> str | None:
    return ep.dist.version if ep.dist else None


def _spec_names(pm: pluggy.PluginManager) -> list[str]:
    """The hooks with a specification (an unknown ``@hookimpl`` gets a caller without one)."""
    return sorted(name for name, caller in vars(pm.hook).items()
                  if getattr(caller, "spec", None) is not None)


def hook_mistakes(pm: pluggy.PluginManager, module: Any, name: str) -> list[str]:
    """What pluggy would silently ignore in a plugin: a function named like a hook but not
    marked ``@hookimpl`` (it never runs), and a ``@hookimpl`` whose name is no hook (a typo
    such as ``register_crew``). Each message names the plugin and the fix."""
    specs = _spec_names(pm)
    found: list[str] = []
    for attr in sorted(dir(module)):
        if attr.startswith("_"):
            continue
        value = getattr(module, attr, None)
        if not callable(value) or isinstance(value, type):
            continue
        marked = pm.parse_hookimpl_opts(module, attr) is not None
        if attr in specs and not marked:
            found.append(
                f"plugin {name!r}: function {attr!r} is named like a hook but lacks "
                "@hookimpl (`from novelcrew import hookimpl`), so it never runs")
        elif marked and attr not in specs:
            close = difflib.get_close_matches(attr, specs, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append(
                f"plugin {name!r}: @hookimpl {attr!r} is not a novelcrew hook{hint} "
                f"(hooks: {', '.join(specs)})")
    return found


def hook_signature_mistakes(pm: pluggy.PluginManager, module: Any, name: str) -> list[str]:
    """A ``@hookimpl`` asking for an argument its hook does not pass (``register_tools(registry)``
    for ``register_tools(register)``): pluggy refuses it with its own wording; this says where
    the function is and how to write it. Found before registering, so nothing of it registers."""
    found: list[str] = []
    for attr in sorted(dir(module)):
        caller = getattr(pm.hook, attr, None)
        spec = getattr(caller, "spec", None)
        if spec is None or pm.parse_hookimpl_opts(module, attr) is None:
            continue
        function = getattr(module, attr)
        try:
            params = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            continue
        wanted = [p.name for p in params if p.default is p.empty
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        extra = [arg for arg in wanted if arg not in spec.argnames]
        if extra:
            where = _source_of(function)
            found.append(
                f"plugin {name!r}: hook {attr}({', '.join(wanted)}){where} asks for "
                f"{', '.join(map(repr, extra))}, which the hook does not pass; write it as "
                f"{attr}({', '.join(spec.argnames)})")
    return found


def describe_error(exc: BaseException, module: str | None = None) -> str:
    """``Type: message`` of a plugin that failed to load, with where in the plugin's own code it
    happened (``(at src/my_plugin/plugin.py:42, in register_tools)``): the innermost frame in
    the files of ``module``'s top-level package, so an error raised by a library the plugin
    called still points at the plugin's line. A ``SyntaxError`` names its file and line."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{type(exc).__name__}: {exc.msg} (at {_short_path(exc.filename)}:{exc.lineno})"
    text = f"{type(exc).__name__}: {exc}"
    roots = _source_roots(module.split(".", 1)[0]) if module else []
    where = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if any(path == root or root in path.parents for root in roots):
            where = f"{_short_path(frame.filename)}:{frame.lineno}, in {frame.name}"
    return f"{text} (at {where})" if where else text


def _source_roots(top: str) -> list[Path]:
    """The files of top-level module ``top``: its package folders, or its one file."""
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(location) for location in spec.submodule_search_locations]
    return [Path(spec.origin)] if spec.origin else []


def _short_path(filename: str) -> str:
    """A path relative to the current folder when it lies below it (an author in their plugin's
    folder reads ``src/...``), else as it is."""
    path = Path(filename)
    try:
        return str(path.relative_to(Path.cwd()))
    except (ValueError, OSError):  # elsewhere, or the current folder was deleted
        return filename


def _source_of(function: Any) -> str:
    """`` at file:line`` of a function, or nothing when Python cannot tell."""
    try:
        filename = inspect.getsourcefile(function)
        _lines, line = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return ""
    return f" at {_short_path(filename)}:{line}" if filename else ""


def load_entry_point(ep: EntryPoint) -> Any:
    """``ep.load()`` with errors that say what is wrong with the entry point itself: its
    module does not exist (a typo, or the package is not installed), or the object it names
    is not in that module. An error raised while the module imports passes unchanged."""
    where = f"entry point {ep.name!r} = {ep.value!r}"
    if ep.dist is not None:
        where += f" of {ep.dist.name}"
    try:
        module = importlib.import_module(ep.module)
    except ModuleNotFoundError as exc:
        if exc.name and (ep.module == exc.name or ep.module.startswith(exc.name + ".")):
            raise RegistrationError(
                f"{where}: module {ep.module!r} does not exist (check the module path in "
                "[project.entry-points.novelcrew], and reinstall the package)",
                {"entry_point": ep.name, "module": ep.module}) from exc
        raise
    obj: Any = module
    for part in (ep.attr or "").split(".") if ep.attr else ():
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RegistrationError(
                f"{where}: module {ep.module!r} has no {ep.attr!r}",
                {"entry_point": ep.name, "module": ep.module, "attr": ep.attr}) from None
    return obj


def _register_plugin(
    pm: pluggy.PluginManager, registry: Registry, module: Any, name: str, info: PluginInfo
) -> list[str]:
    """Register one plugin's hooks. If a hook raises, everything of the plugin is rolled back
    and the error re-raised. A name another (earlier) plugin holds is refused on its own: the
    earlier registration stays, the rest of this plugin registers, and the refusals (each
    naming both plugins) are returned and recorded as the plugin's error."""
    wrong_arguments = hook_signature_mistakes(pm, module, name)
    if wrong_arguments:
        raise RegistrationError("; ".join(wrong_arguments), {"plugin": name})
    pm.register(module, name=name)
    mistakes = hook_mistakes(pm, module, name)
    for mistake in mistakes:
        log.warning("%s", mistake)
    specs = set(_spec_names(pm))
    info.hooks = sorted(caller.name for caller in pm.get_hookcallers(module) or []
                        if caller.name in specs)
    scratch = Registry()
    callbacks = scratch.registrars(name)
    try:
        for hook_name in REGISTER_HOOKS:
            caller = pm.subset_hook_caller(hook_name, remove_plugins=[
                p for p in pm.get_plugins() if p is not module
            ])
            returned = [r for r in caller(register=callbacks[hook_name]) if r is not None]
            if returned:  # llm-style `return [Crew(...)]`: pluggy would drop it silently
                mistake = (
                    f"plugin {name!r}: {hook_name} returned {type(returned[0]).__name__} "
                    "instead of calling register(...) for each item; what a register hook "
                    "returns is ignored")
                log.warning("%s", mistake)
                mistakes.append(mistake)
    except BaseException:
        info.crews, info.tools, info.models, info.exports, info.renderers = [], [], [], [], []
        pm.unregister(module)
        raise
    refused: list[str] = []
    merges: list[tuple[Any, Any, list[str], Any]] = [
        (scratch.crews, registry.register_crew, info.crews, lambda spec: spec.name),
        (scratch.tools, registry.register_tool, info.tools, lambda spec: spec.name),
        (scratch.models, registry.register_model, info.models, lambda spec: spec.provider),
        (scratch.backends, registry.register_backend, [], lambda spec: spec.name),
        (scratch.exports, registry.register_export, info.exports, lambda spec: spec.name),
        (scratch.renderers, registry.register_renderer, info.renderers, lambda spec: spec.name),
    ]
    for table, register, names, key in merges:
        for entry in table.values():
            try:
                register(entry.spec, name)
            except RegistrationError as exc:
                refused.append(exc.message)
                log.warning("plugin %s: %s (refused; the first registration stays)",
                            name, exc.message)
            else:
                names.append(key(entry.spec))
    problems = [*mistakes, *refused]
    if problems:
        info.error = ("PluginError: " if mistakes else "RegistrationError: ") + "; ".join(
            problems)
    return refused


def load(allow: list[str] | object | None = ..., *, include_entry_points: bool = True,
         modules: list[str] | None = None,
         builtins: tuple[str, ...] = DEFAULT_PLUGINS) -> Plugins:
    """Build a plugin manager and registry from the default plugins and entry points.

    ``modules`` are extra plugin modules by import path, registered like entry points (with
    entry points, they default to ``NOVELCREW_PLUGIN_MODULES``), so a worker fleet can load a
    plugin from ``PYTHONPATH`` without installing it; one that fails is recorded likewise.
    """
    if allow is ... or (modules is None and include_entry_points):
        from novelcrew.settings import Settings

        configured = Settings()
        if allow is ...:
            allow = configured.plugins  # type: ignore[assignment]
        if modules is None and include_entry_points:
            modules = configured.plugin_modules
    pm = new_plugin_manager()
    infos: dict[str, PluginInfo] = {}
    registry = Registry(tool_hint=plugins_offering_tool, load_failures=lambda: sorted(
        name for name, info in infos.items() if info.error and not info.crews))
    for modname in builtins:
        info = PluginInfo(name=modname, builtin=True, version=__version__)
        infos[modname] = info
        try:
            _register_plugin(pm, registry, importlib.import_module(modname), modname, info)
        except Exception as exc:  # recorded: /health reports the server degraded
            info.error = describe_error(exc, modname)
            log.error("built-in plugin %s failed to load: %s", modname, info.error)
    if include_entry_points:
        for ep in entry_points(group=GROUP):
            if not _allowed(allow, ep):  # type: ignore[arg-type]
                continue
            info = PluginInfo(name=ep.name, version=_version(ep))
            infos[ep.name] = info
            try:
                module = load_entry_point(ep)
                _register_plugin(pm, registry, module, ep.name, info)
            except Exception as exc:  # a broken plugin must not take the process down
                info.error = describe_error(exc, ep.module)
                log.warning("plugin %s failed to load: %s", ep.name, info.error)
                log.debug("%s", traceback.format_exc())
    for modname in modules or ():
        info = PluginInfo(name=modname)
        infos[modname] = info
        try:
            _register_plugin(pm, registry, importlib.import_module(modname), modname, info)
        except Exception as exc:
            info.error = describe_error(exc, modname)
            log.warning("plugin module %s failed to load: %s", modname, info.error)
    return Plugins(pm=pm, registry=registry, infos=infos)


def register_module(plugins: Plugins, module: Any, name: str) -> PluginInfo:
    """Register an extra plugin object (tests, embedding apps) into loaded plugins; a name
    clash raises ``RegistrationError`` (after registering the rest, like ``load``)."""
    info = PluginInfo(name=name)
    refused = _register_plugin(plugins.pm, plugins.registry, module, name, info)
    plugins.infos[name] = info
    if refused:
        raise RegistrationError("; ".join(refused), {"plugin": name})
    return info


_lock = threading.Lock()
_loaded: Plugins | None = None


def get_plugins() -> Plugins:
    """The process's plugins, loaded on first use and only once."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = load()
        return _loaded


def reset_plugins() -> None:
    """Forget loaded plugins, so the next ``get_plugins()`` loads them afresh (tests)."""
    global _loaded
    with _lock:
        _loaded = None


#: entry-point group of plugin checkers: ``name = module:function``, where ``function(plugin)``
#: checks one loaded plugin by name, returns a one-line summary and raises on failure. The
#: SDK declares its contract check here, so ``novelcrew plugins --check`` runs it without the
#: core importing the SDK.
CHECKS_GROUP = "novelcrew.checks"

#: entry-point group in which a plugin may declare the tools it registers (``name = module``),
#: so a missing tool's error can name the plugin without importing anything
TOOLS_GROUP = "novelcrew.tools"


def plugins_offering_tool(tool: str) -> list[str]:
    """Installed distributions that declare ``tool`` in their metadata (entry-point group
    ``novelcrew.tools``), whether or not they are loaded: the hint "install or enable one of".
    Reads metadata only; no plugin is imported (the allow-list may exclude it on purpose)."""
    found = {ep.dist.name if ep.dist else ep.value.split(".", 1)[0]
             for ep in entry_points(group=TOOLS_GROUP, name=tool)}
    return sorted(found)


def editable_plugin_sources() -> list[Path]:
    """Source folders of the installed plugins that are editable installs (``pip install -e``,
    ``uv pip install -e``, ``novelcrew install -e``): what ``novelcrew serve --reload``
    watches. Read from metadata (PEP 610 ``direct_url.json``) and import specs; no plugin is
    imported. A plugin's package folder when it can be found, else its project folder."""
    found: dict[str, Path] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist
        if dist is None:
            continue
        try:
            direct = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            continue
        if not direct.get("dir_info", {}).get("editable"):
            continue
        folder = _package_folder(ep.module.split(".", 1)[0])
        if folder is None and str(direct.get("url", "")).startswith("file://"):
            folder = Path(url2pathname(urlparse(direct["url"]).path))
        if folder is not None and folder.is_dir():
            found[str(folder.resolve())] = folder.resolve()
    return sorted(found.values())


def _package_folder(top: str) -> Path | None:
    """The folder of top-level package ``top`` (its spec; the package is not imported)."""
    roots = _source_roots(top)
    if not roots:
        return None
    return roots[0] if roots[0].is_dir() else roots[0].parent
