"""One test per hook (named ``test_hook_<name>``), and the meta-tests that demand them.

Like datasette's ``test_plugin_hooks_have_tests`` and ``test_plugin_hooks_are_documented``:
adding a hookspec without a test here and a section in docs/hooks.md fails the suite.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from novelcrew import (
    Crew,
    Export,
    ExportUnavailable,
    JobBackendSpec,
    Model,
    Renderer,
    Tool,
    hookimpl,
    hookspecs,
)
from novelcrew.backends.base import JobBackend
from novelcrew.backends.memory import MemoryStore
from novelcrew_sdk import make_plugins, make_settings, run_job

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "novelcrew_spec")
)


class Story(BaseModel):
    story_text: str


class Count(BaseModel):
    words: int
    lens: str | None = None


async def count_words(ctx: Any, inputs: Story) -> Count:
    await ctx.add_tasks(1)
    await ctx.task_started("count")
    lens = ctx.tool("lens").describe() if ctx.has_tool("lens") else None
    await ctx.task_finished("count")
    return Count(words=len(inputs.story_text.split()), lens=lens)


class Lens:
    def __init__(self, project_id: str | None) -> None:
        self.project_id = project_id

    def describe(self) -> str:
        return f"35mm for {self.project_id}"


class CrewPlugin:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="count", description="counts words", input_model=Story,
                      output_model=Count, run=count_words, optional_tools=("lens",)))


class ToolPlugin:
    @hookimpl
    def register_tools(self, register: Any) -> None:
        register(Tool(name="lens", description="a lens", factory=lambda ctx: Lens(ctx.project_id)))


def test_hook_register_crews(tmp_path: Path) -> None:
    import asyncio

    plugins = make_plugins(CrewPlugin())
    assert plugins.registry.crews["count"].plugin == "CrewPlugin-0"
    job, _events = asyncio.run(run_job(plugins, "count", {"story_text": "one two three"},
                                      settings=make_settings(tmp_path)))
    assert job.status == "succeeded"
    assert job.result == {"count": {"words": 3, "lens": None}}
    assert job.progress.completed_tasks == 1 and job.progress.total_tasks == 1


def test_hook_register_tools(tmp_path: Path) -> None:
    import asyncio

    plugins = make_plugins(CrewPlugin(), ToolPlugin())
    job, _ = asyncio.run(run_job(plugins, "count", {"story_text": "a b"}, project_id="p9",
                                 settings=make_settings(tmp_path)))
    assert job.result["count"]["lens"] == "35mm for p9"


def test_hook_register_models() -> None:
    built: list[str] = []

    class ModelPlugin:
        @hookimpl
        def register_models(self, register: Any) -> None:
            register(Model(provider="echo", description="echoes",
                           build=lambda model_id, settings: built.append(model_id) or model_id))

    plugins = make_plugins(ModelPlugin())
    provider = plugins.registry.model_provider("echo/small")
    assert provider.build("echo/small", None) == "echo/small"
    assert built == ["echo/small"]
    assert plugins.infos["ModelPlugin-0"].models == ["echo"]


def test_hook_register_job_backends(tmp_path: Path) -> None:
    class NullBackend(JobBackend):
        name = "null"

        def __init__(self) -> None:
            self.store = MemoryStore()

        async def submit(self, job: Any) -> Any:
            await self.store.create(job)
            return job

        async def request_cancel(self, job: Any) -> None:
            return None

    class BackendPlugin:
        @hookimpl
        def register_job_backends(self, register: Any) -> None:
            register(JobBackendSpec(name="null", description="keeps jobs, runs none",
                                    factory=lambda settings, plugins: NullBackend()))

    plugins = make_plugins(BackendPlugin())
    backend = plugins.registry.backend("null").factory(make_settings(tmp_path), plugins)
    assert isinstance(backend, NullBackend)
    assert {"inline", "arq", "null"} <= set(plugins.registry.backends)


def test_hook_register_exports() -> None:
    def words(job: dict[str, Any]) -> str:
        if "count" not in job["result"]:
            raise ExportUnavailable("run the count crew first")
        return f"{job['result']['count']['words']} words\n"

    class ExportPlugin:
        @hookimpl
        def register_exports(self, register: Any) -> None:
            register(Export(name="words.txt", media_type="text/plain; charset=utf-8",
                            suffix=".words.txt", description="The word count.", render=words))

    plugins = make_plugins(ExportPlugin())
    entry = plugins.registry.exports["words.txt"]
    assert entry.plugin == "ExportPlugin-0"
    assert plugins.infos["ExportPlugin-0"].exports == ["words.txt"]
    assert plugins.registry.export("words.txt").file({"result": {"count": {"words": 3}}}) \
        == b"3 words\n"
    with pytest.raises(ExportUnavailable):
        entry.spec.file({"result": {}})


def test_hook_register_renderers(tmp_path: Path) -> None:
    import asyncio

    from rich.console import Console
    from rich.text import Text

    from novelcrew.cli.render import render_job

    class RendererPlugin:
        @hookimpl
        def register_renderers(self, register: Any) -> None:
            register(Renderer(name="word-count", description="The count in words.",
                              crews=("count",),
                              render=lambda result: Text(f"{result['words']} words counted")))

    plugins = make_plugins(CrewPlugin(), RendererPlugin())
    assert plugins.registry.renderers["word-count"].plugin == "RendererPlugin-1"
    assert plugins.infos["RendererPlugin-1"].renderers == ["word-count"]
    job, _ = asyncio.run(run_job(plugins, "count", {"story_text": "one two three"},
                                 settings=make_settings(tmp_path)))
    console = Console(record=True, width=100, color_system=None)
    render_job(job, console, plugins)
    assert "3 words counted" in console.export_text()

    async def listed() -> dict[str, Any]:  # GET /plugins lists it as the CLI does
        from novelcrew.backends.inline import InlineBackend
        from novelcrew_sdk.pytest_plugin import app_client

        settings = make_settings(tmp_path / "api")
        async with app_client(plugins, settings, InlineBackend(plugins, settings)) as client:
            return {row["name"]: row for row in (await client.get("/plugins")).json()}

    assert asyncio.run(listed())["RendererPlugin-1"]["renderers"] == ["word-count"]


def test_hook_job_event(tmp_path: Path) -> None:
    import asyncio

    seen: list[tuple[int, str, str]] = []
    awaited: list[str] = []

    class SyncObserver:
        @hookimpl
        def job_event(self, event: Any, job: Any) -> None:
            seen.append((event.seq, event.type, job.id))

    class AsyncObserver:
        @hookimpl
        def job_event(self, event: Any) -> Any:  # a subset of the arguments is fine
            async def later() -> None:
                await asyncio.sleep(0)
                awaited.append(event.type)

            return later()

    class FailingObserver:
        @hookimpl
        def job_event(self, event: Any) -> None:
            if event.type == "crew_finished":
                raise RuntimeError("webhook down")

    plugins = make_plugins(CrewPlugin(), SyncObserver(), AsyncObserver(), FailingObserver())
    job, events = asyncio.run(run_job(plugins, "count", {"story_text": "a"},
                                      settings=make_settings(tmp_path)))
    assert job.status == "succeeded"
    types = [e.type for e in events]
    assert types[0] == "queued" and types[-1] == "succeeded"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    warnings = [e for e in events if e.type == "warning"]
    assert len(warnings) == 1 and "webhook down" in warnings[0].message
    # observers saw every event the runner emitted (not the warning about themselves)
    runner_events = [e for e in events if e.type not in ("warning", "progress")]
    assert [t for _, t, _ in seen] == [e.type for e in runner_events]
    assert awaited == [t for _, t, _ in seen]


def test_hook_register_commands() -> None:
    import typer
    from typer.testing import CliRunner

    from novelcrew.cli import add_plugin_commands

    class CommandPlugin:
        @hookimpl
        def register_commands(self, cli: typer.Typer) -> None:
            @cli.command("hello")
            def hello(name: str) -> None:
                """Say hello."""
                typer.echo(f"hello {name}")

    class BrokenCommands:
        @hookimpl
        def register_commands(self, cli: typer.Typer) -> None:
            raise RuntimeError("no commands today")

    cli = typer.Typer()

    @cli.command("version")
    def version() -> None:
        typer.echo("1")

    failures = add_plugin_commands(cli, make_plugins(BrokenCommands(), CommandPlugin()))
    assert len(failures) == 1
    assert failures[0].startswith("BrokenCommands-0: RuntimeError: no commands today (at ")
    assert failures[0].endswith(", in register_commands)")  # the line that raised
    result = CliRunner().invoke(cli, ["hello", "ada"])
    assert result.exit_code == 0 and result.stdout == "hello ada\n"


def test_the_sdk_adds_plugin_new_through_register_commands(tmp_path: Path) -> None:
    """The installed console script gets ``plugin new`` from the SDK's entry point; with the
    SDK plugin not allowed, the command is gone (the core itself never imports the SDK)."""
    import os
    import subprocess
    import sys

    novelcrew = Path(sys.executable).parent / "novelcrew"
    env = {k: v for k, v in os.environ.items() if k != "NOVELCREW_PLUGINS"}
    made = subprocess.run([novelcrew, "plugin", "new", "lens kit", "--dir", str(tmp_path)],
                          capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "novelcrew-lens-kit" / "pyproject.toml").is_file()
    without = subprocess.run([novelcrew, "plugin", "new", "x", "--dir", str(tmp_path)],
                             capture_output=True, text=True,
                             env={**env, "NOVELCREW_PLUGINS": "architect"})
    assert without.returncode == 2 and "No such command 'plugin'" in without.stderr
    code = ("import sys; from novelcrew.cli import app; import novelcrew.api.app; "
            "print(sorted(m for m in sys.modules if m.startswith('novelcrew_')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert loaded.stdout.strip() == "[]"


def test_every_hook_has_a_test() -> None:
    here = Path(__file__).read_text()
    missing = [hook for hook in HOOKS if f"def test_hook_{hook}(" not in here]
    assert HOOKS and not missing, f"hooks without a test_hook_<name> test: {missing}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    docs = (ROOT / "docs" / "hooks.md").read_text()
    section = re.search(rf"^## {hook}\((.*?)\)\n(.*?)(?=^## |\Z)", docs, re.S | re.M)
    assert section, f"docs/hooks.md has no '## {hook}(...)' section"
    params = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert [p.strip() for p in section.group(1).split(",")] == params
    body = section.group(2)
    assert "```python" in body, f"the {hook} section has no example"
    assert getattr(hookspecs, hook).__doc__, f"hookspec {hook} has no docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_is_typed(hook: str) -> None:
    """A plugin author's editor and mypy see what a hook passes: every parameter and the
    return are annotated, ``register`` callbacks with the spec they take, and nothing as Any."""
    from typing import get_type_hints

    import typer

    from novelcrew import jobs, specs

    names = {**vars(specs), **vars(jobs), "typer": typer}
    hints = get_type_hints(getattr(hookspecs, hook), globalns={**vars(hookspecs), **names})
    params = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert params and set(hints) == {*params, "return"}
    assert all("Any" not in str(hint) for hint in hints.values()), hints
    if hook.startswith("register_") and hook != "register_commands":
        spec = {"crews": specs.Crew, "tools": specs.Tool, "models": specs.Model,
                "job_backends": specs.JobBackendSpec,
                "exports": specs.Export,
                "renderers": specs.Renderer}[hook.removeprefix("register_")]
        assert hints["register"] == Callable[[spec], None]


def test_job_backend_spec_is_what_docs_hooks_md_documents() -> None:
    """``JobBackendSpec(name, description, factory)`` is the whole spec (docs/hooks.md): a
    field the core never reads would let an author believe it configures the backend."""
    import dataclasses

    assert [f.name for f in dataclasses.fields(JobBackendSpec)] == [
        "name", "description", "factory"]
    assert "`register(JobBackendSpec(name, description, factory))`" in (
        Path(__file__).parents[2] / "docs" / "hooks.md").read_text()


def test_public_names_are_exactly_the_intended_ones() -> None:
    import novelcrew

    assert sorted(novelcrew.__all__) == sorted([
        "Crew", "Export", "ExportUnavailable", "Health", "Job", "JobBackendSpec", "JobCreate",
        "JobEvent", "JobStatus", "Model", "Renderer", "RunContext", "Tool", "ToolContext",
        "hookimpl", "Settings", "PluginSettings",
        "NovelcrewError", "InvalidInput", "JobCancelled", "JobError", "ModelError",
        "RegistrationError", "ToolMissing", "TransientError", "__version__",
    ])
    assert all(hasattr(novelcrew, name) for name in novelcrew.__all__)


def _public_modules() -> set[str]:
    """The modules docs/hooks.md names in "The public face"."""
    docs = (ROOT / "docs" / "hooks.md").read_text()
    section = docs.split("# The public face", 1)[1]
    return set(re.findall(r"`(novelcrew(?:\.[a-z_]+)+)`", section))


def test_the_public_modules_exist_and_plugins_import_no_other() -> None:
    """An internal module is one a plugin must not need: every core module a plugin of this
    repository imports (at the top or inside a function) is documented as public."""
    import importlib

    import grimp

    public = _public_modules()
    assert {"novelcrew.hookspecs", "novelcrew.context", "novelcrew.runner"} <= public
    for name in public:
        importlib.import_module(name)
    plugins = sorted(p.name for p in ROOT.glob("plugins/*/src/*") if (p / "__init__.py").exists())
    assert "novelcrew_architect" in plugins and "novelcrew_eval" in plugins
    graph = grimp.build_graph("novelcrew", *plugins, exclude_type_checking_imports=True)
    used = {(importer, imported) for plugin in plugins
            for importer in graph.find_descendants(plugin) | {plugin}
            for imported in graph.find_modules_directly_imported_by(importer)
            if imported == "novelcrew" or imported.startswith("novelcrew.")}
    assert ("novelcrew_architect.plugin", "novelcrew.hookspecs") in used or any(
        imported == "novelcrew.context" for _, imported in used)
    internal = sorted(f"{importer} -> {imported}" for importer, imported in used
                      if imported not in public | {"novelcrew"})
    assert internal == [], "plugins import modules docs/hooks.md does not name as public"


def test_job_event_goes_through_pluggy_so_tracing_shows_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    class Observer:
        @hookimpl
        def job_event(self, event: Any) -> None:
            return None

    monkeypatch.setenv("NOVELCREW_TRACE_PLUGINS", "1")
    plugins = make_plugins(CrewPlugin(), Observer())
    asyncio.run(run_job(plugins, "count", {"story_text": "a"}, settings=make_settings(tmp_path)))
    traced = [line for line in capsys.readouterr().err.splitlines() if "hook job_event" in line]
    # each observer is called (and traced) on its own; the built-in job log observes too
    ours = [line for line in traced if "Observer-1" in line]
    assert ours and all(line.endswith("['Observer-1']") for line in ours)
