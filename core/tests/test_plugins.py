"""Plugin loading: discovery through entry points, failures recorded, allow-lists, clashes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from nc_plugin_dists import COUNTER
from typer.testing import CliRunner

import novelcrew
from novelcrew.errors import RegistrationError, ToolMissing
from novelcrew.plugins import load

CREW_PLUGIN = COUNTER + """
@hookimpl
def register_crews(register):
    register(Crew(name="{crew}", description="counts words", input_model=In,
                  output_model=Out, run=run, tools={tools!r}))

@hookimpl
def register_tools(register):
    for name in {provides!r}:
        register(Tool(name=name, description="a tool", factory=lambda ctx: object()))
"""


def crew_plugin(crew: str, tools: tuple[str, ...] = (), provides: tuple[str, ...] = ()) -> str:
    return CREW_PLUGIN.format(crew=crew, tools=tools, provides=provides)


def test_entry_point_plugin_is_found_and_registers(fake_dist):
    fake_dist("wordcount-plugin", "wordcount_plugin", crew_plugin("wordcount"))
    plugins = load(allow=None)
    info = plugins.infos["wordcount-plugin"]
    assert info.error is None
    assert info.version == "1.2.3"
    assert info.crews == ["wordcount"]
    assert info.hooks == ["register_crews", "register_tools"]
    assert plugins.registry.crews["wordcount"].plugin == "wordcount-plugin"


def test_plugin_raising_at_import_is_recorded_and_others_load(fake_dist):
    fake_dist("broken-plugin", "broken_plugin", "raise RuntimeError('kaboom at import')\n")
    fake_dist("wordcount-plugin", "wordcount_plugin", crew_plugin("wordcount"))
    plugins = load(allow=None)
    broken = plugins.infos["broken-plugin"]
    assert broken.error is not None
    assert broken.error.startswith("RuntimeError: kaboom at import (at ")
    assert broken.error.endswith("broken_plugin.py:1, in <module>)")  # the author's line
    assert broken.crews == []
    assert "wordcount" in plugins.registry.crews
    assert "offline" in plugins.registry.models  # the built-ins are untouched


def test_plugin_raising_in_register_hook_leaves_nothing_half_registered(fake_dist):
    source = crew_plugin("halfway") + """
@hookimpl
def register_models(register):
    raise ValueError("no models today")
