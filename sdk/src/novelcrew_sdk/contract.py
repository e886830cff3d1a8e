"""Contract checks any plugin package can run on itself.

``check_plugin(plugin)`` verifies that the plugin's hooks match the hookspecs, that what it
registers is valid and does not clash with the built-ins, that every crew's input and output
models produce JSON schemas, that every crew runs end to end (on the scripted LLM unless
another model is given) and returns a valid output, and that the renderer claiming that output
(``register_renderers``) draws it without an error.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from novelcrew import hookspecs
from novelcrew.plugins import GROUP, hook_mistakes, register_module
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

SAMPLE_STORY = """The Lighthouse Keeper

Mara Vell had kept the Gannet Point light for eleven years when the letter came. She read it
twice at the kitchen table while the lamp turned above her. "They are automating the light,"
she told her brother Tomas when he rowed out that Sunday. Tomas laughed and said the sea would
not notice. That night a storm drove a fishing boat onto the rocks below the tower, and Mara
climbed down with a rope while Tomas held the lantern. By morning the crew was safe in her
kitchen, and Mara wrote back to the harbour board that the light would need a keeper after all.
"""


class ContractError(AssertionError):
    """A plugin broke the contract; the message says which part and how."""


@dataclass
class ContractReport:
    plugin: str
    hooks: list[str] = field(default_factory=list)
    crews: dict[str, str] = field(default_factory=dict)  # crew -> final job status
    tools: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    renderers: list[str] = field(default_factory=list)


def _resolve(plugin: Any) -> tuple[str, Any]:
    """Accept a plugin object, or the name of an installed entry point or distribution."""
    if not isinstance(plugin, str):
        return getattr(plugin, "__name__", type(plugin).__name__), plugin
    for ep in entry_points(group=GROUP):
        if plugin in (ep.name, ep.dist.name if ep.dist else None):
            return ep.name, ep.load()
    if "." in plugin or plugin.isidentifier():  # a module of NOVELCREW_PLUGIN_MODULES
        import importlib

        try:
            return plugin, importlib.import_module(plugin)
        except ImportError:
            pass
    installed = sorted(ep.name for ep in entry_points(group=GROUP))
    raise ContractError(
        f"no installed plugin (entry point of group {GROUP!r}) named {plugin!r}: declare it in "
        f"your pyproject.toml under [project.entry-points.{GROUP}] and reinstall (novelcrew "
        f"install -e .); installed: {', '.join(installed) or 'none'}")


def check_hooks(plugin: Any, name: str) -> list[str]:
    """Hook implementations must match the hookspecs by name and arguments."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ContractError(f"plugin {name!r} has an invalid hook: {exc}") from exc
    mistakes = hook_mistakes(pm, plugin, name)
    if mistakes:
        raise ContractError("; ".join(mistakes))
    hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
    if not hooks:
        raise ContractError(f"plugin {name!r} implements no novelcrew hook")
    return hooks


def check_plugin(
    plugin: Any,
    *,
    llm: Any = None,
    inputs: dict[str, dict[str, Any]] | None = None,
    entry_points_for_tools: tuple[str, ...] | None = None,
    data_dir: Path | None = None,
) -> ContractReport:
    """Run every contract check on ``plugin``; raise ``ContractError`` on the first failure.

    ``llm`` is the model the crews run on (a ``ScriptedLLM`` with replies for the crew's agents);
    without one they run on the ``offline`` model, which fills any output schema. ``inputs``
    maps crew names to inputs (default: the crew's ``example_inputs``, else a short sample
    story). Tools the crews need are taken from the
    installed plugins named in ``entry_points_for_tools`` (default: all installed ones).
    """
    name, obj = _resolve(plugin)
    report = ContractReport(plugin=name, hooks=check_hooks(obj, name))
    if entry_points_for_tools is None:
        entry_points_for_tools = tuple(
            ep.name for ep in entry_points(group=GROUP) if ep.name != name
        )
    try:
        plugins = make_plugins(entry_points=entry_points_for_tools, llm=llm)
        info = register_module(plugins, obj, name)
    except Exception as exc:
        raise ContractError(f"plugin {name!r} failed to register: {exc}") from exc
    report.tools, report.models, crews = list(info.tools), list(info.models), list(info.crews)
    report.renderers = list(info.renderers)
    for crew_name in crews:
        crew = plugins.registry.crew(crew_name)
        for label, model in (("input", crew.input_model), ("output", crew.output_model)):
            try:
                model.model_json_schema()
            except Exception as exc:
                raise ContractError(
                    f"crew {crew_name!r}: its {label} model has no JSON schema: {exc}"
                ) from exc
        # a crew that reads an earlier crew's result runs after it, as users chain them
        chain = [c for c in crew.runs_after if c in plugins.registry.crews] + [crew_name]
        crew_inputs: dict[str, Any] = {}
        for name_in_chain in chain:
            spec = plugins.registry.crew(name_in_chain)
            crew_inputs.update((inputs or {}).get(name_in_chain) or spec.example_inputs
                               or {"story_text": SAMPLE_STORY})
        tmp = data_dir or Path(tempfile.mkdtemp(prefix="novelcrew-contract-"))
        settings = make_settings(tmp, default_model="scripted" if llm is not None else "offline")
        job, _events = asyncio.run(
            run_job(plugins, chain, crew_inputs, settings=settings, project_id="contract")
        )
        if job.status != "succeeded":
            raise ContractError(
                f"crew {crew_name!r} did not run end to end: {job.status.value}: "
                f"{job.error.message if job.error else ''}"
            )
        try:
            crew.output_model.model_validate(job.result[crew_name])
        except Exception as exc:
            raise ContractError(f"crew {crew_name!r} returned an invalid output: {exc}") from exc
        _check_rendering(plugins, crew_name, job.result[crew_name])
        report.crews[crew_name] = job.status.value
    return report


def _check_rendering(plugins: Any, crew_name: str, result: Any) -> None:
    """The renderer that claims the crew's output draws it (``novelcrew run`` would print
    the output as JSON with a note instead: a fault nobody sees in the crew's own tests)."""
    import io

    from rich.console import Console

    from novelcrew.cli.render import pick_renderer

    entry = pick_renderer(result, crew_name, plugins) if isinstance(result, dict) else None
    if entry is None:
        return
    try:
        Console(file=io.StringIO(), width=100).print(entry.spec.render(result))
    except Exception as exc:
        raise ContractError(
            f"crew {crew_name!r}: renderer {entry.spec.name!r} of plugin {entry.plugin!r} "
            f"failed on its output: {type(exc).__name__}: {exc}") from exc


def check_installed(name: str) -> str:
    """What ``novelcrew plugins --check`` calls for each loaded plugin (entry point group
    ``novelcrew.checks``): the full contract check on the plugin as installed, with the
    other installed plugins providing tools. Returns a one-line summary; raises
    ``ContractError`` naming what is wrong."""
    report = check_plugin(name)
    crews = ", ".join(f"{crew} {status}" for crew, status in report.crews.items())
    return f"hooks {', '.join(report.hooks)}; crews: {crews or 'none'}"
