"""The three-crew chain against a real Payload 3 server: the real architect, director and
storyboard crews (scripted replies), the payload plugin's observer moving the project to
``media-generation`` only after the storyboard, with the storyboard stored in the project."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pipeline_fixtures import STORY, replies

from novelcrew.jobs import Job, JobEvent
from novelcrew.settings import get_settings
from novelcrew_payload import PayloadClient, PayloadConfig
from novelcrew_payload.testing import PayloadServer
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job


def final(obj: Any) -> str:
    return f"Thought: I can answer.\nFinal Answer: {json.dumps(obj)}"


def requested(prompt: str) -> list[str]:
    found = re.search(r"one entry per (?:id|shot number) in (\[[^\]]*\])", prompt)
    assert found is not None, prompt[-800:]
    return [str(i) for i in json.loads(found.group(1))]


def artist(prompt: str) -> str:
    """The Visual Development Artist: looks for whatever ids it is asked about."""
    if '{"characters"' in prompt:
        return final({"characters": [
            {"id": cid, "hair": {"value": "salt-stiff hair", "stated": False, "evidence": ""},
             "wardrobe": {"default": "oilskin coat"}} for cid in requested(prompt)]})
    if '{"locations"' in prompt:
        return final({"locations": [{"id": lid, "look": "grey stone and tarred timber"}
                                    for lid in requested(prompt)]})
    return final({"era": "present-day Scottish coast", "palette": ["slate", "sodium orange"],
                  "lighting_style": "hard practicals", "film_look": "35mm, fine grain"})


def boarder(prompt: str) -> str:
    return final({"shots": [{"number": int(n), "action": f"shot {n} happens",
                             "composition": "subject left third"} for n in requested(prompt)]})


CREWS = ["architect", "director", "storyboard", "pathrag", "payload"]


@dataclass
class Payload:
    """A running Payload server with its seeded project, as the crews and the observer see
    it: its address in the process settings (which the observer reads) and in
    ``plugin_config`` (which the tools read)."""

    server: PayloadServer
    project_id: str
    plugin_config: dict[str, Any]

    async def project(self) -> dict[str, Any]:
        config = PayloadConfig(url=self.server.url, api_key=self.server.api_key)
        async with PayloadClient(config) as client:
            return await client.get("projects", self.project_id)


@pytest.fixture
def payload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Payload]:
    server = PayloadServer(data_dir=tmp_path / "payload-db").start()
    try:
        # the observer reads the process settings, as the server and workers do
        monkeypatch.setenv("NOVELCREW_PAYLOAD_URL", server.url)
        monkeypatch.setenv("NOVELCREW_PAYLOAD_API_KEY", server.api_key)
        monkeypatch.setenv("NOVELCREW_DATA_DIR", str(tmp_path / "data"))
        for name in ("NOVEL_MOVIE_API_URL", "NOVEL_MOVIE_API_KEY", "NOVELCREW_PLUGINS"):
            monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()
        yield Payload(server, str(server.seeded["projectId"]),
                      {"payload": {"url": server.url, "api_key": server.api_key}})
    finally:
        server.stop()
        get_settings.cache_clear()


def boarding_llm() -> ScriptedLLM:
    return ScriptedLLM(replies={**replies(), "Visual Development Artist": artist,
                                "Storyboard Artist": boarder})


async def board_with_payload(tmp_path: Path, payload: Payload, llm: ScriptedLLM | None = None,
                             ) -> tuple[Job, list[JobEvent]]:
    """The whole chain on scripted real-model replies, for the seeded Payload project."""
    plugins = make_plugins(entry_points=CREWS, llm=llm or boarding_llm())
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             plugin_config=payload.plugin_config)
    return await run_job(plugins, ["architect", "director", "storyboard"],
                         {"story_text": STORY}, settings=settings,
                         project_id=payload.project_id)


async def test_a_ready_storyboard_is_stored_and_moves_the_project_to_media_generation(
        tmp_path: Path, payload: Payload) -> None:
    job, events = await board_with_payload(tmp_path, payload)
    project = await payload.project()
    assert job.status == "succeeded", job.error
    # (the scripted architect's scene openings are not the story's words: its warning is
    # about that, not about Payload or the storyboard)
    assert not [e.message for e in events if e.type == "warning"
                and (e.crew == "storyboard" or "Payload" in e.message)]
    board = job.result["storyboard"]
    assert board["ready_for_media_generation"] is True and board["offline"] is False

    workflow = project["workflowStatus"]
    assert workflow["currentStep"] == "media-generation"
    assert [row["step"] for row in workflow["completedSteps"]] == [
        "story-generation", "character-development", "scene-planning"]
    stored = project["generatedContent"]["storyboard"]
    assert stored["scenes"] == board["scenes"] and stored["bible"] == board["bible"]
    assert stored["totals"] == board["totals"] and stored["ready_for_media_generation"] is True
    assert stored["warnings"] == board["warnings"] and "model" not in stored
    assert stored["warning_details"] == board["warning_details"]
    assert [d["message"] for d in stored["warning_details"]] == stored["warnings"]
    shots = [shot for scene in stored["scenes"] for shot in scene["shots"]]
    assert shots and all(shot["image_prompt"] and shot["motion_prompt"] and shot["clips"]
                         for shot in shots)
    # the director's scene rows are kept beside it
    assert len(project["generatedContent"]["scenes"]) == len(job.result["director"]["scenes"])


async def test_a_real_storyboard_of_an_offline_plan_leaves_the_project_at_scene_planning(
        tmp_path: Path, payload: Payload) -> None:
    """The stand-in plans in one job; a later storyboard-only job on a real model boards that
    plan from the graph. Payload must not move the project to media generation on it."""
    llm = ScriptedLLM(replies={"Visual Development Artist": artist,
                               "Storyboard Artist": boarder})
    plugins = make_plugins(entry_points=CREWS, llm=llm)
    planned, _ = await run_job(
        plugins, ["architect", "director"], {"story_text": STORY},
        project_id=payload.project_id,
        settings=make_settings(tmp_path / "data", default_model="offline",
                               plugin_config=payload.plugin_config))
    job, _ = await run_job(
        plugins, ["storyboard"], {}, project_id=payload.project_id,
        settings=make_settings(tmp_path / "data", default_model="scripted",
                               plugin_config=payload.plugin_config))
    project = await payload.project()
    assert planned.status == "succeeded", planned.error
    assert job.status == "succeeded", job.error
    assert llm.calls  # the storyboard's own calls went to the (scripted) real model
    board = job.result["storyboard"]
    assert board["sources"] == {"analysis": "graph", "plan": "graph"}
    assert board["offline"] is True and board["ready_for_media_generation"] is False
    assert project["workflowStatus"]["currentStep"] == "scene-planning"
    stored = project["generatedContent"]["storyboard"]
    assert stored["offline"] is True and "director's plan" in stored["note"]


async def test_the_storyboard_takes_the_projects_linked_notes_as_words(
        tmp_path: Path, payload: Payload) -> None:
    """Novel Movie links a project's tone, mood and audience to records of other collections
    (ids at ``depth=0``): the style guide, every shot's prompt and the style call's prompt get
    the records' names, never their ids."""
    llm = boarding_llm()
    job, events = await board_with_payload(tmp_path, payload, llm)
    assert job.status == "succeeded", job.error
    assert not [e.message for e in events if e.type == "warning" and e.crew == "storyboard"]
    style = job.result["storyboard"]["bible"]["style"]
    assert (style["tone"], style["mood"]) == ("Melancholic, Wry", "Brooding")
    assert style["sources"]["tone"] == style["sources"]["mood"] == "payload"
    shots = [shot for scene in job.result["storyboard"]["scenes"] for shot in scene["shots"]]
    assert shots and all("Melancholic, Wry tone" in shot["image_prompt"]
                         and "Brooding mood" in shot["image_prompt"] for shot in shots)
    # the style call (the artist's prompt without characters or locations to look at)
    style_calls = [c.prompt for c in llm.calls if c.role == "Visual Development Artist"
                   and '{"characters"' not in c.prompt and '{"locations"' not in c.prompt]
    assert style_calls
    for prompt in style_calls:
        lines = dict(re.findall(r"^(Tone|Mood|Target audience): (.*)$", prompt, flags=re.M))
        assert lines == {"Tone": "Melancholic, Wry", "Mood": "Brooding",
                         "Target audience": "Adults, Fans of Maritime Folklore"}