"""
    fake_dist("halfway-plugin", "halfway_plugin", source)
    plugins = load(allow=None)
    info = plugins.infos["halfway-plugin"]
    assert info.error is not None
    assert info.error.startswith("ValueError: no models today (at ")
    assert info.error.endswith("halfway_plugin.py:26, in register_models)")
    assert "halfway" not in plugins.registry.crews
    assert info.crews == []


def test_two_plugins_registering_one_crew_name_is_an_error_naming_both(fake_dist):
    fake_dist("first-plugin", "first_plugin", crew_plugin("same"))
    fake_dist("second-plugin", "second_plugin", crew_plugin("same"))
    plugins = load(allow=None)
    errors = [i for i in (plugins.infos["first-plugin"], plugins.infos["second-plugin"]) if i.error]
    assert len(errors) == 1
    message = errors[0].error or ""
    assert "'same'" in message and "first-plugin" in message and "second-plugin" in message
    winner = plugins.registry.crews["same"].plugin
    assert winner in ("first-plugin", "second-plugin")


def test_registry_refuses_clash_directly():
    plugins = load(allow=[])
    from novelcrew import Model

    with pytest.raises(RegistrationError) as err:
        plugins.registry.register_model(
            Model(provider="offline", description="x", build=lambda m, s: None), "mine"
        )
    assert "novelcrew.default_plugins.offline" in str(err.value) and "mine" in str(err.value)


def test_a_config_model_must_be_a_pydantic_model_that_lets_other_keys_through():
    """A crew's ``config_model`` checks every job's whole config (core's options such as
    ``model``, and the other crews' keys of a chain): one that is not a pydantic model made
    every submission naming the crew a 500, and one that forbids extra keys refused every
    job that chose a model. The registry refuses both, naming the crew."""
    from pydantic import BaseModel, ConfigDict

    from novelcrew import Crew

    class In(BaseModel):
        story_text: str

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        depth: int = 1

    class Loose(BaseModel):
        depth: int = 1

    async def run(ctx, inputs):
        return In(story_text="")

    def crew(config_model):
        return Crew(name="configured", description="x", input_model=In, output_model=In,
                    run=run, config_model=config_model)

    plugins = load(allow=[])
    for bad, says in ((dict, "config_model must be a pydantic model"),
                      (Strict, "other keys")):
        with pytest.raises(RegistrationError) as err:
            plugins.registry.register_crew(crew(bad), "mine")
        assert "'configured'" in str(err.value) and says in str(err.value)
        assert "configured" not in plugins.registry.crews
    plugins.registry.register_crew(crew(Loose), "mine")
    plugins.registry.register_crew(Crew(name="plain", description="x", input_model=In,
                                        output_model=In, run=run), "mine")
    assert {"configured", "plain"} <= set(plugins.registry.crews)


def test_invalid_names_and_types_are_refused(fake_dist):
    fake_dist("badname-plugin", "badname_plugin", crew_plugin("Bad Name!"))
    plugins = load(allow=None)
    assert "invalid name" in (plugins.infos["badname-plugin"].error or "")


def test_a_crew_cannot_take_a_name_novel_movies_routes_use(fake_dist):
    """``GET /crews/status`` is Novel Movie's status route: a crew named ``status`` could
    never be read at ``GET /crews/{name}``, so its plugin fails to load, saying why."""
    fake_dist("status-plugin", "status_plugin", crew_plugin("status"))
    plugins = load(allow=None)
    error = plugins.infos["status-plugin"].error or ""
    assert "'status'" in error and "/crews/status" in error
    assert "status" not in plugins.registry.crews


def test_allow_list_limits_what_loads(fake_dist):
    fake_dist("one-plugin", "one_plugin", crew_plugin("one"))
    fake_dist("two-plugin", "two_plugin", crew_plugin("two"))
    only_one = load(allow=["one-plugin"])
    assert "one" in only_one.registry.crews and "two" not in only_one.registry.crews
    none = load(allow=[])
    assert [i.name for i in none.list() if not i.builtin] == []
    assert "inline" in none.registry.backends  # built-ins always load
    # a built-in is listed at the core's own version (``/plugins``, ``novelcrew plugins``)
    assert {i.version for i in none.list() if i.builtin} == {novelcrew.__version__}


def test_allow_list_from_environment(fake_dist, monkeypatch):
    fake_dist("one-plugin", "one_plugin", crew_plugin("one"))
    monkeypatch.setenv("NOVELCREW_PLUGINS", "")
    assert "one" not in load().registry.crews
    monkeypatch.setenv("NOVELCREW_PLUGINS", "one-plugin")
    assert "one" in load().registry.crews


def test_missing_tool_names_the_tool_and_plugins_that_could_provide_it(fake_dist, tmp_path):
    """The hint reads entry-point metadata (group ``novelcrew.tools``) and never imports a
    plugin the allow-list excludes."""
    fake_dist("needs-plugin", "needs_plugin", crew_plugin("needy", tools=("magic_lens",)))
    marker = tmp_path / "imported"
    info = fake_dist("lens-plugin", "lens_plugin",
                     f"open({str(marker)!r}, 'w').close()\n" +
                     crew_plugin("lens", provides=("magic_lens",)))
    with (info / "entry_points.txt").open("a") as fh:
        fh.write("\n[novelcrew.tools]\nmagic_lens = lens_plugin\n")
    plugins = load(allow=["needs-plugin"])
    with pytest.raises(ToolMissing) as err:
        plugins.registry.tool("magic_lens", wanted_by="needy")
    message = str(err.value)
    assert "'magic_lens'" in message and "'needy'" in message and "lens-plugin" in message
    assert err.value.details["plugins"] == ["lens-plugin"]
    assert not marker.exists(), "the excluded plugin was imported for the hint"


def test_a_clash_refuses_only_the_newcomers_item(fake_dist):
    """A plugin registering a name a built-in (or earlier plugin) holds: that one item is
    refused with an error naming both; the built-in keeps it; the newcomer's other crews and
    tools work."""
    source = crew_plugin("fresh", provides=("own_tool",)) + """
from novelcrew import Model

@hookimpl
def register_models(register):
    register(Model(provider="offline", description="mine", build=lambda m, s: None))
"""
    fake_dist("clash-plugin", "clash_plugin", source)
    plugins = load(allow=["clash-plugin"])
    info = plugins.infos["clash-plugin"]
    assert "'offline'" in (info.error or "")
    assert "novelcrew.default_plugins.offline" in info.error and "clash-plugin" in info.error
    assert plugins.registry.models["offline"].plugin == "novelcrew.default_plugins.offline"
    assert plugins.registry.crews["fresh"].plugin == "clash-plugin"
    assert plugins.registry.tools["own_tool"].plugin == "clash-plugin"
    assert info.crews == ["fresh"] and info.models == []


def test_crew_tools_are_injected_by_name(fake_dist):
    import asyncio
    from pathlib import Path
    from tempfile import mkdtemp

    from novelcrew_sdk import make_settings, run_job

    source = crew_plugin("uses-tool", tools=("clock",), provides=("clock",)).replace(
        "return Out(words=len(inputs.story_text.split()))",
        "return Out(words=ctx.tool('clock').now())",
    ).replace("factory=lambda ctx: object()", "factory=lambda ctx: Clock(ctx.project_id)") + """
class Clock:
    def __init__(self, project_id):
        self.project_id = project_id
    def now(self):
        return 42 if self.project_id == "p1" else -1
"""
    fake_dist("tool-plugin", "tool_plugin", source)
    plugins = load(allow=["tool-plugin"])
    settings = make_settings(Path(mkdtemp()))
    job, _ = asyncio.run(run_job(plugins, "uses-tool", {"story_text": "x"}, settings=settings,
                                 project_id="p1"))
    assert job.status == "succeeded", job.error
    assert job.result["uses-tool"] == {"words": 42}


def test_plugins_command_json_has_exactly_the_documented_keys(fake_dist, monkeypatch):
    from novelcrew.cli import app
    from novelcrew.plugins import reset_plugins

    fake_dist("broken-plugin", "broken_plugin", "import nonexistent_dependency_xyz\n")
    fake_dist("wordcount-plugin", "wordcount_plugin", crew_plugin("wordcount"))
    monkeypatch.delenv("NOVELCREW_PLUGINS", raising=False)
    reset_plugins()
    result = CliRunner().invoke(app, ["plugins", "--json"])
    reset_plugins()
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    keys = {"name", "version", "hooks", "crews", "tools", "models", "exports", "renderers",
            "error", "warnings"}
    assert all(set(row) == keys for row in rows.values())
    assert rows["wordcount-plugin"]["crews"] == ["wordcount"]
    assert "ModuleNotFoundError" in rows["broken-plugin"]["error"]


def test_plugins_command_table_shows_errors(fake_dist, monkeypatch):
    from novelcrew.cli import app
    from novelcrew.plugins import reset_plugins

    fake_dist("broken-plugin", "broken_plugin", "raise ImportError('missing lib')\n")
    monkeypatch.delenv("NOVELCREW_PLUGINS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    reset_plugins()
    result = CliRunner().invoke(app, ["plugins"])
    reset_plugins()
    assert result.exit_code == 0
    assert "broken-plugin" in result.output and "missing lib" in result.output


def test_plugins_command_table_is_readable_in_an_80_column_terminal(fake_dist, monkeypatch):
    """A new author's first `novelcrew plugins`: names whole on one line, not split as
    `wordcount-plug|in`, and no columns that are empty for every plugin."""
    from novelcrew.cli import app
    from novelcrew.plugins import reset_plugins

    fake_dist("wordcount-plugin", "wordcount_plugin",
              crew_plugin("wordcount", provides=("wordcount_letter_count",)))
    monkeypatch.setenv("NOVELCREW_PLUGINS", "wordcount-plugin")
    monkeypatch.setenv("COLUMNS", "80")
    reset_plugins()
    result = CliRunner().invoke(app, ["plugins"])
    reset_plugins()
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for name in ("wordcount-plugin", "1.2.3", "register_crews", "register_tools",
                 "wordcount_letter_count"):
        assert name in result.output, result.output
    header = next(line for line in result.output.splitlines() if "name" in line)
    assert "models" not in header and "error" not in header  # empty for every plugin


def test_plugins_command_does_not_import_crewai():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from novelcrew.cli import app\n"
        "r = CliRunner().invoke(app, ['plugins', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('crewai' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
