"""One introspection function per HTTP listing; `plugin_list` feeds `novelcrew plugins` too."""

from __future__ import annotations

from typing import Any

from novelcrew.plugins import Plugins, get_plugins
from novelcrew.settings import Settings


def plugin_list(
    plugins: Plugins | None = None, include_builtin: bool = False
) -> list[dict[str, Any]]:
    """``novelcrew plugins --json`` and ``GET /plugins``: name, version, hooks, crews, tools,
    models, exports, renderers, error, and warnings (a crew of the plugin that lacks a required
    tool)."""
    plugins = plugins or get_plugins()
    warnings = plugin_warnings(plugins)
    return [{**info.public(), "warnings": warnings.get(info.name, [])}
            for info in plugins.list() if include_builtin or not info.builtin]


def plugin_warnings(plugins: Plugins) -> dict[str, list[str]]:
    """Per plugin, each of its crews that needs a tool no loaded plugin registers."""
    registry = plugins.registry
    out: dict[str, list[str]] = {}
    for name, entry in sorted(registry.crews.items()):
        missing = registry.missing_tools(entry.spec)
        if missing:
            out.setdefault(entry.plugin, []).append(
                f"crew {name!r} needs tool(s) {', '.join(missing)}, which no loaded plugin "
                "registers")
    return out


def problems(plugins: Plugins) -> list[str]:
    """What makes the server degraded: built-in plugins that failed to load, and crews that
    lack a required tool (``GET /health`` reasons, the startup summary)."""
    found = [f"built-in plugin {info.name} failed to load: {info.error}"
             for info in plugins.list() if info.builtin and info.error]
    for plugin, warnings in plugin_warnings(plugins).items():
        found.extend(f"{warning} (plugin {plugin})" for warning in warnings)
    return found


def crew_list(plugins: Plugins) -> list[dict[str, Any]]:
    return [crew_info(plugins, name) for name in sorted(plugins.registry.crews)]


def crew_info(plugins: Plugins, name: str, schemas: bool = False) -> dict[str, Any]:
    crew = plugins.registry.crew(name)  # CrewNotFound names the known crews
    entry = plugins.registry.crews[name]
    info: dict[str, Any] = {
        "name": crew.name,
        "version": crew.version,
        "description": crew.description,
        "plugin": entry.plugin,
        "tools": list(crew.tools),
        "optional_tools": list(crew.optional_tools),
        "agents": list(crew.agents),
        "estimated_seconds": crew.estimated_seconds,
        "runs_after": list(crew.runs_after),
        "missing_tools": plugins.registry.missing_tools(crew),
    }
    if schemas:
        info["input_schema"] = crew.input_model.model_json_schema()
        info["output_schema"] = crew.output_model.model_json_schema()
        info["config_schema"] = (crew.config_model.model_json_schema()
                                 if crew.config_model is not None else None)
    return info


def tool_list(plugins: Plugins) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "description": e.spec.description,
            "plugin": e.plugin,
            "has_health_check": e.spec.health is not None,
        }
        for name, e in sorted(plugins.registry.tools.items())
    ]


def model_list(plugins: Plugins) -> list[dict[str, Any]]:
    return [
        {
            "provider": name,
            "description": e.spec.description,
            "plugin": e.plugin,
            "examples": list(e.spec.examples),
        }
        for name, e in sorted(plugins.registry.models.items())
    ]


def export_list(plugins: Plugins) -> list[dict[str, Any]]:
    """``GET /exports`` and the web UI's export buttons: every registered export format."""
    return [
        {
            "name": name,
            "label": e.spec.label or name,
            "description": e.spec.description,
            "media_type": e.spec.media_type,
            "suffix": e.spec.suffix,
            "plugin": e.plugin,
        }
        for name, e in plugins.registry.exports.items()
    ]


def startup_summary(settings: Settings, plugins: Plugins, role: str) -> list[str]:
    """What ``novelcrew serve`` and ``novelcrew worker`` print when they start: one summary
    line, then a loud warning per thing an operator must not miss (jobs on the ``offline``
    stand-in, a degraded server)."""
    from novelcrew import __version__

    routed = {"default": settings.model_for_default, **settings.crew_models,
              **settings.agent_models}
    models = ", ".join(f"{who}={model}" for who, model in routed.items())
    if settings.fallback_models:
        models += f", fallbacks={'>'.join(settings.fallback_models)}"
    infos = [info for info in plugins.list() if not info.builtin]
    loaded = [info.name for info in infos if not info.error]
    failed = [info.name for info in plugins.list() if info.error]
    lines = [
        f"novelcrew {__version__} {role}: backend={settings.job_backend} "
        f"data_dir={settings.resolved_data_dir} models: {models} | "
        f"plugins loaded {len(loaded)} ({', '.join(loaded) or 'none'}), "
        f"failed {len(failed)}{f' ({chr(44).join(failed)})' if failed else ''}"
    ]
    offline = sorted(who for who, model in routed.items() if model.split("/", 1)[0] == "offline")
    if offline:
        lines.append(
            "WARNING: jobs will run on the `offline` stand-in model "
            f"({', '.join(offline)}): its output is plain extraction, labelled as such, not a "
            "story analysis. Set NOVELCREW_MODEL (or OPENROUTER_API_KEY) for real results.")
    lines.extend(f"WARNING: {problem}" for problem in problems(plugins))
    lines.extend(f"WARNING: plugin {info.name} did not load cleanly: {info.error}"
                 for info in infos if info.error)
    return lines