#: the seeded project's movie style (see the payload test server's seed.mjs)
STYLE = "Painterly Noir"
LOOK = ("Hand-painted film noir: deep ink shadows, rain-slick surfaces lit by a single "
        "practical, muted teal and amber, visible brush texture")


def style_prompts(llm: ScriptedLLM) -> list[str]:
    """The style call's prompts: the artist's, without characters or locations to look at."""
    return [c.prompt for c in llm.calls if c.role == "Visual Development Artist"
            and '{"characters"' not in c.prompt and '{"locations"' not in c.prompt]


def overview_lines(prompt: str) -> dict[str, str]:
    return dict(re.findall(r"^(Genre|Format|Visual style to follow): (.*)$", prompt, flags=re.M))


async def test_the_visual_bible_and_every_shot_follow_the_projects_movie_style(
        tmp_path: Path, payload: Payload) -> None:
    """The project's movie style (Novel Movie's "visual/artistic style for AI generation": a
    linked record) is the look: the style call is told to follow it, by name and description,
    and every shot's image prompt ends with it; the genres lead, in the project's order."""
    llm = boarding_llm()
    job, _ = await board_with_payload(tmp_path, payload, llm)
    assert job.status == "succeeded", job.error
    style = job.result["storyboard"]["bible"]["style"]
    assert (style["style"], style["style_description"]) == (STYLE, LOOK)
    assert style["genre"] == "Drama, Mystery"
    assert style["sources"]["style"] == style["sources"]["style_description"] == "payload"
    assert style["sources"]["genre"] == "payload"  # over the analysis's "drama"
    shots = [shot for scene in job.result["storyboard"]["scenes"] for shot in scene["shots"]]
    assert shots and all(f"{STYLE} style: {LOOK}" in shot["image_prompt"]
                         and "Drama, Mystery film" in shot["image_prompt"] for shot in shots)
    assert style_prompts(llm)
    for prompt in style_prompts(llm):
        assert overview_lines(prompt) == {
            "Genre": "Drama, Mystery", "Format": "Short Film",
            "Visual style to follow": f"{STYLE}: {LOOK}"}


