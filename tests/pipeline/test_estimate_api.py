"""``POST /jobs`` with ``dry_run`` and ``novelcrew estimate``: an estimate before any spend.

Real architect, director, storyboard and pathrag (embedded graph) plugins over the app's inline
backend; the model is an ``openai/...`` id on the local OpenAI-compatible server, which must see
no request from a dry run. A dry run creates no job and writes no graph.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from estimate_fixtures import reply
from typer.testing import CliRunner

from novelcrew.cli import app
from novelcrew.context import ToolContext
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.openai_server import OpenAIServer
from novelcrew_sdk.pytest_plugin import app_client

STORY = Path(__file__).resolve().parents[2] / "examples" / "stories" / \
    "the-lantern-fair-at-oxley-marsh.txt"
PLUGINS = ["architect", "pathrag", "director", "storyboard"]
CHAIN = ["architect", "director", "storyboard"]


async def graph(plugins: Any, settings: Any, project: str) -> list[Any]:
    tool = plugins.registry.tools["kg_query"].spec.factory(
        ToolContext(settings=settings, project_id=project))
    result = await tool.acall(query="story", top_k=200)
    data = result.model_dump() if hasattr(result, "model_dump") else result
    return list(data.get("entities") or [])


async def test_a_dry_run_answers_the_estimate_and_creates_nothing(tmp_path: Path) -> None:
    plugins = make_plugins(entry_points=PLUGINS)
    with OpenAIServer(default=reply) as server:
        settings = make_settings(tmp_path / "data", default_model="openai/story",
                                 openai_base_url=server.url, openai_api_key="sk-test")
        async with app_client(plugins, settings) as client:
            r = await client.post("/jobs", json={
                "crews": CHAIN, "project_id": "dry", "dry_run": True,
                "inputs": {"story_text": STORY.read_text(encoding="utf-8")},
                "config": {"prices": {"openai/story": [2.0, 10.0]}},
                "webhook_url": "https://example.com/hook",
            })
            assert r.status_code == 200, r.text
            estimate = r.json()
            listed = (await client.get("/jobs")).json()
        assert server.calls == []  # no model was asked anything
        assert listed["count"] == 0  # no job was created
        assert await graph(plugins, settings, "dry") == []  # nor a graph written

        # the same job for real spends what the estimate said, within a quarter
        job, _ = await run_job(plugins, CHAIN, {"story_text": STORY.read_text(encoding="utf-8")},
                               settings=settings, project_id="dry")
        assert job.status == "succeeded", job.error
        assert await graph(plugins, settings, "dry") != []  # a real run does write it

    assert estimate["dry_run"] is True and estimate["crews"] == CHAIN
    model = estimate["models"]["openai/story"]
    real = job.usage["openai/story"]
    assert abs(model["calls"] - real.calls) <= 0.25 * real.calls
    assert abs(model["prompt_tokens"] - real.prompt_tokens) <= 0.25 * real.prompt_tokens
    assert model["price"] == {"input": 2.0, "output": 10.0}
    expected = (model["prompt_tokens"] * 2.0 + model["completion_tokens"] * 10.0) / 1e6
    assert abs(model["cost_usd"] - expected) < 1e-6
    assert estimate["total"]["cost_usd"] == model["cost_usd"]
    assert set(estimate["by_crew"]) == set(CHAIN)
    assert sum(c["calls"] for c in estimate["by_crew"].values()) == model["calls"]


async def test_a_lone_director_is_estimated_from_the_projects_graph(tmp_path: Path) -> None:
    plugins = make_plugins(entry_points=PLUGINS)
    with OpenAIServer(default=reply) as server:
        settings = make_settings(tmp_path / "data", default_model="openai/story",
                                 openai_base_url=server.url, openai_api_key="sk-test")
        job, _ = await run_job(plugins, ["architect"],
                               {"story_text": STORY.read_text(encoding="utf-8")},
                               settings=settings, project_id="graphed")
        assert job.status == "succeeded", job.error
        scenes = len(job.result["architect"]["scenes"])
        before = await graph(plugins, settings, "graphed")
        sent = len(server.calls)
        async with app_client(plugins, settings) as client:
            r = await client.post("/jobs", json={"crews": ["director"], "dry_run": True,
                                                 "project_id": "graphed"})
        assert r.status_code == 200, r.text
        assert len(server.calls) == sent
        # the director read the graph (two calls a scene) and wrote no shots into it
        assert r.json()["by_crew"]["director"]["calls"] == 2 * scenes
        assert await graph(plugins, settings, "graphed") == before


async def test_a_dry_run_is_checked_like_a_job(tmp_path: Path) -> None:
    plugins = make_plugins(entry_points=PLUGINS)
    settings = make_settings(tmp_path / "data", max_story_chars=100)
    async with app_client(plugins, settings) as client:
        unknown = await client.post("/jobs", json={"crews": ["nope"], "dry_run": True})
        too_big = await client.post("/jobs", json={"crews": ["architect"], "dry_run": True,
                                                   "inputs": {"story_text": "x" * 101}})
        prices = await client.post("/jobs", json={
            "crews": ["architect"], "dry_run": True, "inputs": {"story_text": "Ann ran."},
            "config": {"prices": {"offline": "free"}}})
        lone = await client.post("/jobs", json={"crews": ["director"], "dry_run": True})
        offline = await client.post("/jobs", json={
            "crews": ["architect"], "dry_run": True, "inputs": {"story_text": "Ann ran home."}})
    assert unknown.status_code == 404
    assert too_big.status_code == 413
    assert prices.status_code == 422 and "config.prices" in prices.json()["error"]["message"]
    assert lone.status_code == 422  # a director with no story and no project
    assert offline.status_code == 200, offline.text
    body = offline.json()
    assert body["models"]["offline"]["calls"] == 2  # one chunk and the overview
    assert body["total"]["cost_usd"] == 0.0


async def test_a_dry_run_gives_each_task_the_answer_room_a_run_would(tmp_path: Path) -> None:
    """The estimate caps each call's answer as the router does: a task's own
    ``config.tasks.<task>.max_tokens`` over the job's ``config.max_tokens``."""
    plugins = make_plugins(entry_points=PLUGINS)
    settings = make_settings(tmp_path / "data")
    story = {"story_text": "Maya stood at the rail of the night ferry. " * 200}
    answered = []
    async with app_client(plugins, settings) as client:
        for config in ({}, {"max_tokens": 256},
                       {"max_tokens": 256, "tasks": {"analyse_chunk": {"max_tokens": 12_000}}}):
            r = await client.post("/jobs", json={"crews": ["architect"], "dry_run": True,
                                                 "inputs": story, "config": config})
            assert r.status_code == 200, r.text
            answered.append(r.json()["models"]["offline"]["completion_tokens"])
    plain, capped, task_room = answered
    assert capped < plain and task_room == plain


