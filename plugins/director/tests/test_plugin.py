"""The plugin as an installed package: listed, registered as documented, light to import."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from novelcrew.introspect import crew_info
from novelcrew_director import DirectorInput
from novelcrew_sdk import make_plugins


def test_plugin_is_listed_with_its_crew() -> None:
    plugins = make_plugins(entry_points=["director"])
    info = plugins.infos["director"]
    assert info.error is None
    assert info.crews == ["director"]
    crew = plugins.registry.crew("director")
    assert crew.tools == ("kg_query", "kg_insert_custom_kg")
    assert crew.optional_tools == ("payload_read_project", "kg_delete_entity")
    assert crew.agents == ("Scene Analysis Director", "Cinematography Specialist")


def test_crew_schemas_describe_inputs_and_plan() -> None:
    plugins = make_plugins(entry_points=["director"])
    info = crew_info(plugins, "director", schemas=True)
    text = str(info)
    for field in ("scenes", "preferences", "constraints", "budget_level", "shots", "totals",
                  "failed_scenes", "estimated_duration_seconds"):
        assert field in text


def test_entry_point_module_does_not_import_crewai() -> None:
    code = ("import sys, novelcrew_director.plugin; "
            "print('crewai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_scene_selection_accepts_numbers_and_ranges() -> None:
    inputs = DirectorInput.model_validate({"project_id": "p", "scenes": "1-3,5"})
    assert inputs.scenes == [1, 2, 3, 5]
    inputs = DirectorInput.model_validate({"project_id": "p", "scenes": [7, "2-3", "3"]})
    assert inputs.scenes == [2, 3, 7]
    assert DirectorInput.model_validate({"project_id": 12}).project_id == "12"


@pytest.mark.parametrize(("scenes", "message"), [
    ("3-1", "runs backwards"),
    ("one", "not a number or a range"),
    ([0], "out of range"),
    ("", "scenes is empty"),
])
def test_bad_scene_selection_is_rejected_clearly(scenes: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DirectorInput.model_validate({"project_id": "p", "scenes": scenes})


def test_constraints_and_project_are_validated() -> None:
    inputs = DirectorInput.model_validate({
        "project_id": "p", "story_text": "ignored in a chain",
        "preferences": {"style": "naturalistic", "visual_references": "Ida, Aftersun",
                        "genre": "drama"},
        "constraints": {"budget_level": "Low", "shooting_days": 3,
                        "locations_available": "kitchen, jetty"},
    })
    assert inputs.constraints.budget_level == "low"
    assert inputs.constraints.locations_available == ["kitchen", "jetty"]
    assert inputs.preferences.visual_references == ["Ida", "Aftersun"]
    assert "Genre: drama" in inputs.preferences.lines()
    with pytest.raises(ValueError, match="budget_level"):
        DirectorInput.model_validate({"project_id": "p", "constraints": {"budget_level": "huge"}})
    with pytest.raises(ValueError, match="project_id is required"):
        DirectorInput.model_validate({})
    chained = DirectorInput.model_validate({"previous": {"architect": {"scenes": []}}})
    assert chained.project_id is None


def test_a_payload_integer_project_id_is_kept_as_its_string_and_a_blank_one_as_none() -> None:
    assert DirectorInput.model_validate({"project_id": 42}).project_id == "42"
    with pytest.raises(ValueError, match="project_id is required"):
        DirectorInput.model_validate({"project_id": "  "})
    with pytest.raises(ValueError, match="project_id"):  # a boolean is not an id
        DirectorInput.model_validate({"project_id": True})


def test_public_names_are_exactly_the_models() -> None:
    import novelcrew_director

    assert sorted(novelcrew_director.__all__) == [
        "Constraints", "DirectorInput", "FailedScene", "ModelInfo", "PlanWarning",
        "PlannedScene", "Preferences", "ScenePlan", "Shot", "Totals"]
    for name in novelcrew_director.__all__:
        assert getattr(novelcrew_director, name).__module__.startswith("novelcrew_director.")


async def test_a_config_the_director_cannot_run_with_fails_a_job_run_unsubmitted(
        tmp_path: Any) -> None:
    """A job run straight from Python (never submitted) is checked when the director
    starts: failed as ``invalid_input`` naming the field, before any model is asked."""
    from director_fixtures import MemoryGraph, graph_plugin

    from novelcrew_sdk import make_settings
    from novelcrew_sdk.scripted import ScriptedLLM
    from novelcrew_sdk.testing import run_job

    llm = ScriptedLLM()
    plugins = make_plugins(graph_plugin(MemoryGraph()), entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "director", {}, settings=settings, project_id="p",
                           config={"tasks": {"shot_list": {"max_tokens": 100}}})
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "invalid_input"
    assert "config.tasks.shot_list.max_tokens" in job.error.message
    assert job.error.details["errors"][0]["loc"] == ["config", "tasks", "shot_list",
                                                     "max_tokens"]
    assert llm.calls == []


async def test_a_config_the_director_cannot_run_with_is_refused_at_submission(
        tmp_path: Any) -> None:
    """``config.max_tokens`` below 256 or a task's temperature out of 0-2 is 422 naming the
    field when the job is submitted, not 202 and a job that fails once the director starts."""
    from director_fixtures import MemoryGraph, graph_plugin

    from novelcrew_sdk import make_settings
    from novelcrew_sdk.pytest_plugin import app_client
    from novelcrew_sdk.scripted import ScriptedLLM

    plugins = make_plugins(graph_plugin(MemoryGraph()), entry_points=["director"],
                           llm=ScriptedLLM())
    settings = make_settings(tmp_path / "data", default_model="scripted")
    async with app_client(plugins, settings) as client:
        for config, field in [({"max_tokens": 255}, "config.max_tokens"),
                              ({"tasks": {"shot_list": {"max_tokens": "many"}}},
                               "config.tasks.shot_list.max_tokens"),
                              ({"tasks": {"scene_breakdown": {"temperature": -1}}},
                               "config.tasks.scene_breakdown.temperature")]:
            r = await client.post("/jobs", json={"crews": ["director"], "project_id": "p",
                                                 "config": config})
            assert r.status_code == 422, (config, r.text)
            error = r.json()["error"]
            # core's check (a number of the wrong type) or the director's (its bounds)
            assert error["message"].startswith("invalid config"), error
            assert f": {field}:" in error["message"]
            assert [".".join(e["loc"]) for e in error["details"]["errors"]] == [field]
        assert (await client.get("/jobs")).json()["count"] == 0
        r = await client.post("/jobs", json={"crews": ["director"], "project_id": "p",
                                             "config": {"max_tokens": 256, "tasks": {
                                                 "shot_list": {"temperature": 1}}}})
        assert r.status_code == 202, r.text
        # whole numbers written as floats, as core takes config.max_tokens
        r = await client.post("/jobs", json={"crews": ["director"], "project_id": "p",
                                             "config": {"max_tokens": 4000.0, "tasks": {
                                                 "shot_list": {"max_tokens": 4000.0}}}})
        assert r.status_code == 202, r.text
