"""In the chain ``architect,director,storyboard`` and alone on a project, with the real pathrag
plugin's embedded graph (loaded by entry point, never imported)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from novelcrew.context import ToolContext
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_storyboard import Storyboard

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "stories"


def tool(plugins: Any, settings: Any, name: str, project: str) -> Any:
    return plugins.registry.tools[name].spec.factory(
        ToolContext(settings=settings, project_id=project))


async def test_three_crew_chain_then_the_storyboard_alone_from_the_graph(tmp_path: Path) -> None:
    story = (EXAMPLES / "the-last-shift-at-vell-street.txt").read_text("utf-8")
    plugins = make_plugins(entry_points=["architect", "director", "storyboard", "pathrag"])
    settings = make_settings(tmp_path / "data", default_model="offline")
    job, events = await run_job(plugins, "architect,director,storyboard",
                                {"story_text": story}, settings=settings, project_id="vell")
    assert job.status == "succeeded", job.error
    assert list(job.result) == ["architect", "director", "storyboard"]
    chained = Storyboard.model_validate(job.result["storyboard"])
    assert chained.sources == {"analysis": "chain", "plan": "chain"}
    planned = sum(len(s["shots"]) for s in job.result["director"]["scenes"])
    assert chained.totals.shots == planned > 0
    assert chained.offline and not chained.ready_for_media_generation
    assert chained.graph["entities"] > planned
    crews_done = [e.crew for e in events if e.type == "crew_finished"]
    assert crews_done == ["architect", "director", "storyboard"]

    # every frame of a character is one query on the character's name
    look = next(c for c in chained.bible.characters
                if any(c.id in s.subjects for sc in chained.scenes for s in sc.shots))
    found = await tool(plugins, settings, "kg_query", "vell").acall(
        query=look.name, top_k=200, max_tokens=100_000)
    framed = {r.tgt for r in found.relationships if r.keywords == "in_frame"
              and r.src == look.name}
    expected = {f"Scene {sc.number} Shot {s.number} Frame" for sc in chained.scenes
                for s in sc.shots if look.id in s.subjects}
    assert framed == expected
    # read from the graph alone, an offline frame or look still says it is no real storyboard
    made = {e.name: e.description for e in found.entities
            if e.type in ("storyboard_shot", "character_look")}
    assert made and all("offline stand-in" in d and "not for media generation" in d
                        for d in made.values()), made

    # alone, on the same project: the analysis and plan come from the graph
    alone, _ = await run_job(plugins, "storyboard", {"write_back": False},
                             settings=settings, project_id="vell")
    assert alone.status == "succeeded", alone.error
    again = Storyboard.model_validate(alone.result["storyboard"])
    assert again.sources == {"analysis": "graph", "plan": "graph"}
    assert again.title == chained.title == job.result["architect"]["title"]
    assert again.totals.shots == chained.totals.shots
    assert [s.id for sc in again.scenes for s in sc.shots] == \
        [s.id for sc in chained.scenes for s in sc.shots]

    # re-boarding a shorter plan replaces the frames: none of the old ones is left behind
    plan = job.result["director"]
    plan["scenes"] = plan["scenes"][:1]
    shorter, _ = await run_job(plugins, "storyboard",
                               {"previous": {"architect": job.result["architect"],
                                             "director": plan}},
                               settings=settings, project_id="vell")
    assert shorter.status == "succeeded", shorter.error
    assert shorter.result["storyboard"]["graph"]["frames_replaced"] == chained.totals.shots
    frames = await tool(plugins, settings, "kg_query", "vell").acall(
        query="Frame", entity_types=["storyboard_shot"], top_k=200)
    assert sorted(e.name for e in frames.entities) == sorted(
        f"Scene {plan['scenes'][0]['number']} Shot {s['number']} Frame"
        for s in plan["scenes"][0]["shots"])


async def test_novel_movie_execute_with_the_three_crew_chain(tmp_path: Path) -> None:
    import asyncio

    from novelcrew_sdk.pytest_plugin import app_client

    story = (EXAMPLES / "the-orchard-at-kestrel-hill.txt").read_text("utf-8")
    plugins = make_plugins(entry_points=["architect", "director", "storyboard", "pathrag"])
    settings = make_settings(tmp_path / "data", default_model="offline")
    async with app_client(plugins, settings) as client:
        answer = await client.post("/crews/execute", json={
            "crew_type": "architect,director,storyboard", "project_id": "nm-7", "user_id": "u",
            "input_data": {"story_text": story}})
        assert answer.status_code in (200, 202), answer.text
        job_id = answer.json()["job_id"]
        for _ in range(1200):
            status = (await client.get(f"/crews/status/{job_id}")).json()
            if status["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.1)
        assert status["status"] == "completed", status
        board = status["result"]["storyboard"]
        assert board["offline"] is True and board["ready_for_media_generation"] is False
        assert board["totals"]["shots"] == sum(
            len(s["shots"]) for s in status["result"]["director"]["scenes"])
        native = (await client.get(f"/jobs/{job_id}")).json()
        assert native["result"]["storyboard"] == board


async def test_a_real_model_boarding_an_offline_plan_from_the_graph_is_not_ready(
        tmp_path: Path) -> None:
    """The stand-in's plan in the graph, boarded alone by a real model: still a placeholder,
    so Novel Movie must not move the project to media generation on it."""
    from storyboard_fixtures import replies

    from novelcrew_sdk.scripted import ScriptedLLM

    story = (EXAMPLES / "the-last-shift-at-vell-street.txt").read_text("utf-8")
    plugins = make_plugins(entry_points=["architect", "director", "storyboard", "pathrag"],
                           llm=ScriptedLLM(replies=replies()))
    offline = make_settings(tmp_path / "data", default_model="offline")
    planned, _ = await run_job(plugins, "architect,director", {"story_text": story},
                               settings=offline, project_id="vell")
    assert planned.status == "succeeded", planned.error
    assert planned.result["director"]["model"]["offline"] is True
    shots = await tool(plugins, offline, "kg_query", "vell").acall(
        query="Shot", entity_types=["shot"], top_k=200)
    assert shots.entities and all("offline stand-in" in e.description
                                  for e in shots.entities)

    real = make_settings(tmp_path / "data", default_model="scripted")
    job, _ = await run_job(plugins, "storyboard", {}, settings=real, project_id="vell")
    assert job.status == "succeeded", job.error
    board = Storyboard.model_validate(job.result["storyboard"])
    assert board.sources == {"analysis": "graph", "plan": "graph"}
    assert board.totals.shots > 0 and not board.model.offline
    assert board.title and board.title == planned.result["architect"]["title"]
    assert board.offline and not board.ready_for_media_generation
    assert board.note and "director's plan" in board.note and "offline stand-in" in board.note
    # and its frames in the graph say so too
    frames = await tool(plugins, offline, "kg_query", "vell").acall(
        query="Frame", entity_types=["storyboard_shot"], top_k=200)
    assert frames.entities and all("offline stand-in" in e.description
                                   for e in frames.entities)

    # a real board of a real plan (here the same one, claimed real) then replaces the mark
    # on the looks it keeps: the graph keeps one `Made by:` line, the newer
    real_result = {"model": {"offline": False}}
    redone, _ = await run_job(plugins, "storyboard",
                              {"previous": {"architect": planned.result["architect"] | real_result,
                                            "director": planned.result["director"] | real_result}},
                              settings=real, project_id="vell")
    assert redone.status == "succeeded", redone.error
    assert redone.result["storyboard"]["ready_for_media_generation"] is True
    looks = await tool(plugins, offline, "kg_query", "vell").acall(
        query="Look", entity_types=["character_look", "storyboard_shot"], top_k=200)
    assert looks.entities and all(e.description.endswith("\nMade by: scripted")
                                  for e in looks.entities), looks.entities[0].description
