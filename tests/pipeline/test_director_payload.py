"""The chain against a real Payload 3 server: the director takes the project's notes, its
genres, format, visual style and target runtime, and warns when the plan runs far from it.

Novel Movie links a project's tone, mood and target audience to records of other collections
(lists of ids at ``depth=0``); other setups keep them as text. Either way the director's
prompt carries the words, never a record's id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_fixtures import STORY, replies, shots_reply

from novelcrew_director import ScenePlan
from novelcrew_payload import PayloadClient, PayloadConfig
from novelcrew_payload.testing import PayloadServer
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job

#: the seeded project's notes (see the payload test server's seed.mjs), as each shape gives them
LINKED = {"Tone": "Melancholic, Wry", "Mood": "Brooding",
          "Target audience": "Adults, Fans of Maritime Folklore"}
TEXT = {"Tone": "melancholic", "Mood": "quiet", "Target audience": "adults"}


def note_lines(prompt: str) -> dict[str, str]:
    """The prompt's ``Tone:``, ``Mood:`` and ``Target audience:`` lines, by label."""
    return {label: value.strip() for label, value in
            re.findall(r"^(Tone|Mood|Target audience): (.*)$", prompt, flags=re.M)}


@pytest.mark.parametrize(("env", "notes"), [({}, LINKED), ({"PAYLOAD_TEXT_NOTES": "1"}, TEXT)],
                         ids=["relationships", "text"])
async def test_the_director_reads_the_project_from_payload(
        tmp_path: Path, env: dict[str, str], notes: dict[str, str]) -> None:
    server = PayloadServer(data_dir=tmp_path / "payload-db", env=env).start()
    try:
        llm = ScriptedLLM(replies=replies())
        plugins = make_plugins(entry_points=["architect", "director", "pathrag", "payload"],
                               llm=llm)
        settings = make_settings(tmp_path / "data", default_model="scripted",
                                 plugin_config={"payload": {"url": server.url,
                                                           "api_key": server.api_key}})
        project_id = str(server.seeded["projectId"])
        job, events = await run_job(plugins, ["architect", "director"], {"story_text": STORY},
                                    settings=settings, project_id=project_id)
    finally:
        server.stop()
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert plan.scenes and not plan.failed_scenes
    prompts = [c.prompt for c in llm.calls if c.role == "Scene Analysis Director"]
    assert prompts
    for prompt in prompts:
        assert note_lines(prompt) == notes  # the words, not the linked records' ids
        assert "Core premise: A keeper who has not left her lighthouse" in prompt
        # the look, format, genres and runtime, linked records in either setup
        assert look_lines(prompt) == LOOKS
    assert not [e for e in events if e.type == "warning" and e.crew == "director"]
    # the scripted shots run 23 s for a 12-minute short: the plan says so, as data
    off = [w for w in plan.warning_details if w.kind == "runtime_off_target"]
    assert [w.message for w in off] == [
        "the plan's shots run 23 s, under two thirds of the project's target runtime of "
        "12 min (the project's durationUnit)"]
    assert off[0].scenes == [] and off[0].message in plan.warnings


#: the seeded project's own fields and linked records as the director's brief gives them
LOOKS = {
    "Short description": "A lighthouse keeper hides a shipwrecked stranger from the harbour "
                         "master.",
    "Genres": "Drama, Mystery",
    "Format": "Short Film",
    "Visual style": "Painterly Noir: Hand-painted film noir: deep ink shadows, rain-slick "
                    "surfaces lit by a single practical, muted teal and amber, visible brush "
                    "texture.",
    "Target runtime": "12 min for the whole film",
}


def look_lines(prompt: str) -> dict[str, str]:
    return {label: value.strip() for label, value in re.findall(
        r"^(Short description|Genres|Format|Visual style|Target runtime): (.*)$", prompt,
        flags=re.M)}


def long_shots(prompt: str) -> str:
    """The cinematographer's reply with every shot 150 s long: 5 shots, 12.5 minutes."""
    shots = json.loads(shots_reply(prompt))
    for shot in shots["shots"]:
        shot["estimated_duration_seconds"] = 150
    return json.dumps(shots)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PayloadServer]:
    started = PayloadServer(data_dir=tmp_path_factory.mktemp("payload-db")).start()
    yield started
    started.stop()


async def plan_for(tmp_path: Path, server: PayloadServer, project_id: str, *,
                   long: bool) -> tuple[ScenePlan, list[str]]:
    """The chain's plan for a project, with the shots' prompts, on scripted replies."""
    llm = ScriptedLLM(replies={**replies(),
                               **({"Cinematography Specialist": long_shots} if long else {})})
    plugins = make_plugins(entry_points=["architect", "director", "pathrag", "payload"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             plugin_config={"payload": {"url": server.url,
                                                       "api_key": server.api_key}})
    job, _ = await run_job(plugins, ["architect", "director"], {"story_text": STORY},
                           settings=settings, project_id=project_id)
    assert job.status == "succeeded", job.error
    return (ScenePlan.model_validate(job.result["director"]),
            [c.prompt for c in llm.calls if c.role == "Scene Analysis Director"])


def runtime_warnings(plan: ScenePlan) -> list[str]:
    return [w.message for w in plan.warning_details if w.kind == "runtime_off_target"]


async def test_a_plan_near_the_projects_runtime_passes_and_one_far_over_it_warns(
        tmp_path: Path, server: PayloadServer) -> None:
    """12.5 minutes of shots for the seeded 12-minute short passes (within 1.5 times either
    way); the same plan for a 5-minute target runs over 1.5 times it."""
    near, _ = await plan_for(tmp_path, server, str(server.seeded["projectId"]), long=True)
    assert near.totals.estimated_screen_time_minutes == 12.5
    assert runtime_warnings(near) == []
    async with client(server) as payload:
        short = await payload.create("projects", {"name": "Too long", "durationUnit": 5})
    far, _ = await plan_for(tmp_path, server, str(short["id"]), long=True)
    assert runtime_warnings(far) == [
        "the plan's shots run 12.5 min, over 1.5 times the project's target runtime of 5 min "
        "(the project's durationUnit)"]


async def test_without_a_runtime_the_formats_suggested_duration_is_the_target(
        tmp_path: Path, server: PayloadServer) -> None:
    async with client(server) as payload:
        project = await payload.create("projects", {
            "name": "Format only", "movieFormat": server.seeded["looks"]["movieFormat"]})
    plan, prompts = await plan_for(tmp_path, server, str(project["id"]), long=False)
    assert runtime_warnings(plan) == [
        "the plan's shots run 23 s, under two thirds of the project's target runtime of 15 min "
        "(the suggested duration of its format, Short Film)"]
    assert all(look_lines(p) == {"Format": "Short Film",
                                 "Target runtime": "15 min for the whole film"}
               for p in prompts)


async def test_an_older_project_without_the_fields_is_planned_as_before(
        tmp_path: Path, server: PayloadServer) -> None:
    """A project made before style, format, genres and runtime existed: no such lines, and
    no runtime to hold the plan to."""
    plan, prompts = await plan_for(tmp_path, server, str(server.seeded["bareProjectId"]),
                                   long=False)
    assert runtime_warnings(plan) == [] and prompts
    assert all(look_lines(p) == {} for p in prompts)


def client(server: PayloadServer) -> PayloadClient:
    return PayloadClient(PayloadConfig(url=server.url, api_key=server.api_key))
