"""Plugin mistakes found at load, each one clear message naming the plugin (issue #23): shown
by ``novelcrew plugins``, ``GET /plugins`` and the startup summary, while the rest still works.
"""

from __future__ import annotations

import json
import textwrap

import httpx
import pytest
from nc_plugin_dists import COUNTER
from typer.testing import CliRunner

from novelcrew.plugins import load, reset_plugins

GOOD = COUNTER + """
@hookimpl
def register_crews(register):
    register(Crew(name="good", description="counts", input_model=In, output_model=Out, run=run))
"""

UNMARKED = COUNTER + """
def register_crews(register):  # no @hookimpl
    register(Crew(name="unmarked", description="x", input_model=In, output_model=Out, run=run))
"""

TYPO = COUNTER + """
@hookimpl
def register_crew(register):  # the hook is register_crews
    register(Crew(name="typo", description="x", input_model=In, output_model=Out, run=run))
"""

SYNC_RUN = COUNTER + """
def blocking(ctx, inputs):
    return Out(words=1)

@hookimpl
def register_crews(register):
    register(Crew(name="blocking", description="x", input_model=In, output_model=Out,
                  run=blocking))
"""


ONE_ARG_RUN = COUNTER + """
async def summarise(inputs):
    return Out(words=1)

@hookimpl
def register_crews(register):
    register(Crew(name="onearg", description="x", input_model=In, output_model=Out,
                  run=summarise))
"""


RETURNED = COUNTER + """
@hookimpl
def register_crews(register):
    return [Crew(name="returned", description="x", input_model=In, output_model=Out, run=run)]
"""


def _cases(fake_dist) -> dict[str, str]:
    """Install every mistake plus one good plugin; return plugin -> expected words."""
    fake_dist("good-plugin", "good_plugin", GOOD)
    fake_dist("unmarked-plugin", "unmarked_plugin", UNMARKED)
    fake_dist("typo-plugin", "typo_plugin", TYPO)
    fake_dist("sync-plugin", "sync_plugin", SYNC_RUN)
    fake_dist("onearg-plugin", "onearg_plugin", ONE_ARG_RUN)
    fake_dist("returned-plugin", "returned_plugin", RETURNED)
    info = fake_dist("nomodule-plugin", "nomodule_plugin", "")
    (info / "entry_points.txt").write_text("[novelcrew]\nnomodule-plugin = no_such_module_xyz\n")
    info = fake_dist("noattr-plugin", "noattr_plugin", "VALUE = 1\n")
    (info / "entry_points.txt").write_text("[novelcrew]\nnoattr-plugin = noattr_plugin:plugin\n")
    return {
        "unmarked-plugin": "function 'register_crews' is named like a hook but lacks @hookimpl",
        "typo-plugin": "@hookimpl 'register_crew' is not a novelcrew hook; did you mean "
                       "'register_crews'?",
        "sync-plugin": "crew 'blocking' of plugin 'sync-plugin': run must be an async function",
        "returned-plugin": "register_crews returned list instead of calling register(...) for "
                           "each item; what a register hook returns is ignored",
        "onearg-plugin": "crew 'onearg' of plugin 'onearg-plugin': run must take (ctx, inputs), "
                         "the run context and the validated input model; summarise(inputs) "
                         "cannot: too many positional arguments",
        "nomodule-plugin": "module 'no_such_module_xyz' does not exist",
        "noattr-plugin": "module 'noattr_plugin' has no 'plugin'",
    }


def test_each_mistake_is_one_clear_message_and_the_rest_works(fake_dist):
    expected = _cases(fake_dist)
    plugins = load(allow=None)
    for name, words in expected.items():
        error = plugins.infos[name].error or ""
        assert words in error, (name, error)
        assert name in error, (name, error)  # the message names the plugin
        assert "Traceback" not in error and "\n" not in error
    assert plugins.infos["good-plugin"].error is None
    assert plugins.registry.crews["good"].plugin == "good-plugin"
    # nothing of a mistaken hook runs, and a non-async crew is never registered
    assert not {"unmarked", "typo", "blocking", "onearg"} & set(plugins.registry.crews)
    assert plugins.infos["typo-plugin"].hooks == []


