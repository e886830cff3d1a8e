"""The story pipeline over HTTP: architect -> director in one job on the inline backend.

Real pieces throughout: the FastAPI app with its inline backend, the architect, director and
pathrag plugins (embedded graph under the test's data dir); only the model is scripted, except
in the last test, which runs the real ``offline`` model on a story from ``examples/stories``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pipeline_fixtures import STORY, TITLE, parse_sse, replies

from novelcrew.context import ToolContext
from novelcrew_director import ScenePlan
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings
from novelcrew_sdk.pytest_plugin import app_client

CREWS = ["architect", "pathrag", "director"]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stories"


def setup(tmp_path: Path, model: str = "scripted") -> tuple[Any, Any, ScriptedLLM | None]:
    llm = ScriptedLLM(replies=replies()) if model == "scripted" else None
    plugins = make_plugins(entry_points=CREWS, llm=llm)
    settings = make_settings(tmp_path / "data", default_model=model)
    return plugins, settings, llm


async def graph_query(plugins: Any, settings: Any, project: str, query: str,
                      types: list[str]) -> dict[str, Any]:
    tool = plugins.registry.tools["kg_query"].spec.factory(
        ToolContext(settings=settings, project_id=project))
    result = await tool.acall(query=query, top_k=50, entity_types=types)
    return result.model_dump() if hasattr(result, "model_dump") else result


async def test_crews_execute_runs_the_chain_and_streams_both_crews(tmp_path: Path) -> None:
    plugins, settings, llm = setup(tmp_path)
    async with app_client(plugins, settings) as client:
        r = await client.post("/crews/execute", json={
            "crew_type": "architect,director", "project_id": "nm-ferry", "user_id": "u1",
            "input_data": {"story_text": STORY, "preferences": {"tone": "tense"},
                           "constraints": {"budget_level": "low"}},
        })
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["success"] is True
        job_id = body["job_id"]
        r = await client.get(f"/jobs/{job_id}/events")  # the stream ends with the job
        assert r.status_code == 200
        events = parse_sse(r.text)
        status = (await client.get(f"/crews/status/{job_id}")).json()
        # later, the director alone re-plans a scene from the graph the chain left behind
        calls_before = len(llm.calls)
        r = await client.post("/jobs", json={"crews": ["director"], "project_id": "nm-ferry",
                                             "inputs": {"scenes": [2]}})
        replan_id = r.json()["id"]
        replan_events = parse_sse((await client.get(f"/jobs/{replan_id}/events")).text)
        replan = (await client.get(f"/jobs/{replan_id}")).json()

    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["event"] == "succeeded"
    assert [e["data"]["crew"] for e in events if e["event"] == "crew_started"] == [
        "architect", "director"]
    crews_with_tasks = {e["data"]["crew"] for e in events if e["event"] == "task_finished"}
    assert crews_with_tasks == {"architect", "director"}
    director_tasks = [e["data"]["message"] for e in events
                      if e["event"] == "task_started" and e["data"]["crew"] == "director"]
    assert {"Scene 1: breakdown", "Scene 3: shot list"} <= set(director_tasks)

    assert status["status"] == "completed", status
    assert set(status["result"]) == {"architect", "director"}
    assert status["result"]["architect"]["title"] == TITLE
    plan = ScenePlan.model_validate(status["result"]["director"])
    assert [s.number for s in plan.scenes] == [1, 2, 3]
    assert [s.heading for s in plan.scenes] == [
        "EXT. KESSEL PIER - NIGHT", "INT. FERRY WHEELHOUSE - NIGHT",
        "EXT. MARROW POINT JETTY - DAWN"]
    assert plan.totals.shots == 5 and plan.totals.estimated_screen_time_seconds == 23
    assert plan.title == TITLE
    # the director read what the architect wrote: characters' descriptions reached its prompts
    director_prompts = [c.prompt for c in llm.calls if c.role == "Scene Analysis Director"]
    assert all("Captain of the last ferry" in p for p in director_prompts)
    # and wrote its shots back to the same project's graph
    shots = await graph_query(plugins, settings, "nm-ferry", "Scene 1 Shot", ["shot"])
    assert {"Scene 1 Shot 1", "Scene 1 Shot 2"} <= {e["name"] for e in shots["entities"]}

    assert replan_events[-1]["event"] == "succeeded", replan_events[-1]["data"]
    assert [s["heading"] for s in replan["result"]["director"]["scenes"]] == [
        "INT. FERRY WHEELHOUSE - NIGHT"]
    replan_prompt = next(c.prompt for c in llm.calls[calls_before:]
                         if c.role == "Scene Analysis Director")
    assert "Captain of the last ferry" in replan_prompt and "Shots: " not in replan_prompt


async def test_jobs_api_runs_the_chain_with_a_scene_selection(tmp_path: Path) -> None:
    plugins, settings, _ = setup(tmp_path)
    async with app_client(plugins, settings) as client:
        r = await client.post("/jobs", json={
            "crews": ["architect", "director"], "project_id": "nm-ferry-2",
            "inputs": {"story_text": STORY, "scenes": "2-3"},
        })
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        events = parse_sse((await client.get(f"/jobs/{job_id}/events")).text)
        job = (await client.get(f"/jobs/{job_id}")).json()
        # a chain needs no project id (the graph then lives in the default scope)
        r = await client.post("/jobs", json={"crews": ["architect", "director"],
                                             "inputs": {"story_text": STORY, "scenes": [1]}})
        assert r.status_code == 202, r.text
        unscoped = parse_sse((await client.get(f"/jobs/{r.json()['id']}/events")).text)
        described = (await client.get("/crews/director")).json()
        # the director alone does need one
        lone = await client.post("/jobs", json={"crews": ["director"], "inputs": {}})
        # a scene the story lacks is refused at once, before anything runs
        bad = await client.post("/jobs", json={"crews": ["director"], "project_id": "nm-x",
                                               "inputs": {"scenes": "3-1"}})
    assert bad.status_code == 422 and "backwards" in bad.text
    assert lone.status_code == 422 and "project_id is required" in lone.text
    assert described["tools"] == ["kg_query", "kg_insert_custom_kg"]
    assert "scenes" in str(described["input_schema"]) and "1-3,5" in str(described)
    assert "failed_scenes" in str(described["output_schema"])
    assert unscoped[-1]["event"] == "succeeded", unscoped[-1]["data"]
    assert events[-1]["event"] == "succeeded", events[-1]
    assert job["status"] == "succeeded"
    assert set(job["result"]) == {"architect", "director"}
    assert len(job["result"]["architect"]["scenes"]) == 3
    plan = ScenePlan.model_validate(job["result"]["director"])
    assert [s.number for s in plan.scenes] == [2, 3]
    assert job["progress"]["completed_tasks"] == job["progress"]["total_tasks"]


STORIES = sorted(p.name for p in EXAMPLES.glob("*")
                 if p.suffix in (".txt", ".md") and p.stem.lower() != "readme")


def test_there_are_example_stories() -> None:
    assert STORIES, f"expected example stories in {EXAMPLES}"


@pytest.mark.parametrize("name", STORIES)
async def test_offline_model_plans_an_example_story_end_to_end(tmp_path: Path,
                                                               name: str) -> None:
    story = (EXAMPLES / name).read_text(encoding="utf-8")
    plugins, settings, _ = setup(tmp_path, model="offline")
    async with app_client(plugins, settings) as client:
        r = await client.post("/crews/execute", json={
            "crew_type": "architect,director", "project_id": "nm-offline",
            "input_data": {"story_text": story}})
        assert r.status_code == 200, r.text
        job_id = r.json()["job_id"]
        events = parse_sse((await client.get(f"/jobs/{job_id}/events")).text)
        status = (await client.get(f"/crews/status/{job_id}")).json()
    assert events[-1]["event"] == "succeeded", events[-1]["data"]
    analysis = status["result"]["architect"]
    plan = ScenePlan.model_validate(status["result"]["director"])
    assert plan.model.offline is True and plan.model.note
    assert plan.scenes and not plan.failed_scenes
    scene_locations = {s["number"]: s["location"] for s in analysis["scenes"]}
    for scene in plan.scenes:
        location = scene_locations[scene.number]
        assert (scene.location or "") == location
        if location:  # the heading is set where the story graph says the scene happens
            assert location.upper() in scene.heading
        assert scene.heading.split(" ", 1)[0] in ("INT.", "EXT.", "INT./EXT.")
    assert plan.totals.shots == sum(len(s.shots) for s in plan.scenes)

