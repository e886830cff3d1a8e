"""Novel Movie's calls against the real app: the crew's schemas, and a story run to the end."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from architect_fixtures import (
    ANALYST,
    ARCHITECT,
    STORY,
    SYNTHESIS_REPLY,
    RecordingGraph,
    chapter_reply,
)

from novelcrew_sdk import make_plugins, make_settings
from novelcrew_sdk.pytest_plugin import app_client
from novelcrew_sdk.scripted import ScriptedLLM


async def test_novel_movie_execute_and_status(tmp_path: Any, graph: RecordingGraph) -> None:
    llm = ScriptedLLM(replies={ANALYST: chapter_reply, ARCHITECT: json.dumps(SYNTHESIS_REPLY)})
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    async with app_client(plugins, settings) as client:
        detail = (await client.get("/crews/architect")).json()
        assert detail["name"] == "architect"
        assert "story_text" in detail["input_schema"]["properties"]
        assert {"characters", "scenes", "statistics", "model"} <= set(
            detail["output_schema"]["properties"])

        answer = await client.post("/crews/execute", json={
            "crew_type": "architect", "project_id": "nm-42", "user_id": "u-1",
            "input_data": {"story_text": STORY, "preferences": {"tone": "austere"}},
        })
        assert answer.status_code == 200, answer.text  # the original server's status
        job_id = answer.json()["job_id"]
        for _ in range(600):
            status = (await client.get(f"/crews/status/{job_id}")).json()
            if status["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.1)
        assert status["status"] == "completed", status
        result = status["result"]  # one crew: its output itself
        assert result["title"] == "The Salt Ledger"
        assert [s["number"] for s in result["scenes"]] == [1, 2, 3, 4, 5, 6]
        assert graph.projects == ["nm-42"]


async def test_a_job_with_no_story_to_read_is_refused_at_submission(
        tmp_path: Any, graph: RecordingGraph) -> None:
    """A blank ``story_text``, or neither text nor a project to read it from, is 422 when the
    job is submitted (on both APIs) rather than 200/202 and a job that fails once it runs."""
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=ScriptedLLM())
    settings = make_settings(tmp_path / "data", default_model="scripted")
    async with app_client(plugins, settings) as client:
        for inputs, kind in [({"story_text": ""}, "story_empty"),
                             ({"story_text": " \n\t "}, "story_empty"),
                             ({}, "story_missing"), ({"title": "Nothing"}, "story_missing")]:
            r = await client.post("/jobs", json={"crews": ["architect"],
                                                 "inputs": inputs})
            assert r.status_code == 422, (inputs, r.text)
            error = r.json()["error"]
            assert error["type"] == "invalid_input"
            assert [e["type"] for e in error["details"]["errors"]] == [kind]
            r = await client.post("/crews/execute", json={"crew_type": "architect",
                                                          "input_data": inputs})
            assert r.status_code == 422, (inputs, r.text)
            body = r.json()
            assert body["success"] is False and "story_text" in body["error"]
            assert not body["error"].startswith(": ") and ": : " not in body["error"]
        # a project id alone is fine: its story is read from Payload when the job runs
        r = await client.post("/jobs", json={"crews": ["architect"], "project_id": 12,
                                             "inputs": {}})
        assert r.status_code == 202, r.text
        assert (await client.get("/jobs")).json()["count"] == 1


async def test_a_config_the_architect_cannot_run_with_is_refused_at_submission(
        tmp_path: Any, graph: RecordingGraph) -> None:
    """``config.max_tokens`` below 256 (and the other options the architect reads, out of
    range) is 422 naming the field when the job is submitted, on both APIs, rather than
    202 and a job that fails once the crew starts."""
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=ScriptedLLM())
    settings = make_settings(tmp_path / "data", default_model="scripted")
    story = {"story_text": STORY}
    async with app_client(plugins, settings) as client:
        for config, field in [({"max_tokens": 100}, "config.max_tokens"),
                              ({"tasks": {"synthesise_story": {"max_tokens": 10}}},
                               "config.tasks.synthesise_story.max_tokens"),
                              ({"tasks": {"analyse_chunk": {"temperature": 3}}},
                               "config.tasks.analyse_chunk.temperature"),
                              ({"keep_graph_versions": -1}, "config.keep_graph_versions"),
                              ({"chunk_tokens": "small"}, "config.chunk_tokens")]:
            r = await client.post("/jobs", json={"crews": ["architect"], "inputs": story,
                                                 "config": config})
            assert r.status_code == 422, (config, r.text)
            error = r.json()["error"]
            assert error["type"] == "invalid_input"
            # the architect's bounds, or core's where a value is no temperature at all
            assert error["message"].startswith("invalid config"), error
            assert f": {field}:" in error["message"]
            assert [".".join(map(str, e["loc"])) for e in error["details"]["errors"]] == [field]
        r = await client.post("/crews/execute", json={"crew_type": "architect",
                                                      "input_data": story,
                                                      "config": {"max_tokens": 100}})
        assert r.status_code == 422, r.text
        assert "config.max_tokens" in r.json()["error"]
        # core's problems and the architect's in one answer, each named once, so a client
        # fixes them in one round (core's check used to stop before the crew's ran)
        r = await client.post("/jobs", json={"crews": ["architect"], "inputs": story,
                                             "config": {"temperature": 5, "chunk_tokens": "small",
                                                        "keep_graph_versions": -1,
                                                        "max_tokens": 100}})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        by_loc = {".".join(map(str, e["loc"])): e for e in error["details"]["errors"]}
        assert sorted(by_loc) == ["config.chunk_tokens", "config.keep_graph_versions",
                                  "config.max_tokens", "config.temperature"]
        assert "crew" not in by_loc["config.temperature"]  # core's own (the crew's too: once)
        assert {by_loc[k]["crew"] for k in by_loc if k != "config.temperature"} == {"architect"}
        assert error["details"]["crew"] == "architect"
        assert error["details"]["config"] == "temperature"
        assert (await client.get("/jobs")).json()["count"] == 0  # nothing queued to fail
        # the floor itself, and keys the architect does not read, are fine
        r = await client.post("/jobs", json={"crews": ["architect"], "inputs": story, "config": {
            "max_tokens": 256, "keep_graph_versions": 0, "tasks": {"plan_scene": {"x": 1}}}})
        assert r.status_code == 202, r.text
        # and a client can read what the architect takes
        detail = (await client.get("/crews/architect")).json()
        assert detail["config_schema"]["properties"]["max_tokens"]["anyOf"][0]["minimum"] == 256


async def test_the_architect_takes_whole_numbers_as_core_does(
        tmp_path: Any, graph: RecordingGraph) -> None:
    """Core takes ``config.max_tokens: 4000.0`` (a whole number; JSON has only numbers) and
    refuses ``"4000"``, ``4000.5`` and ``true`` on ``POST /jobs``; the architect's options
    (``max_tokens`` at the top and per task, ``chunk_tokens``, ``keep_graph_versions``) now
    take and refuse the same, 422 naming the field. ``POST /crews/execute`` coerces its
    ``config.max_tokens`` as the original server's pydantic model did ("4000" is 4000)."""
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=ScriptedLLM())
    settings = make_settings(tmp_path / "data", default_model="scripted")
    story = {"story_text": STORY}
    async with app_client(plugins, settings) as client:
        for config in ({"max_tokens": 4000.0}, {"chunk_tokens": 150.0},
                       {"keep_graph_versions": 2.0},
                       {"tasks": {"analyse_chunk": {"max_tokens": 4000.0}}}):
            r = await client.post("/jobs", json={"crews": ["architect"], "inputs": story,
                                                 "config": config})
            assert r.status_code == 202, (config, r.text)
        for config, field in [({"max_tokens": "4000"}, "config.max_tokens"),
                              ({"max_tokens": 4000.5}, "config.max_tokens"),
                              ({"max_tokens": True}, "config.max_tokens"),
                              ({"chunk_tokens": "150"}, "config.chunk_tokens"),
                              ({"keep_graph_versions": 0.5}, "config.keep_graph_versions"),
                              ({"tasks": {"analyse_chunk": {"max_tokens": "4000"}}},
                               "config.tasks.analyse_chunk.max_tokens"),
                              ({"tasks": {"analyse_chunk": {"max_tokens": 4000.5}}},
                               "config.tasks.analyse_chunk.max_tokens")]:
            r = await client.post("/jobs", json={"crews": ["architect"], "inputs": story,
                                                 "config": config})
            assert r.status_code == 422, (config, r.text)
            assert r.json()["error"]["message"].find(field) >= 0, (config, r.text)
        for value in ("4000", 4000.0):
            r = await client.post("/crews/execute", json={"crew_type": "architect",
                                                          "input_data": story,
                                                          "config": {"max_tokens": value}})
            assert r.status_code == 200, (value, r.text)
            job = (await client.get(f"/jobs/{r.json()['job_id']}")).json()
            assert job["config"]["max_tokens"] == 4000
