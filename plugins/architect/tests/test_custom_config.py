"""Edited copies of the crew's YAML, picked up from NOVELCREW_ARCHITECT_CONFIG_DIR."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from architect_fixtures import STORY, SYNTHESIS_REPLY, RecordingGraph, chapter_reply

from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM


def packaged(name: str) -> dict[str, Any]:
    text = resources.files("novelcrew_architect").joinpath("config", name).read_text("utf-8")
    return yaml.safe_load(text)


async def run(tmp_path: Path, llm: ScriptedLLM) -> Any:
    plugins = make_plugins(RecordingGraph().plugin(), entry_points=["architect"], llm=llm)
    job, _ = await run_job(plugins, "architect", {"story_text": STORY},
                           settings=make_settings(tmp_path / "d", default_model="scripted"))
    return job


async def test_edited_agents_yaml_changes_roles_and_prompts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = packaged("agents.yaml")
    agents["story_structure_analyst"]["role"] = "Plot Cartographer"
    agents["story_structure_analyst"]["backstory"] = "You map plots for a small film studio."
    (tmp_path / "agents.yaml").write_text(yaml.safe_dump(agents), "utf-8")
    monkeypatch.setenv("NOVELCREW_ARCHITECT_CONFIG_DIR", str(tmp_path))

    llm = ScriptedLLM(replies={"Plot Cartographer": chapter_reply,
                               "Knowledge Graph Architect": json.dumps(SYNTHESIS_REPLY)})
    job = await run(tmp_path, llm)
    assert job.status == "succeeded", job.error
    calls = llm.calls_for("Plot Cartographer")
    assert len(calls) == 1
    assert "You map plots for a small film studio." in calls[0].prompt
    assert len(job.result["architect"]["scenes"]) == 6


async def test_a_broken_tasks_yaml_fails_the_job_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = packaged("tasks.yaml")
    tasks["analyse_chunk"]["description"] = "Analyse the story."  # lost {chunk_text}
    (tmp_path / "tasks.yaml").write_text(yaml.safe_dump(tasks), "utf-8")
    monkeypatch.setenv("NOVELCREW_ARCHITECT_CONFIG_DIR", str(tmp_path))

    job = await run(tmp_path, ScriptedLLM())
    assert job.status == "failed"
    assert str(tmp_path / "tasks.yaml") in job.error.message
    assert "{chunk_text}" in job.error.message
