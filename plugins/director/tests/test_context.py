"""What the director reads: Payload's project notes, the chained architect output, and scene
descriptions however the graph service returns them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from director_fixtures import (
    PROJECT,
    TITLE,
    FixedArchitect,
    MemoryGraph,
    director_replies,
    graph_plugin,
)

from novelcrew import Tool, hookimpl
from novelcrew_director import ScenePlan
from novelcrew_director.reading import NOTE_CHARS, project_notes
from novelcrew_director.story import parse_scene_description
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job

NOVELCREW = str(Path(sys.executable).parent / "novelcrew")

PROJECT_DOC = {"id": 7, "name": "Lighthouse", "tone": "elegiac", "mood": "storm-dark",
               "targetAudience": "adults", "corePremise": "A keeper refuses to be replaced."}


class PayloadPlugin:
    """``payload_read_project`` answering one document (or failing, like a Payload outage)."""

    def __init__(self, fail: bool = False, configured: bool = True,
                 doc: dict[str, Any] | None = None) -> None:
        self.fail = fail
        self.configured = configured
        self.doc = PROJECT_DOC if doc is None else doc
        self.reads: list[Any] = []

    @hookimpl
    def register_tools(self, register: Any) -> None:
        plugin = self

        class _Read:
            configured = plugin.configured  # what the real tool says about its settings

            async def acall(self, project_id: Any = None) -> dict[str, Any]:
                plugin.reads.append(project_id)
                if plugin.fail:
                    raise ConnectionError("payload is down")
                return plugin.doc

        register(Tool(name="payload_read_project", description="read (test)",
                      factory=lambda ctx: _Read()))


async def test_project_notes_from_payload_reach_the_prompts(
        tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies())
    payload = PayloadPlugin()
    plugins = make_plugins(graph_plugin(graph), payload, entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "director", {"scenes": [1]}, settings=settings,
                           project_id=PROJECT)
    assert job.status == "succeeded", job.error
    assert payload.reads == [PROJECT]
    prompt = llm.calls[0].prompt
    for line in ("Tone: elegiac", "Mood: storm-dark", "Target audience: adults",
                 "Core premise: A keeper refuses to be replaced."):
        assert line in prompt
    assert ScenePlan.model_validate(job.result["director"]).title == "Lighthouse"


async def test_linked_records_reach_the_prompts_by_name_and_never_as_ids(
        tmp_path: Path, graph: MemoryGraph) -> None:
    """Novel Movie links tone, mood and audience to records. A tool that hands them over
    populated, or not (an older payload plugin, a record that did not populate), must not put
    an id in the prompt: "Tone: 3, 7" tells a model nothing and reads as a fact."""
    llm = ScriptedLLM(replies=director_replies())
    payload = PayloadPlugin(doc={
        "id": 7, "name": "Lighthouse", "corePremise": "A keeper refuses to be replaced.",
        "tone": [3, 7], "mood": 4,
        "targetAudience": [{"id": 2, "name": "Adults"}, 9, {"id": 5, "title": "Sailors"}]})
    plugins = make_plugins(graph_plugin(graph), payload, entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "director", {"scenes": [1]}, settings=settings,
                           project_id=PROJECT)
    assert job.status == "succeeded", job.error
    prompt = llm.calls[0].prompt
    assert "Target audience: Adults, Sailors" in prompt
    assert "Tone:" not in prompt and "Mood:" not in prompt


async def test_a_payload_outage_is_a_warning_not_a_failure(
        tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies())
    plugins = make_plugins(graph_plugin(graph), PayloadPlugin(fail=True),
                           entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, events = await run_job(plugins, "director", {"scenes": [2]}, settings=settings,
                                project_id=PROJECT)
    assert job.status == "succeeded", job.error
    assert any(e.type == "warning" and "Payload" in e.message for e in events)


async def test_an_unconfigured_payload_is_not_asked(tmp_path: Path, graph: MemoryGraph) -> None:
    payload = PayloadPlugin(configured=False)
    plugins = make_plugins(graph_plugin(graph), payload, entry_points=["director"],
                           llm=ScriptedLLM(replies=director_replies()))
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, events = await run_job(plugins, "director", {"scenes": [2]}, settings=settings,
                                project_id=PROJECT)
    assert job.status == "succeeded", job.error
    assert payload.reads == [] and not any(e.type == "warning" for e in events)


ARCHITECT_OUTPUT = {
    "title": "Two Rooms",
    "characters": [{"name": "Ada", "role": "protagonist", "description": "A night nurse."}],
    "locations": [{"name": "Ward Six", "atmosphere": "humming fluorescent quiet"}],
    "scenes": [
        {"number": 1, "summary": "Ada finds the ward empty.", "location": "Ward Six",
         "time_of_day": "NIGHT", "characters": ["Ada"], "emotional_beat": "unease",
         "purpose": "setup", "dialogue": ["Hello?"]},
        {"number": 2, "summary": "Ada hears a voice on the intercom.", "location": "Ward Six",
         "time_of_day": "NIGHT", "characters": ["Ada"], "emotional_beat": "fear",
         "purpose": "turn", "dialogue": []},
    ],
}


async def test_a_chain_plans_exactly_the_architects_latest_scenes(
        tmp_path: Path, graph: MemoryGraph) -> None:
    # the graph still holds an earlier 4-scene analysis; the architect just found 2 scenes
    llm = ScriptedLLM(replies=director_replies(
        breakdown=lambda n, p: '{"heading": "INT. WARD SIX - NIGHT", "summary": "s"}',
        shots=lambda n, p: '{"shots": [{"shot_type": "wide", '
                           '"estimated_duration_seconds": 6}]}'))
    plugins = make_plugins(graph_plugin(graph), FixedArchitect(ARCHITECT_OUTPUT),
                           entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "architect,director", {}, settings=settings,
                           project_id=PROJECT)
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.heading for s in plan.scenes] == ["INT. WARD SIX - NIGHT"] * 2
    assert plan.title == "Two Rooms" and plan.totals.shots == 2
    prompts = "\n".join(call.prompt for call in llm.calls)
    assert "Description: A night nurse" in prompts
    assert "Mara" not in prompts and "Gannet" not in prompts  # nothing of the old analysis


def test_scene_descriptions_parse_leniently() -> None:
    merged = ("Scene 4: Mara climbs down.\n**Location:** Gannet Point Rocks\nTIME: night\n"
              "characters: Mara and Tomas\nDialogue: \"Hold it!\" | \"Higher!\"\n"
              "Objects: rope, lantern\nWeather: gale"
              "<SEP>Scene 4: Mara climbs down the rocks.\nCharacters: Mara, Tomas, Crew\n"
              "Emotional beat: resolve")
    facts = parse_scene_description("Scene 4", merged)
    assert facts is not None
    assert facts.number == 4 and facts.summary == "Mara climbs down."
    assert facts.location == "Gannet Point Rocks" and facts.time == "night"
    assert facts.characters == ["Mara", "Tomas", "Crew"]
    assert facts.dialogue == ['"Hold it!"', '"Higher!"']
    assert facts.objects == ["rope", "lantern"]
    assert facts.emotional_beat == "resolve" and facts.extra == {"Weather": "gale"}
    assert parse_scene_description("Mara", "Role: protagonist") is None
    bare = parse_scene_description("scene 12", "A quiet moment by the sea.")
    assert bare is not None and bare.number == 12 and bare.summary.startswith("A quiet")


async def test_a_huge_description_is_clipped_in_the_prompt(
        tmp_path: Path, graph: MemoryGraph) -> None:
    graph.entities[PROJECT]["mara"]["description"] = "Mara keeps the light. " * 400
    llm = ScriptedLLM(replies=director_replies())
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "director", {"scenes": [1]}, settings=settings,
                           project_id=PROJECT)
    assert job.status == "succeeded", job.error
    prompt = llm.calls[0].prompt
    assert 10 <= prompt.count("Mara keeps the light.") <= 45  # MAX_ENTRY_CHARS (900)
    assert len(prompt) < 12_000


async def test_yaml_overrides_retune_an_agent(tmp_path: Path, graph: MemoryGraph,
                                              monkeypatch: Any) -> None:
    folder = tmp_path / "director-config"
    folder.mkdir()
    (folder / "agents.yaml").write_text(
        "cinematography_specialist:\n  backstory: You shoot only on 16mm film stock.\n")
    monkeypatch.setenv("NOVELCREW_DIRECTOR_CONFIG_DIR", str(folder))
    llm = ScriptedLLM(replies=director_replies())
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "director", {"scenes": [1]}, settings=settings,
                           project_id=PROJECT)
    assert job.status == "succeeded", job.error
    camera = llm.calls_for("Cinematography Specialist")[0].prompt
    assert "You shoot only on 16mm film stock." in camera
    assert "Design the shot list" in camera  # keys not overridden keep the shipped text
    assert "16mm" not in llm.calls_for("Scene Analysis Director")[0].prompt


async def test_the_yaml_folder_may_come_from_novelcrew_toml_and_a_bad_value_is_named(
        tmp_path: Path, graph: MemoryGraph) -> None:
    """``[plugin_config.director] config_dir`` is read as every plugin setting is
    (``PluginSettings.of``): honoured by the job, and a bad value fails it naming the key; the
    CLI stops at its start with that one line and exit 2."""
    folder = tmp_path / "director-config"
    folder.mkdir()
    (folder / "agents.yaml").write_text(
        "cinematography_specialist:\n  backstory: You shoot only on 16mm film stock.\n")
    llm = ScriptedLLM(replies=director_replies())
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"], llm=llm)
    good = make_settings(tmp_path / "data", default_model="scripted",
                         plugin_config={"director": {"config_dir": str(folder)}})
    job, _ = await run_job(plugins, "director", {"scenes": [1]}, settings=good,
                           project_id=PROJECT)
    assert job.status == "succeeded", job.error
    assert "16mm" in llm.calls_for("Cinematography Specialist")[0].prompt

    bad = make_settings(tmp_path / "data2", default_model="scripted",
                        plugin_config={"director": {"config_dir": 5}})
    job, _ = await run_job(plugins, "director", {"scenes": [1]}, settings=bad,
                           project_id=PROJECT)
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "settings_error"
    assert "[plugin_config.director] config_dir=5" in job.error.message

    (tmp_path / "novelcrew.toml").write_text("[plugin_config.director]\nconfig_dir = 5\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    out = subprocess.run([NOVELCREW, "run", "director", "--project-id", "p1"], cwd=tmp_path,
                         env={**env, "NOVELCREW_PLUGINS": "director"}, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("novelcrew: error: bad setting [plugin_config.director] config_dir=5")


async def test_alone_on_a_project_the_plan_has_the_title_the_architect_wrote(
        tmp_path: Path, graph: MemoryGraph) -> None:
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"],
                           llm=ScriptedLLM(replies=director_replies()))
    job, _ = await run_job(plugins, "director", {"scenes": [1]}, project_id=PROJECT,
                           settings=make_settings(tmp_path / "data", default_model="scripted"))
    assert job.status == "succeeded", job.error
    assert ScenePlan.model_validate(job.result["director"]).title == TITLE


def test_a_long_style_is_cut_in_the_brief_and_the_premise_is_not() -> None:
    """Every scene's prompt repeats the notes: a style's description is cut (at a word), the
    writer's premise is sent whole, and a link that stayed an id says nothing."""
    premise = "A keeper who has not left her lighthouse in ten years. " * 12
    notes = project_notes({
        "corePremise": premise, "movieFormat": 4, "primaryGenres": [7, "Mystery"],
        "movieStyle": {"name": "Painterly Noir", "description": "ink shadows, " * 60}})
    assert notes["Core premise"] == " ".join(premise.split())
    style = notes["Visual style"]
    assert style.startswith("Painterly Noir: ink shadows, ink") and style.endswith(" ...")
    assert len(style) <= NOTE_CHARS + 4
    assert notes["Genres"] == "Mystery" and "Format" not in notes
