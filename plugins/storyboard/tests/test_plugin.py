"""The plugin as an installed package: listed, its contract, its API, light to import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from storyboard_fixtures import previous, replies

from novelcrew_sdk import check_plugin, make_plugins, make_settings, run_job
from novelcrew_sdk.pytest_plugin import app_client
from novelcrew_sdk.scripted import ScriptedLLM


def test_plugin_is_listed_with_its_crew() -> None:
    plugins = make_plugins(entry_points=["storyboard"])
    info = plugins.infos["storyboard"]
    assert info.error is None and info.crews == ["storyboard"]
    crew = plugins.registry.crew("storyboard")
    assert crew.tools == ()
    assert crew.optional_tools == ("kg_query", "kg_insert_custom_kg", "kg_delete_entity",
                                   "payload_read_project")
    assert crew.agents == ("Visual Development Artist", "Storyboard Artist")


def test_storyboard_passes_the_plugin_contract(tmp_path: Path) -> None:
    report = check_plugin("storyboard", entry_points_for_tools=("pathrag",), data_dir=tmp_path)
    assert report.hooks == ["register_crews", "register_renderers"]
    assert report.crews == {"storyboard": "succeeded"}
    scripted = check_plugin("storyboard", llm=ScriptedLLM(replies=replies()),
                            entry_points_for_tools=(), data_dir=tmp_path / "scripted")
    assert scripted.crews == {"storyboard": "succeeded"}


async def test_settings_are_known_and_a_bad_value_names_its_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from novelcrew.settings import check_environment

    plugins = make_plugins(entry_points=["storyboard"])
    assert check_environment({"NOVELCREW_STORYBOARD_CLIP_SECONDS": "4"}) == []
    (typo,) = check_environment({"NOVELCREW_STORYBOARD_CLIP_SECOND": "4"})
    assert "did you mean NOVELCREW_STORYBOARD_CLIP_SECONDS" in typo
    monkeypatch.setenv("NOVELCREW_STORYBOARD_CLIP_SECONDS", "soon")
    job, _ = await run_job(plugins, "storyboard", {"previous": previous()},
                           settings=make_settings(tmp_path / "d"))
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "settings_error"
    assert "NOVELCREW_STORYBOARD_CLIP_SECONDS='soon'" in job.error.message


def test_entry_point_module_does_not_import_crewai() -> None:
    code = "import sys, novelcrew_storyboard.plugin; print('crewai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_public_names_are_exactly_the_models() -> None:
    import novelcrew_storyboard

    assert sorted(novelcrew_storyboard.__all__) == [
        "CharacterLook", "Clip", "LocationLook", "Storyboard", "StoryboardInput",
        "StoryboardScene", "StoryboardShot", "StoryboardWarning", "StyleGuide", "StyleHints",
        "Trait", "VisualBible"]
    for name in novelcrew_storyboard.__all__:
        assert getattr(novelcrew_storyboard, name).__module__.startswith("novelcrew_storyboard.")


def test_a_payload_integer_project_id_is_kept_as_its_string_and_a_blank_one_as_none() -> None:
    from novelcrew_storyboard import StoryboardInput

    assert StoryboardInput.model_validate({"project_id": 42}).project_id == "42"
    with pytest.raises(ValueError, match="project_id is required"):
        StoryboardInput.model_validate({"project_id": "  "})
    with pytest.raises(ValueError, match="project_id"):  # a boolean is not an id
        StoryboardInput.model_validate({"project_id": True})


async def test_over_http_listed_described_and_the_result_under_storyboard(
        tmp_path: Path) -> None:
    llm = ScriptedLLM(replies=replies())
    plugins = make_plugins(entry_points=["storyboard"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    async with app_client(plugins, settings) as client:
        rows = {row["name"]: row for row in (await client.get("/plugins")).json()}
        assert rows["storyboard"]["crews"] == ["storyboard"]
        assert "storyboard" in {c["name"] for c in (await client.get("/crews")).json()}
        detail = (await client.get("/crews/storyboard")).json()
        assert {"clip_seconds", "aspect_ratio", "style", "previous"} <= set(
            detail["input_schema"]["properties"])
        assert {"bible", "scenes", "offline", "ready_for_media_generation"} <= set(
            detail["output_schema"]["properties"])
        # what the media-generation step wires, each field said in the schema it reads
        defs = detail["output_schema"]["$defs"]
        for model in ("StoryboardShot", "Clip", "StoryboardWarning"):
            bare = [name for name, field in defs[model]["properties"].items()
                    if name not in ("id", "scene_id", "scene_number", "number")
                    and not field.get("description")]
            assert bare == [], f"{model} fields without a description: {bare}"
        assert "continues_from" in defs["Clip"]["properties"]
        # the warnings as data: which kinds there are, said in the schema
        props = detail["output_schema"]["properties"]
        assert props["warning_details"]["items"] == {"$ref": "#/$defs/StoryboardWarning"}
        assert props["warning_details"]["description"] and props["warnings"]["description"]
        kinds = ["not_in_frame", "time_of_day_clash", "no_usable_answer", "graph_read_failed",
                 "graph_write_failed", "payload_read_failed"]
        assert defs["StoryboardWarning"]["properties"]["kind"]["enum"] == kinds
        assert defs["StoryboardShot"]["properties"]["warning_kinds"]["items"]["enum"] == kinds
        assert "duration_seconds" in defs["StoryboardScene"]["properties"]

        bad = await client.post("/jobs", json={"crews": ["storyboard"],
                                               "inputs": {"aspect_ratio": "5:7",
                                                          "previous": previous()}})
        assert bad.status_code == 422, bad.text
        # no video model makes a clip under a second: 0.01 s once made 27,010 clips, 18 MB
        for clip in (0.01, 0.5, 121):
            bad = await client.post("/jobs", json={"crews": ["storyboard"],
                                                   "inputs": {"clip_seconds": clip,
                                                              "previous": previous()}})
            assert bad.status_code == 422, bad.text
            assert "clip_seconds" in bad.json()["error"]["message"]
        assert (await client.get("/jobs")).json()["data"] == []  # nothing was queued

        answer = await client.post("/jobs", json={"crews": ["storyboard"], "project_id": "p-9",
                                                  "inputs": {"previous": previous()}})
        assert answer.status_code in (200, 201, 202), answer.text
        job_id = answer.json()["id"]
        for _ in range(600):
            job = (await client.get(f"/jobs/{job_id}")).json()
            if job["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.05)
        assert job["status"] == "succeeded", job
        board = job["result"]["storyboard"]
        assert board["ready_for_media_generation"] is True and board["offline"] is False
        assert board["totals"]["shots"] == 4