async def test_a_style_asked_for_in_the_inputs_wins_without_the_projects_description(
        tmp_path: Path, payload: Payload) -> None:
    llm = boarding_llm()
    plugins = make_plugins(entry_points=CREWS, llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             plugin_config=payload.plugin_config)
    job, _ = await run_job(plugins, ["architect", "director", "storyboard"],
                           {"story_text": STORY, "style": {"style": "pencil sketch"}},
                           settings=settings, project_id=payload.project_id)
    assert job.status == "succeeded", job.error
    style = job.result["storyboard"]["bible"]["style"]
    assert (style["style"], style["style_description"]) == ("pencil sketch", "")
    assert style["sources"]["style"] == "inputs" and "style_description" not in style["sources"]
    board = json.dumps(job.result["storyboard"])
    assert STYLE not in board and "ink shadows" not in board
    for prompt in style_prompts(llm):
        assert overview_lines(prompt)["Visual style to follow"] \
            == "pencil sketch"


async def test_an_older_project_without_a_movie_style_is_boarded_from_the_analysis(
        tmp_path: Path, payload: Payload) -> None:
    """A project made before the style, format and genres existed (here the seeded project
    with no story): the storyboard stands on the analysis, with no empty lines."""
    llm = boarding_llm()
    plugins = make_plugins(entry_points=CREWS, llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted",
                             plugin_config=payload.plugin_config)
    job, events = await run_job(plugins, ["architect", "director", "storyboard"],
                                {"story_text": STORY}, settings=settings,
                                project_id=str(payload.server.seeded["bareProjectId"]))
    assert job.status == "succeeded", job.error
    assert not [e.message for e in events if e.type == "warning" and e.crew == "storyboard"]
    style = job.result["storyboard"]["bible"]["style"]
    assert (style["style"], style["genre"]) == ("", "drama")  # the analysis's genre
    assert style["sources"]["genre"] == "analysis"
    for prompt in style_prompts(llm):
        assert overview_lines(prompt) == {"Genre": "drama"}
