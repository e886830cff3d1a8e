"""Edited copies of the crew's YAML, picked up from NOVELCREW_ARCHITECT_CONFIG_DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from architect_fixtures import STORY, SYNTHESIS_REPLY, RecordingGraph, chapter_reply

from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM

NOVELCREW = str(Path(sys.executable).parent / "novelcrew")


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


async def test_the_folder_may_come_from_novelcrew_toml_and_a_bad_value_is_named(
    tmp_path: Path
) -> None:
    """``[plugin_config.architect] config_dir`` is read as every plugin setting is
    (``PluginSettings.of``): honoured by the job, and a bad value fails it naming the key; the
    CLI stops at its start with that one line and exit 2."""
    agents = packaged("agents.yaml")
    agents["story_structure_analyst"]["role"] = "Plot Cartographer"
    (tmp_path / "agents.yaml").write_text(yaml.safe_dump(agents), "utf-8")
    llm = ScriptedLLM(replies={"Plot Cartographer": chapter_reply,
                               "Knowledge Graph Architect": json.dumps(SYNTHESIS_REPLY)})
    plugins = make_plugins(RecordingGraph().plugin(), entry_points=["architect"], llm=llm)
    good = make_settings(tmp_path / "d", default_model="scripted",
                         plugin_config={"architect": {"config_dir": str(tmp_path)}})
    job, _ = await run_job(plugins, "architect", {"story_text": STORY}, settings=good)
    assert job.status == "succeeded", job.error
    assert len(llm.calls_for("Plot Cartographer")) == 1

    bad = make_settings(tmp_path / "d2", default_model="scripted",
                        plugin_config={"architect": {"config_dir": 5}})
    job, _ = await run_job(plugins, "architect", {"story_text": STORY}, settings=bad)
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "settings_error"
    assert "[plugin_config.architect] config_dir=5" in job.error.message

    (tmp_path / "novelcrew.toml").write_text("[plugin_config.architect]\nconfig_dir = 5\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOVELCREW_")}
    out = subprocess.run([NOVELCREW, "run", "architect", "--story", "-", "--project-id", "p1"],
                         cwd=tmp_path, env={**env, "NOVELCREW_PLUGINS": "architect"}, input=STORY,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("novelcrew: error: bad setting [plugin_config.architect] config_dir=5")