def test_a_mistake_does_not_refuse_the_plugins_correct_hooks(fake_dist):
    fake_dist("mixed-plugin", "mixed_plugin", GOOD + """
def job_event(event, job):  # forgot @hookimpl
    pass
""")
    plugins = load(allow=None)
    info = plugins.infos["mixed-plugin"]
    assert "'job_event' is named like a hook but lacks @hookimpl" in (info.error or "")
    assert plugins.registry.crews["good"].plugin == "mixed-plugin"


def test_an_import_error_inside_the_plugin_is_not_called_a_missing_entry_point(fake_dist):
    fake_dist("needsdep-plugin", "needsdep_plugin", "import nonexistent_dependency_xyz\n")
    error = load(allow=None).infos["needsdep-plugin"].error or ""
    assert error.startswith("ModuleNotFoundError: No module named 'nonexistent_dependency_xyz'"
                            " (at ")
    assert error.endswith("needsdep_plugin.py:1, in <module>)")


@pytest.fixture
def every_mistake(fake_dist, monkeypatch) -> dict[str, str]:
    expected = _cases(fake_dist)
    monkeypatch.delenv("NOVELCREW_PLUGINS", raising=False)
    reset_plugins()
    yield expected
    reset_plugins()


def test_plugins_command_shows_each_mistake(every_mistake):
    from novelcrew.cli import app

    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    for name, words in every_mistake.items():
        assert words in (rows[name]["error"] or ""), name
    assert rows["good-plugin"]["error"] is None


@pytest.mark.parametrize("columns", ["400", "80"])  # the table, and one block per plugin
def test_plugins_command_prints_errors_as_written(every_mistake, monkeypatch, columns):
    """An error quoting ``[project.entry-points.novelcrew]`` is printed as is, not taken for
    rich markup and dropped ("check the module path in , and reinstall")."""
    from novelcrew.cli import app

    monkeypatch.setenv("COLUMNS", columns)
    result = CliRunner().invoke(app, ["plugins"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "[project.entry-points.novelcrew]" in text, result.output


async def test_plugins_route_shows_each_mistake(every_mistake, tmp_path):
    from novelcrew.api.app import create_app
    from novelcrew.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, api_keys=[]))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/plugins")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    for name, words in every_mistake.items():
        assert words in (rows[name]["error"] or ""), name


def test_startup_summary_has_one_warning_per_mistaken_plugin(every_mistake, tmp_path):
    from novelcrew.introspect import startup_summary
    from novelcrew.plugins import get_plugins
    from novelcrew.settings import Settings

    lines = startup_summary(Settings(data_dir=tmp_path), get_plugins(), "serve")
    assert f"failed {len(every_mistake)}" in lines[0]
    for name, words in every_mistake.items():
        mine = [line for line in lines if line.startswith(f"WARNING: plugin {name} ")]
        assert len(mine) == 1 and words in mine[0], (name, lines)


@pytest.mark.parametrize(("args", "said"), [
    (["jobs", "list", "--url", "http://127.0.0.1:9"], 1),  # a command that loads no plugins
    (["--help"], 1),
    (["run", "nope"], 1),  # in run's own log, once logging is set up
    (["plugins", "--json"], 0),  # stdout's table/JSON has it; stderr stays clean
])
def test_every_command_says_each_plugin_mistake_once(tmp_path, args, said):
    """``main`` loads plugins (for their commands) before any command sets up logging: each
    mistake is said once per command, never also as a bare line of Python's fallback
    handler."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "typo_plugin_mod.py").write_text(
        "from novelcrew import hookimpl\n\n@hookimpl\ndef register_crew(register):\n"
        "    pass\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path),
           "NOVELCREW_PLUGIN_MODULES": "typo_plugin_mod", "COLUMNS": "400"}
    proc = subprocess.run([str(Path(sys.executable).parent / "novelcrew"), *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    mistake = "@hookimpl 'register_crew' is not a novelcrew hook"
    assert proc.stderr.count(mistake) == said, proc.stderr
    if args[0] == "plugins":
        rows = {row["name"]: row for row in json.loads(proc.stdout)}
        assert mistake in rows["typo_plugin_mod"]["error"]
    elif args[0] != "run":
        assert f"novelcrew: warning: plugin 'typo_plugin_mod': {mistake}" in proc.stderr


def _line_of(source: str, text: str) -> int:
    """The 1-based line of ``text`` in ``source`` as ``fake_dist`` writes it."""
    lines = textwrap.dedent(source).splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_a_load_error_points_at_the_plugins_own_line(fake_dist):
    """An author reads where in their code it broke, not only what: a syntax error by file and
    line, an exception raised in a library their hook called (here the ``Crew`` constructor)
    by the innermost line of their own module."""
    fake_dist("syntax-plugin", "syntax_plugin", "from novelcrew import hookimpl\nROLE = (\n")
    badcall_source = COUNTER + """
