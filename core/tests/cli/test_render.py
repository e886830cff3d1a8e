"""``novelcrew.cli.render``: what a person reads in the terminal for a job: its header, error,
usage and live progress, and each crew's result through the renderer a plugin registers for it
(``register_renderers``), else as pretty JSON. The story renderers are tested in their plugins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from novelcrew import Renderer, hookimpl
from novelcrew.cli.render import render_job, short
from novelcrew.errors import RegistrationError
from novelcrew.jobs import Job, JobErrorInfo, JobStatus, ModelUsage
from novelcrew.plugins import Plugins, load, register_module
from novelcrew_sdk import make_plugins


def text_of(job: Job | dict[str, Any], plugins: Plugins | None = None) -> str:
    console = Console(record=True, width=140, color_system=None)
    render_job(job, console, plugins or make_plugins())
    return console.export_text()


def test_other_results_are_pretty_json_and_api_records_work_too() -> None:
    record = Job(crews=["logline"], status=JobStatus.succeeded,
                 result={"logline": {"logline": "A baker closes shop.", "words": 5}})
    as_api = record.model_dump(mode="json", exclude={"inputs"})
    out = text_of(as_api)
    assert '"logline": "A baker closes shop."' in out and '"words": 5' in out
    assert "succeeded" in out


def test_a_failure_shows_type_crew_message_and_field_errors() -> None:
    job = Job(crews=["architect"], status=JobStatus.failed, error=JobErrorInfo(
        type="invalid_input", message="invalid inputs for ArchitectInput: 1 error(s)",
        crew="architect",
        details={"errors": [{"loc": ["preferences", "tone"], "msg": "Input should be a "
                             "valid string"}], "hint": "see GET /crews/architect"}))
    out = text_of(job)
    assert "invalid_input in crew architect" in out
    assert "preferences.tone: Input should be a valid string" in out
    assert "see GET /crews/architect" in out


def test_short_cuts_at_a_word() -> None:
    assert short("one two three", 9) == "one two…"
    assert short("  spaced \n out  ") == "spaced out"
    assert short(None) == ""


def test_the_usage_line_says_what_reused_answers_saved() -> None:
    from novelcrew.cli.render import usage_line

    job = Job(crews=["director"], usage={"openai/m": ModelUsage(
        calls=2, prompt_tokens=10, completion_tokens=5, cost=0.002, cached_calls=7,
        saved_tokens=40, saved_cost=0.007)})
    assert usage_line(job) == "openai/m: 2 calls, 15 tokens, $0.0020 (+7 reused, $0.0070 saved)"


def test_the_live_view_counts_scenes_as_they_are_published() -> None:
    from novelcrew.cli.render import JobProgress

    console = Console(record=True, width=160, color_system=None, force_terminal=False)
    with JobProgress(console) as view:
        view.feed({"type": "crew_started", "crew": "director", "seq": 1})
        for n in (1, 2):
            view.feed({"type": "partial", "crew": "director", "seq": 1 + n,
                       "message": f"scene {n} planned",
                       "data": {"kind": "scene", "key": str(n), "done": n, "total": 40}})
        bar = view.progress.tasks[0]
        assert bar.fields["pieces"] == "scenes 2/40"
    out = console.export_text()
    assert "director scene 1 ready (scenes 1/40)" in out
    assert "director scene 2 ready (scenes 2/40)" in out


def test_an_error_about_the_whole_input_has_no_empty_field_name() -> None:
    job = Job(crews=["storyboard"], status=JobStatus.failed, error=JobErrorInfo(
        type="invalid_input", crew="storyboard", message="invalid inputs: 1 error(s)",
        details={"errors": [{"loc": [], "msg": "Value error, project_id is required"},
                            {"loc": ["clip_seconds"], "msg": "too long"}]}))
    out = text_of(job)
    assert "• Value error, project_id is required" in out
    assert "• clip_seconds: too long" in out
    assert "• :" not in out


# renderers of plugins ----------------------------------------------------------------------
def shot_table(result: Mapping[str, Any]) -> Table:
    table = Table(title=f"Shot log of {result['reel']}")
    table.add_column("take")
    table.add_column("note")
    for take in result["takes"]:
        table.add_row(str(take["n"]), take["note"])
    return table


class ShotLogPlugin:
    """A third party's crew ``shotlog`` and its renderer: by name, and by shape for any crew
    whose result has a reel and takes."""

    @hookimpl
    def register_renderers(self, register: Any) -> None:
        register(Renderer(name="shot-log", description="A reel's takes as a table.",
                          crews=("shotlog",), render=shot_table,
                          matches=lambda result: {"reel", "takes"} <= set(result)))


LOG = {"reel": "A004", "takes": [{"n": 1, "note": "boom in shot"}, {"n": 2, "note": "print"}]}


def test_a_plugins_renderer_draws_its_crews_result_and_results_of_its_shape() -> None:
    job = Job(crews=["shotlog", "copy", "other"], status=JobStatus.succeeded,
              result={"shotlog": LOG, "copy": {**LOG, "reel": "B001"},
                      "other": {"reel": "C9"}})
    out = text_of(job, make_plugins(ShotLogPlugin()))
    assert "Shot log of A004" in out and "boom in shot" in out
    assert '"takes"' not in out[:out.index("─ other ─")]  # drawn, not dumped
    assert "Shot log of B001" in out  # another crew's result of the same shape
    assert '"reel": "C9"' in out  # not its shape: JSON
    # without the plugin the same job is all JSON
    plain = text_of(job)
    assert "Shot log of" not in plain and '"note": "boom in shot"' in plain


def test_the_crews_own_renderer_wins_over_a_shape_match() -> None:
    class Verbose:
        @hookimpl
        def register_renderers(self, register: Any) -> None:
            register(Renderer(name="anything", description="Claims every result.",
                              matches=lambda result: True,
                              render=lambda result: Text("claimed by shape")))

    plugins = make_plugins(Verbose(), ShotLogPlugin())  # the shape matcher registered first
    out = text_of(Job(crews=["shotlog", "x"], status=JobStatus.succeeded,
                      result={"shotlog": LOG, "x": {"a": 1}}), plugins)
    assert "Shot log of A004" in out
    assert out.count("claimed by shape") == 1


class Unprintable:
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        raise ValueError("no such column")
        yield


@pytest.mark.parametrize("when", ["called", "printed"])
def test_a_failing_renderer_falls_back_to_json_with_a_note(when: str) -> None:
    def broken(result: Mapping[str, Any]) -> Any:
        if when == "called":
            raise KeyError("takes")
        return Unprintable()

    class Broken:
        @hookimpl
        def register_renderers(self, register: Any) -> None:
            register(Renderer(name="broken", description="Fails.", crews=("shotlog",),
                              render=broken))

    job = Job(crews=["shotlog"], status=JobStatus.succeeded, result={"shotlog": LOG},
              usage={"offline": ModelUsage(calls=1)})
    out = text_of(job, make_plugins(Broken()))
    error = "KeyError: 'takes'" if when == "called" else "ValueError: no such column"
    assert f"renderer 'broken' of plugin 'Broken-0' failed ({error}); the result as JSON:" \
        in out
    assert '"note": "boom in shot"' in out and "succeeded" in out


def test_a_matcher_that_raises_claims_nothing() -> None:
    class Picky:
        @hookimpl
        def register_renderers(self, register: Any) -> None:
            register(Renderer(name="picky", description="Needs a reel.",
                              matches=lambda result: result["reel"] == "A004",
                              render=lambda result: Text("picked")))

    out = text_of(Job(crews=["x", "y"], status=JobStatus.succeeded,
                      result={"x": {"takes": []}, "y": LOG}), make_plugins(Picky()))
    assert '"takes": []' in out and out.count("picked") == 1


def test_a_renderer_claiming_another_plugins_crew_or_name_is_refused_naming_both() -> None:
    def spec(name: str, crews: tuple[str, ...] = ()) -> Renderer:
        return Renderer(name=name, description="x", crews=crews,
                        render=lambda result: Text(""))

    def plugin(*specs: Renderer) -> Any:
        class P:
            @hookimpl
            def register_renderers(self, register: Any) -> None:
                for s in specs:
                    register(s)
        return P()

    plugins = load(allow=[])
    register_module(plugins, plugin(spec("shot-log", ("shotlog",))), "first")
    with pytest.raises(RegistrationError) as clash:
        register_module(plugins, plugin(spec("shot-log", ("takes",))), "second")
    assert clash.value.message == "renderer 'shot-log' is registered by both 'first' and 'second'"
    with pytest.raises(RegistrationError) as claim:
        register_module(plugins, plugin(spec("mine", ("shotlog", "other"))), "third")
    assert claim.value.message == ("crew 'shotlog' is claimed by renderer 'shot-log' of "
                                   "'first' and renderer 'mine' of 'third'")
    with pytest.raises(RegistrationError, match="claims no result: give it crews="):
        register_module(plugins, plugin(spec("nothing")), "fourth")
    with pytest.raises(RegistrationError, match="crews must be a tuple of crew names"):
        register_module(plugins, plugin(spec("loose", "shotlog")), "fifth")  # type: ignore[arg-type]
    assert {n: e.plugin for n, e in plugins.registry.renderers.items()} == {"shot-log": "first"}
    assert plugins.infos["first"].renderers == ["shot-log"]
    assert "registered by both" in (plugins.infos["second"].error or "")