def test_the_estimate_command(tmp_path: Path) -> None:
    with OpenAIServer(default=reply) as server:
        env = {"NOVELCREW_PLUGINS": ",".join(PLUGINS), "NOVELCREW_DATA_DIR": str(tmp_path),
               "NOVELCREW_MODEL": "openai/story", "OPENAI_BASE_URL": server.url,
               "OPENAI_API_KEY": "sk-test", "COLUMNS": "160"}
        table = CliRunner().invoke(app, ["estimate", "--story", str(STORY),
                                         "--price", "openai/story=3,15"], env=env)
        as_json = CliRunner().invoke(app, ["estimate", "-s", str(STORY), "--crews",
                                           "architect", "--json"], env=env)
        bad = CliRunner().invoke(app, ["estimate", "-s", str(STORY), "--price", "x=1"],
                                 env=env)
        unknown = CliRunner().invoke(app, ["estimate", "-s", str(STORY), "-c", "nope"],
                                     env=env)
        assert server.calls == []
    assert table.exit_code == 0, table.output
    assert "openai/story" in table.output and "nothing was called" in table.output
    for crew in CHAIN:
        assert f"{crew}: " in table.output
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert list(data["by_crew"]) == ["architect"] and data["models"]["openai/story"]["calls"] == 2
    assert data["total"]["cost_usd"] is None and "no price known" in data["notes"][0]
    assert bad.exit_code == 2 and "MODEL=IN,OUT" in bad.output
    assert unknown.exit_code == 2