@hookimpl
def register_crews(register):
    register(Crew(name="badcall", input_model=In, output_model=Out, run=run))
"""
    fake_dist("badcall-plugin", "badcall_plugin", badcall_source)
    plugins = load(allow=None)
    syntax = plugins.infos["syntax-plugin"].error or ""
    assert syntax.startswith("SyntaxError: '(' was never closed (at "), syntax
    assert syntax.endswith("syntax_plugin.py:2)"), syntax
    badcall = plugins.infos["badcall-plugin"].error or ""
    assert badcall.startswith("TypeError: "), badcall
    assert "description" in badcall  # what is wrong...
    line = _line_of(badcall_source, "register(Crew(")
    assert badcall.endswith(f"badcall_plugin.py:{line}, in register_crews)"), badcall  # where


def test_a_hook_asking_for_an_argument_the_hook_does_not_pass_says_how_to_write_it(fake_dist):
    argname_source = COUNTER + """
@hookimpl
def register_crews(registry):
    registry(Crew(name="argname", description="x", input_model=In, output_model=Out, run=run))
"""
    fake_dist("argname-plugin", "argname_plugin", argname_source)
    fake_dist("subset-plugin", "subset_plugin", COUNTER + """
@hookimpl
def job_event(event):  # a hook may take fewer arguments than it is called with
    pass
""")
    plugins = load(allow=None)
    error = plugins.infos["argname-plugin"].error or ""
    assert "plugin 'argname-plugin': hook register_crews(registry) at " in error, error
    line = _line_of(argname_source, "@hookimpl")  # a decorated function starts at its decorator
    assert (f"argname_plugin.py:{line} asks for 'registry', which the hook does not pass; "
            "write it as register_crews(register)") in error, error
    assert "argname" not in plugins.registry.crews
    assert plugins.infos["subset-plugin"].error is None


def test_an_unknown_crew_names_the_plugins_that_failed_to_load(fake_dist, monkeypatch, tmp_path):
    """The author's plugin broke at load, so its crew is unknown: the error says which plugins
    did not load rather than only 'known crews: none'."""
    from novelcrew.cli import app
    from novelcrew.errors import CrewNotFound

    fake_dist("broken-crew", "broken_crew", COUNTER + """
@hookimpl
def register_crews(register):
    raise RuntimeError("no config")
""")
    fake_dist("good-plugin", "good_plugin", GOOD)
    plugins = load(allow=None)
    with pytest.raises(CrewNotFound) as caught:
        plugins.registry.crew("broken")
    assert "plugins that failed to load: broken-crew (`novelcrew plugins`" in caught.value.message
    assert caught.value.details["failed_plugins"] == ["broken-crew"]

    monkeypatch.delenv("NOVELCREW_PLUGINS", raising=False)
    monkeypatch.setenv("COLUMNS", "300")
    story = tmp_path / "story.txt"
    story.write_text("Ana finds a key.")
    reset_plugins()
    result = CliRunner().invoke(app, ["run", "broken", "--story", str(story),
                                      "--data-dir", str(tmp_path / "data")])
    reset_plugins()
    assert result.exit_code == 2, result.output
    assert "unknown crew 'broken'" in result.output
    assert "plugins that failed to load: broken-crew" in result.output
