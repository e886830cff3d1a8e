"""Jobs keep their Payload project in step: a real runner, fake crews, a real Payload server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel

from novelcrew import Crew, Job, JobEvent, RunContext, hookimpl
from novelcrew.backends.inline.store import SQLiteStore
from novelcrew.errors import JobCancelled
from novelcrew.plugins import Plugins, load, register_module
from novelcrew.settings import Settings
from novelcrew_payload import PayloadClient, PayloadConfig, PayloadError
from novelcrew_payload.enums import WorkflowStep
from novelcrew_payload.health import tool_health
from novelcrew_payload.observer import observe, pending_restores, restore_project, sync_project
from novelcrew_payload.outage import known_outage
from novelcrew_payload.testing import PayloadServer
from novelcrew_payload.workflow import OFFLINE_MARK, Transition, storyboard_from_output
from novelcrew_sdk import run_job

# two tiny crews shaped like the real architect and director ------------------------------


class ArchitectInput(BaseModel):
    story_text: str | None = None
    project_id: str | None = None
    offline: bool = False  # answer as the offline stand-in does (model.offline true)
    architect_fails: bool = False  # fail at once, before any result (a model's nonsense)
    architect_cancelled: bool = False  # as if the job were cancelled while it ran


class StoryAnalysis(BaseModel):
    title: str
    story_source: str
    characters: list[dict[str, Any]]
    scenes: list[dict[str, Any]]
    model: dict[str, Any] = {}


class DirectorInput(BaseModel):
    previous: dict[str, Any] = {}
    offline: bool = False
    director_fails: bool = False


class ScenePlan(BaseModel):
    scenes: list[dict[str, Any]]
    totals: dict[str, Any]
    model: dict[str, Any] = {}


async def run_architect(ctx: RunContext, inputs: ArchitectInput) -> StoryAnalysis:
    if inputs.architect_fails:
        raise RuntimeError("the model answered nonsense")
    if inputs.architect_cancelled:
        raise JobCancelled("the job was cancelled")
    text, source = inputs.story_text, "input"
    if not text and inputs.project_id and ctx.has_tool("payload_read_story"):
        story = await ctx.tool("payload_read_story").acall()
        text, source = (story or {}).get("currentContent") or "", "payload"
    await ctx.add_tasks(1)
    await ctx.task_started("analyse")
    sentences = [s.strip() for s in (text or "").split(".") if s.strip()]
    await ctx.task_finished("analyse")
    return StoryAnalysis(
        title="Offline analysis", story_source=source,
        characters=[{"name": "Maya", "role": "protagonist"}],
        scenes=[{"number": i + 1, "summary": s, "location": "Gull Rock"}
                for i, s in enumerate(sentences)],
        model={"offline": inputs.offline})


async def run_director(ctx: RunContext, inputs: DirectorInput) -> ScenePlan:
    if inputs.director_fails:
        raise RuntimeError("the director's model answered nonsense")
    analysis = inputs.previous.get("architect", {})
    scenes = [{"number": s["number"], "heading": f"EXT. {s['location'].upper()} - NIGHT",
               "summary": s["summary"], "location": s["location"], "time": "NIGHT",
               "characters": ["Maya"], "mood": "tense", "palette": ["slate", "amber"],
               "shots": [{"number": 1, "shot_type": "wide", "estimated_duration_seconds": 3.5},
                         {"number": 2, "shot_type": "close-up",
                          "estimated_duration_seconds": 2}]}
              for s in analysis.get("scenes", [])]
    return ScenePlan(scenes=scenes, totals={"scenes": len(scenes), "shots": 2 * len(scenes),
                                            "estimated_screen_time_seconds": 5.5 * len(scenes)},
                     model={"offline": inputs.offline})


class StoryboardInput(BaseModel):
    previous: dict[str, Any] = {}
    board_offline: bool = False  # as the offline stand-in: offline, not ready
    board_shots: bool = True  # False: no shots, so nothing to generate from
    board_warnings: list[str] = []  # what the real crew warns of, to check before generating
    board_details: list[dict[str, Any]] = []  # the same as data, as the real crew gives them


class FakeStoryboard(BaseModel):
    """The storyboard crew's result, in the fields the observer reads and stores."""

    title: str = "Offline analysis"
    bible: dict[str, Any]
    scenes: list[dict[str, Any]]
    clip_seconds: float = 5.0
    totals: dict[str, Any]
    offline: bool
    ready_for_media_generation: bool
    note: str | None = None
    warnings: list[str] = []
    warning_details: list[dict[str, Any]] = []
    model: dict[str, Any] = {}


async def run_storyboard(ctx: RunContext, inputs: StoryboardInput) -> FakeStoryboard:
    plan = inputs.previous.get("director", {})
    phrase = "Maya, a lean woman in her thirties, wet black hair"
    scenes = [{"id": f"s{s['number']:03d}", "number": s["number"], "shots": [
        {"id": f"s{s['number']:03d}-sh{n:02d}", "number": n, "subjects": ["maya"],
         "image_prompt": f"{phrase}. {s['summary']}.", "motion_prompt": "slow push in.",
         "duration_seconds": 3, "clips": [{"index": 1, "duration_seconds": 3}],
         # each shot names the kinds of the warnings that concern it, as the real crew does
         "warning_kinds": list(dict.fromkeys(
             d["kind"] for d in inputs.board_details
             if f"s{s['number']:03d}-sh{n:02d}" in d.get("shot_ids", [])))}
        for n in (1, 2)] if inputs.board_shots else []} for s in plan.get("scenes", [])]
    shots = sum(len(s["shots"]) for s in scenes)
    return FakeStoryboard(
        bible={"characters": [{"id": "maya", "name": "Maya", "phrase": phrase}],
               "locations": [], "style": {"aspect_ratio": "16:9"}},
        scenes=scenes, totals={"scenes": len(scenes), "shots": shots, "clips": shots},
        offline=inputs.board_offline,
        ready_for_media_generation=bool(shots) and not inputs.board_offline,
        note="made by the offline stand-in" if inputs.board_offline else None,
        warnings=inputs.board_warnings, warning_details=inputs.board_details,
        model={"offline": inputs.board_offline})


class FakeCrews:
    """Registers ``architect``, ``director`` and ``storyboard`` (the real plugins are not
    loaded here)."""

    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="architect", description="fake architect",
                      input_model=ArchitectInput, output_model=StoryAnalysis,
                      run=run_architect, optional_tools=("payload_read_story",)))
        register(Crew(name="director", description="fake director", input_model=DirectorInput,
                      output_model=ScenePlan, run=run_director))
        register(Crew(name="storyboard", description="fake storyboard",
                      input_model=StoryboardInput, output_model=FakeStoryboard,
                      run=run_storyboard))


class ProjectRecorder:
    """After the payload observer's update, reads the project back (runs last)."""

    def __init__(self, config: PayloadConfig) -> None:
        self.config = config
        self.seen: list[tuple[str, str, dict[str, Any]]] = []

    @hookimpl(trylast=True)
    def job_event(self, event: JobEvent, job: Job) -> Any:
        if event.type not in ("crew_started", "crew_finished"):
            return None

        async def read() -> None:
            try:
                async with PayloadClient(self.config) as client:
                    project = await client.get("projects", job.project_id or "", retries=0)
            except PayloadError:
                project = {}  # Payload is away: nothing to see
            self.seen.append((event.crew or "", event.type, project))

        return read()


class Killer:
    """Kills the Payload server once the architect has finished (``on``: or started), after
    its update, so what comes next finds Payload away."""

    def __init__(self, server: PayloadServer, on: str = "crew_finished") -> None:
        self.server, self.on = server, on

    @hookimpl(trylast=True)
    def job_event(self, event: JobEvent, job: Job) -> Any:
        if event.type == self.on and event.crew == "architect":

            async def kill() -> None:
                self.server.kill()

            return kill()
        return None


class Freezer:
    """Freezes the server before the architect's finishing update, thaws it before the
    director starts (both run ahead of the payload observer)."""

    def __init__(self, server: PayloadServer) -> None:
        self.server = server

    @hookimpl(tryfirst=True)
    def job_event(self, event: JobEvent, job: Job) -> Any:
        async def act() -> None:
            if (event.crew, event.type) == ("architect", "crew_finished"):
                self.server.pause()
            elif (event.crew, event.type) == ("director", "crew_started"):
                self.server.resume()

        return act() if event.type in ("crew_started", "crew_finished") else None


def plugins_with(*extra: Any) -> Plugins:
    plugins = load(allow=["payload"])
    register_module(plugins, FakeCrews(), "fake-crews")
    for index, module in enumerate(extra):
        register_module(plugins, module, f"extra-{index}")
    return plugins


def warnings(events: list[JobEvent]) -> list[str]:
    return [e.message for e in events if e.type == "warning"]


def steps(project: dict[str, Any]) -> list[str]:
    return [row["step"] for row in project["workflowStatus"]["completedSteps"]]


# the tests ---------------------------------------------------------------------------------


async def test_a_chain_moves_the_project_through_novel_movies_workflow(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any],
        client_config: Callable[..., PayloadConfig]) -> None:
    settings = payload_env(payload_server)
    project = await new_project(name="Chain")
    await payload.create("stories", {"project": project["id"], "currentContent":
                                     "The lamp fails. Tom swims. Maya waits."})
    recorder = ProjectRecorder(client_config(payload_server))
    job, events = await run_job(plugins_with(recorder), ["architect", "director"], {},
                                settings=settings, project_id=str(project["id"]))

    assert job.status == "succeeded" and warnings(events) == []
    assert job.result["architect"]["story_source"] == "payload"  # the story came from Payload
    seen = [(crew, kind, p["workflowStatus"]["currentStep"], steps(p), p["status"])
            for crew, kind, p in recorder.seen]
    assert seen == [
        ("architect", "crew_started", "story-generation", [], "story-in-progress"),
        ("architect", "crew_finished", "scene-planning",
         ["story-generation", "character-development"], "story-in-progress"),
        ("director", "crew_started", "scene-planning",
         ["story-generation", "character-development"], "story-in-progress"),
        # a plan is not yet material for media generation: the project waits for a storyboard
        ("director", "crew_finished", "scene-planning",
         ["story-generation", "character-development", "scene-planning"], "story-in-progress"),
    ]
    activity = [datetime.fromisoformat(p["workflowStatus"]["lastActivity"])
                for _, _, p in recorder.seen]
    assert activity == sorted(activity) and activity[0] >= job.started_at.replace(microsecond=0)
    final = recorder.seen[-1][2]
    assert all(row["completedAt"] for row in final["workflowStatus"]["completedSteps"])
    assert final["generatedContent"]["scenes"] == [
        {"id": row["id"], "sceneNumber": n, "heading": "EXT. GULL ROCK - NIGHT",
         "description": text, "location": "Gull Rock", "estimatedDuration": 5.5}
        for row, (n, text) in zip(final["generatedContent"]["scenes"],
                                  [(1, "The lamp fails"), (2, "Tom swims"), (3, "Maya waits")],
                                  strict=True)]


def stored_board(result: dict[str, Any]) -> dict[str, Any]:
    """What ``generatedContent.storyboard`` should hold for a storyboard result."""
    return {key: value for key, value in result.items() if key != "model"}


async def test_only_a_ready_storyboard_moves_the_project_to_media_generation(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any],
        client_config: Callable[..., PayloadConfig]) -> None:
    settings = payload_env(payload_server)
    project = await new_project(name="Storyboard chain")
    recorder = ProjectRecorder(client_config(payload_server))
    job, events = await run_job(plugins_with(recorder), ["architect", "director", "storyboard"],
                                {"story_text": "The lamp fails. Tom swims."},
                                settings=settings, project_id=str(project["id"]))
    assert job.status == "succeeded" and warnings(events) == []
    seen = [(crew, kind, p["workflowStatus"]["currentStep"], steps(p))
            for crew, kind, p in recorder.seen]
    planned = ["story-generation", "character-development", "scene-planning"]
    assert seen[3:] == [
        ("director", "crew_finished", "scene-planning", planned),
        ("storyboard", "crew_started", "scene-planning", planned),
        ("storyboard", "crew_finished", "media-generation", planned),
    ]
    # before the storyboard there is none in the project; after it, the storyboard is there
    # whole (not the job-only model routing) and the director's scenes are kept
    assert recorder.seen[4][2]["generatedContent"].get("storyboard") is None
    final = recorder.seen[-1][2]["generatedContent"]
    board = job.result["storyboard"]
    assert final["storyboard"] == stored_board(board)
    assert final["storyboard"]["ready_for_media_generation"] is True
    assert final["storyboard"]["scenes"][1]["shots"][0]["image_prompt"] == \
        "Maya, a lean woman in her thirties, wet black hair. Tom swims."
    assert [row["description"] for row in final["scenes"]] == ["The lamp fails", "Tom swims"]

    # a later re-plan replaces the scenes and keeps the stored storyboard untouched
    job, _ = await run_job(plugins_with(), ["architect", "director"],
                           {"story_text": "Maya waits."}, settings=settings,
                           project_id=str(project["id"]))
    again = await payload.get("projects", project["id"])
    assert [row["description"] for row in again["generatedContent"]["scenes"]] == ["Maya waits"]
    assert again["generatedContent"]["storyboard"] == stored_board(board)
    assert again["workflowStatus"]["currentStep"] == "scene-planning"


#: the two kinds of warning the storyboard crew gives per shot (novelcrew_storyboard.crew)
SHOT_WARNINGS = [
    "scene 1: Tom is named in shot 2 but not in frame, so no reference image goes with the "
    "prompt: check before generating",
    "scene 2 is NIGHT but the shot's action says \u201cmorning sun\u201d (shot 1): check "
    "before generating",
]
#: the same as data (novelcrew_storyboard.StoryboardWarning)
SHOT_WARNING_DETAILS = [
    {"kind": "not_in_frame", "scene": 1, "shots": [2], "shot_ids": ["s001-sh02"],
     "characters": ["tom"], "locations": [], "message": SHOT_WARNINGS[0]},
    {"kind": "time_of_day_clash", "scene": 2, "shots": [1], "shot_ids": ["s002-sh01"],
     "characters": [], "locations": [], "message": SHOT_WARNINGS[1]},
]


async def test_a_storyboards_warnings_reach_novel_movie_and_the_project_advances(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        new_project: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="novelcrew_payload.observer")
    settings = payload_env(payload_server)
    project = await new_project(name="Warned storyboard")
    job, events = await run_job(plugins_with(), ["architect", "director", "storyboard"],
                                {"story_text": "The lamp fails. Tom swims.",
                                 "board_warnings": SHOT_WARNINGS,
                                 "board_details": SHOT_WARNING_DETAILS},
                                settings=settings, project_id=str(project["id"]))
    assert job.status == "succeeded" and warnings(events) == []
    # what Novel Movie's media step reads: the project from Payload's REST API, as it is
    async with httpx.AsyncClient(base_url=payload_server.url) as http:
        answer = await http.get(
            f"/api/projects/{project['id']}",
            headers={"Authorization": f"users API-Key {payload_server.api_key}"})
    assert answer.status_code == 200, answer.text
    stored = answer.json()
    board = stored["generatedContent"]["storyboard"]
    assert board["warnings"] == SHOT_WARNINGS
    # and as data, so the media step skips or flags exactly those shots without parsing words
    assert board["warning_details"] == SHOT_WARNING_DETAILS
    assert [[shot["warning_kinds"] for shot in scene["shots"]] for scene in board["scenes"]] \
        == [[[], ["not_in_frame"]], [["time_of_day_clash"], []]]
    assert board == stored_board(job.result["storyboard"])
    # per-shot and advisory: a ready storyboard with warnings advances, the warnings beside it
    assert board["ready_for_media_generation"] is True
    assert stored["workflowStatus"]["currentStep"] == "media-generation"
    # the operator's log counts them
    assert any(r.getMessage() == f"payload project {project['id']}: storyboard finished -> "
               "media-generation (storyboard stored with 2 warnings to check: 1 not_in_frame, "
               "1 time_of_day_clash)"
               for r in caplog.records), [r.getMessage() for r in caplog.records]

    # a storyboard without warnings says so with an empty list, replacing the earlier ones
    job, _ = await run_job(plugins_with(), ["architect", "director", "storyboard"],
                           {"story_text": "Maya waits."}, settings=settings,
                           project_id=str(project["id"]))
    async with httpx.AsyncClient(base_url=payload_server.url) as http:
        again = (await http.get(
            f"/api/projects/{project['id']}",
            headers={"Authorization": f"users API-Key {payload_server.api_key}"})).json()
    assert again["generatedContent"]["storyboard"]["warnings"] == []
    assert again["generatedContent"]["storyboard"]["warning_details"] == []


async def test_a_storyboard_not_ready_is_stored_but_never_advances(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    settings = payload_env(payload_server)
    planned = ["story-generation", "character-development", "scene-planning"]
    cases = {
        "offline storyboard": ({"board_offline": True}, planned),
        "no shots": ({"board_shots": False}, planned),
        # ready by its own flag, but it boarded the offline stand-in's plan
        "offline plan": ({"offline": True}, []),
    }
    for name, (inputs, completed) in cases.items():
        project = await new_project(name=name)
        job, events = await run_job(plugins_with(), ["architect", "director", "storyboard"],
                                    {"story_text": "The lamp fails.", **inputs},
                                    settings=settings, project_id=str(project["id"]))
        assert job.status == "succeeded" and warnings(events) == [], name
        after = await payload.get("projects", project["id"])
        assert after["workflowStatus"]["currentStep"] == "scene-planning", name
        assert steps(after) == completed, name
        stored = after["generatedContent"]["storyboard"]
        assert stored == stored_board(job.result["storyboard"]), name
    assert stored["ready_for_media_generation"] is True  # the last case: its own flag said so
    assert job.result["director"]["model"]["offline"] is True


async def test_a_payload_schema_without_the_storyboard_field_is_reported(
        tmp_path: Path, payload_env: Callable[..., Settings],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="novelcrew_payload.observer")
    # Novel Movie's projects collection as it is today: Payload answers 200 and drops the field
    server = PayloadServer(data_dir=tmp_path / "payload-db",
                           env={"PAYLOAD_WITHOUT_STORYBOARD": "1"}).start()
    try:
        settings = payload_env(server)
        project_id = str(server.seeded["projectId"])
        job, events = await run_job(plugins_with(), ["architect", "director", "storyboard"],
                                    {"board_warnings": SHOT_WARNINGS},
                                    settings=settings, project_id=project_id)
        async with PayloadClient(PayloadConfig(url=server.url, api_key=server.api_key)) as c:
            after = await c.get("projects", project_id)
    finally:
        server.stop()
    assert job.status == "succeeded" and job.result["storyboard"]["scenes"]
    (found,) = warnings(events)
    assert f"Payload project {project_id} has no generatedContent.storyboard field" in found
    # the log never claims a storyboard (or its warnings) Payload dropped was stored
    assert not [r for r in caplog.records if "storyboard stored" in r.getMessage()]
    assert "storyboard" not in after["generatedContent"]
    assert len(after["generatedContent"]["scenes"]) == 3  # the director's, from the seeded story
    assert after["workflowStatus"]["currentStep"] == "media-generation"


async def test_offline_results_are_marked_and_never_advance_the_workflow(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any],
        client_config: Callable[..., PayloadConfig]) -> None:
    settings = payload_env(payload_server)
    project = await new_project(name="Offline chain")
    recorder = ProjectRecorder(client_config(payload_server))
    job, events = await run_job(plugins_with(recorder), ["architect", "director"],
                                {"story_text": "The lamp fails. Tom swims.", "offline": True},
                                settings=settings, project_id=str(project["id"]))
    assert job.status == "succeeded" and warnings(events) == []
    seen = [(crew, kind, p["workflowStatus"]["currentStep"], steps(p))
            for crew, kind, p in recorder.seen]
    # each crew stays at the step it belongs to; no step is ever completed
    assert seen == [
        ("architect", "crew_started", "story-generation", []),
        ("architect", "crew_finished", "story-generation", []),
        ("director", "crew_started", "scene-planning", []),
        ("director", "crew_finished", "scene-planning", []),
    ]
    # the architect's scenes were stored (and replaced by the director's), marked offline
    after_architect = recorder.seen[1][2]["generatedContent"]["scenes"]
    assert [row["description"] for row in after_architect] == [
        OFFLINE_MARK + "The lamp fails", OFFLINE_MARK + "Tom swims"]
    final = recorder.seen[-1][2]["generatedContent"]["scenes"]
    assert [row["heading"] for row in final] == [OFFLINE_MARK + "EXT. GULL ROCK - NIGHT"] * 2
    assert all(row["description"].startswith(OFFLINE_MARK) for row in final)

    # a real run afterwards advances as usual, and its scenes replace the offline ones
    job, _ = await run_job(plugins_with(), ["architect"], {"story_text": "Maya waits."},
                           settings=settings, project_id=str(project["id"]))
    assert job.status == "succeeded"
    project = await payload.get("projects", project["id"])
    assert project["workflowStatus"]["currentStep"] == "scene-planning"
    assert steps(project) == ["story-generation", "character-development"]
    assert [row["description"] for row in project["generatedContent"]["scenes"]] == [
        "Maya waits"]


async def test_running_again_keeps_steps_unique_and_a_later_status(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    settings = payload_env(payload_server)
    project = await new_project(name="Again", status="in-production")
    for _ in range(2):
        job, events = await run_job(plugins_with(), ["architect"], {"story_text": "One. Two."},
                                    settings=settings, project_id=str(project["id"]))
        assert job.status == "succeeded" and warnings(events) == []
    after = await payload.get("projects", project["id"])
    assert steps(after) == ["story-generation", "character-development"]
    assert after["status"] == "in-production"  # only a draft becomes story-in-progress


async def test_an_update_lost_to_an_outage_is_made_good_by_the_next(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any],
        client_config: Callable[..., PayloadConfig]) -> None:
    # deadlines short enough for a frozen server to exhaust, long enough that a busy machine
    # does not time out the calls made while the server runs (one warning, not two)
    settings = payload_env(payload_server, NOVELCREW_PAYLOAD_TIMEOUT_SECONDS="3",
                           NOVELCREW_PAYLOAD_UPDATE_BUDGET_SECONDS="6")
    project = await new_project(name="Outage")
    recorder = ProjectRecorder(client_config(payload_server, timeout_seconds=5))
    try:
        job, events = await run_job(plugins_with(Freezer(payload_server), recorder),
                                    ["architect", "director"], {"story_text": "A. B."},
                                    settings=settings, project_id=str(project["id"]))
    finally:
        payload_server.resume()
    assert job.status == "succeeded"
    found = warnings(events)
    assert len(found) == 1, found
    assert "after architect finished" in found[0] and "timed out" in found[0]
    director_started = next(p for crew, kind, p in recorder.seen
                            if (crew, kind) == ("director", "crew_started"))
    assert steps(director_started) == ["story-generation", "character-development"]
    final = await payload.get("projects", project["id"])
    assert steps(final) == ["story-generation", "character-development", "scene-planning"]
    assert len(final["generatedContent"]["scenes"]) == 2


async def test_payload_stopped_mid_job_costs_a_warning_not_the_result(
        own_payload_server: PayloadServer, payload_env: Callable[..., Settings]) -> None:
    server = own_payload_server
    settings = payload_env(server)
    project_id = str(server.seeded["projectId"])
    job, events = await run_job(plugins_with(Killer(server)), ["architect", "director"], {},
                                settings=settings, project_id=project_id)

    assert not server.running
    assert job.status == "succeeded"
    assert [s["number"] for s in job.result["director"]["scenes"]] == [1, 2, 3]
    found = warnings(events)
    assert len(found) == 2
    assert f"could not update Payload project {project_id} after director started" in found[0]
    assert f"could not update Payload project {project_id} after director finished" in found[1]
    assert all("unreachable" in message for message in found)
    assert "attempts)" in found[0]  # retried with backoff within the update budget
    assert "attempts)" not in found[1]  # Payload known to be away: one attempt, no waiting
    assert events[-1].type == "succeeded"


async def test_a_frozen_payload_delays_a_job_within_its_budget(
        own_payload_server: PayloadServer, payload_env: Callable[..., Settings],
        crewai_imported: None) -> None:
    server = own_payload_server
    settings = payload_env(server, NOVELCREW_PAYLOAD_TIMEOUT_SECONDS="0.5",
                           NOVELCREW_PAYLOAD_UPDATE_BUDGET_SECONDS="1")
    server.pause()  # accepts connections, never answers
    try:
        job, events = await asyncio.wait_for(
            run_job(plugins_with(), ["architect", "director"], {"story_text": "A. B."},
                    settings=settings, project_id=str(server.seeded["projectId"])),
            timeout=30)
    finally:
        server.resume()
    assert job.status == "succeeded" and len(job.result["director"]["scenes"]) == 2
    found = warnings(events)
    assert len(found) == 4
    assert all("timed out" in m or "did not answer" in m for m in found), found


async def test_a_rejected_key_is_a_warning_and_is_not_retried(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any], crewai_imported: None) -> None:
    project = await new_project(name="Wrong key")
    settings = payload_env(payload_server, api_key="wrong-key",
                           NOVELCREW_PAYLOAD_UPDATE_BUDGET_SECONDS="50",
                           NOVELCREW_PAYLOAD_BACKOFF_SECONDS="5")
    job, events = await asyncio.wait_for(
        run_job(plugins_with(), ["architect"], {"story_text": "A."}, settings=settings,
                project_id=str(project["id"])), timeout=30)
    assert job.status == "succeeded"
    found = warnings(events)
    assert len(found) == 2 and all("rejected the API key (403)" in m for m in found)
    untouched = await payload.get("projects", project["id"])
    assert untouched["workflowStatus"]["currentStep"] == "project-setup"


async def test_jobs_without_a_project_or_without_payload_leave_it_alone(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    settings = payload_env(payload_server)
    job, events = await run_job(plugins_with(), ["architect"], {"story_text": "A."},
                                settings=settings)
    assert job.status == "succeeded" and warnings(events) == []
    project = await new_project(name="Unconfigured")
    unset = payload_env(payload_server, NOVELCREW_PAYLOAD_URL="")
    job, events = await run_job(plugins_with(), ["architect"], {"story_text": "A."},
                                settings=unset, project_id=str(project["id"]))
    assert job.status == "succeeded" and warnings(events) == []
    untouched = await payload.get("projects", project["id"])
    assert untouched["workflowStatus"]["currentStep"] == "project-setup"


def test_a_storyboard_made_before_its_warnings_were_data_stores_an_empty_list() -> None:
    """An older storyboard crew gives only the words; Payload still gets the key, and entries
    that are not objects are not stored as if they were."""
    older = {"bible": {}, "scenes": [], "warnings": SHOT_WARNINGS}
    board = storyboard_from_output(older)
    assert board is not None
    assert board["warnings"] == SHOT_WARNINGS and board["warning_details"] == []
    board = storyboard_from_output({**older, "warning_details": [SHOT_WARNING_DETAILS[0], "x"]})
    assert board is not None and board["warning_details"] == [SHOT_WARNING_DETAILS[0]]


# a job that fails or is cancelled ----------------------------------------------------------


def where(project: dict[str, Any]) -> tuple[str, str, list[str]]:
    return project["status"], project["workflowStatus"]["currentStep"], steps(project)


async def test_a_job_that_fails_at_once_puts_the_project_back_where_it_found_it(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any],
        client_config: Callable[..., PayloadConfig]) -> None:
    settings = payload_env(payload_server)
    recorder = ProjectRecorder(client_config(payload_server))
    fresh = await new_project(name="Fails at once")
    job, events = await run_job(plugins_with(recorder), ["architect", "director"],
                                {"story_text": "A.", "architect_fails": True},
                                settings=settings, project_id=str(fresh["id"]))
    assert job.status == "failed" and warnings(events) == []
    # while it ran, the project showed story generation under way ...
    assert [(crew, kind, where(p)) for crew, kind, p in recorder.seen] == [
        ("architect", "crew_started", ("story-in-progress", "story-generation", []))]
    # ... and once it failed, Novel Movie no longer shows it generating: it is a draft again
    after = await payload.get("projects", fresh["id"])
    assert where(after) == ("draft", "project-setup", [])
    assert after["workflowStatus"]["lastActivity"] > \
        recorder.seen[0][2]["workflowStatus"]["lastActivity"]

    # a project further on goes back to its own step and keeps its status and steps
    done = [{"step": "story-generation", "completedAt": "2026-01-02T03:04:05.000Z"},
            {"step": "character-development", "completedAt": "2026-01-02T03:04:05.000Z"},
            {"step": "scene-planning", "completedAt": "2026-01-02T03:04:05.000Z"}]
    later = await new_project(name="Fails on a re-run", status="in-production",
                              workflowStatus={"currentStep": "media-generation",
                                              "completedSteps": done})
    job, _ = await run_job(plugins_with(), ["architect"], {"story_text": "A.",
                                                           "architect_fails": True},
                           settings=settings, project_id=str(later["id"]))
    assert job.status == "failed"
    after = await payload.get("projects", later["id"])
    assert where(after) == ("in-production", "media-generation",
                            ["story-generation", "character-development", "scene-planning"])
    assert [row["id"] for row in after["workflowStatus"]["completedSteps"]] == \
        [row["id"] for row in later["workflowStatus"]["completedSteps"]]


async def test_a_failed_chain_keeps_what_its_finished_crews_did(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    settings = payload_env(payload_server)
    project = await new_project(name="Director fails")
    job, events = await run_job(plugins_with(), ["architect", "director"],
                                {"story_text": "A. B.", "director_fails": True},
                                settings=settings, project_id=str(project["id"]))
    assert job.status == "failed" and job.error is not None and job.error.crew == "director"
    assert warnings(events) == []
    after = await payload.get("projects", project["id"])
    # the analysis is real and stays: its steps are done, the scene plan is next
    assert where(after) == ("story-in-progress", "scene-planning",
                            ["story-generation", "character-development"])
    assert [row["description"] for row in after["generatedContent"]["scenes"]] == ["A", "B"]


async def test_a_cancelled_job_puts_the_project_back_too(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    settings = payload_env(payload_server)
    project = await new_project(name="Cancelled")
    job, _ = await run_job(plugins_with(), ["architect"],
                           {"story_text": "A.", "architect_cancelled": True},
                           settings=settings, project_id=str(project["id"]))
    assert job.status == "cancelled"
    assert where(await payload.get("projects", project["id"])) == (
        "draft", "project-setup", [])


class MovesTheProject:
    """Someone (Novel Movie's user) moves the project on before the job's failure is heard."""

    def __init__(self, config: PayloadConfig) -> None:
        self.config = config

    @hookimpl(tryfirst=True)
    def job_event(self, event: JobEvent, job: Job) -> Any:
        if event.type != "failed":
            return None

        async def move() -> None:
            async with PayloadClient(self.config) as client:
                await client.patch("projects", job.project_id or "",
                                   {"workflowStatus": {"currentStep": "final-review"}})

        return move()


async def test_a_failed_job_leaves_a_project_moved_since_alone(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any],
        client_config: Callable[..., PayloadConfig]) -> None:
    settings = payload_env(payload_server)
    project = await new_project(name="Moved by hand")
    job, events = await run_job(plugins_with(MovesTheProject(client_config(payload_server))),
                                ["architect"], {"story_text": "A.", "architect_fails": True},
                                settings=settings, project_id=str(project["id"]))
    assert job.status == "failed" and warnings(events) == []
    after = await payload.get("projects", project["id"])
    assert after["workflowStatus"]["currentStep"] == "final-review"


async def test_a_failure_heard_by_another_process_goes_back_by_the_completed_steps(
        payload_server: PayloadServer, payload_env: Callable[..., Settings],
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    """A worker that died mid-job took its memory along: the job's failure, recorded by
    another process, still moves the project off the step its crew had set."""
    settings = payload_env(payload_server)
    analysed = [{"step": "story-generation", "completedAt": "2026-01-02T03:04:05.000Z"},
                {"step": "character-development", "completedAt": "2026-01-02T03:04:05.000Z"}]
    cases = {"fresh": ([], "project-setup"), "analysed": (analysed, "scene-planning")}
    for name, (done, back) in cases.items():
        project = await new_project(name=name, workflowStatus={
            "currentStep": "story-generation", "completedSteps": done})
        job = Job(crews=["architect", "director"], project_id=str(project["id"]),
                  status="failed", progress={"current_crew": "architect"})
        event = JobEvent(seq=5, job_id=job.id, type="failed", crew="architect")
        update = observe(event, job, lambda: settings)
        assert update is not None, name
        await update
        after = await payload.get("projects", project["id"])
        assert after["workflowStatus"]["currentStep"] == back, name
        assert steps(after) == [row["step"] for row in done], name
    # a second attempt new to this process (another worker ran the first, which moved the
    # project) does not take the step it finds for the one before the job
    for attempts, back in ((1, "story-generation"), (2, "project-setup")):
        project = await new_project(name=f"attempt {attempts}", workflowStatus={
            "currentStep": "story-generation"})
        job = Job(crews=["architect"], project_id=str(project["id"]), status="running",
                  attempts=attempts, progress={"current_crew": "architect"})
        for seq, kind in enumerate(("crew_started", "failed"), start=3):
            update = observe(JobEvent(seq=seq, job_id=job.id, type=kind, crew="architect"), job,
                             lambda: settings)
            assert update is not None
            await update
        after = await payload.get("projects", project["id"])
        assert after["workflowStatus"]["currentStep"] == back, attempts
    # a job whose crew never started never moved the project: nothing to undo
    idle = Job(crews=["architect"], project_id=str(project["id"]), status="failed")
    assert observe(JobEvent(seq=3, job_id=idle.id, type="failed"), idle,
                   lambda: settings) is None


async def test_a_project_id_payload_could_never_have_costs_one_warning_and_no_request(
        payload_server: PayloadServer, payload_env: Callable[..., Settings]) -> None:
    """Submission accepts any project id (it also names the job's knowledge graph, and a
    Payload may use other ids); the observer says once that it leaves Payload alone."""
    settings = payload_env(payload_server)
    for bad in ("abc", "../users/1"):
        job, events = await run_job(plugins_with(), ["architect", "director"],
                                    {"story_text": "A. B."}, settings=settings,
                                    project_id=bad)
        assert job.status == "succeeded" and len(job.result["director"]["scenes"]) == 2
        assert warnings(events) == [
            f"job_event observer 'payload' failed: PayloadSyncError: project id {bad!r} is not "
            "a Payload document id (an integer, an ObjectId or a UUID), so this job leaves "
            "Payload alone; its result is in the job"]
    # with no story given, the architect's read of Payload's story says why it cannot
    job, events = await run_job(plugins_with(), ["architect"], {}, settings=settings,
                                project_id="abc")
    assert job.status == "failed" and job.error is not None and job.attempts == 1
    assert job.error.type == "invalid_payload_id"
    assert job.error.message.startswith("not a Payload document id: 'abc'")
    # never asked of Payload (SQLite answers such an id with a 500): no outage is assumed
    assert known_outage(f"{payload_server.url}/api") is None


FAILURES = "novelcrew_job_observer_failures_total"


async def until(predicate: Callable[[], bool], timeout: float = 30) -> bool:
    """Whether ``predicate`` came true within ``timeout`` seconds (checked on this loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_restore_that_meets_an_outage_is_shown_and_done_once_payload_is_back(
        tmp_path: Path, payload_env: Callable[..., Settings],
        caplog: pytest.LogCaptureFixture) -> None:
    """Payload goes away while a job runs and the job fails: the project cannot be put back
    at once, and the job's log is closed by then. The restore is listed on the update
    tool's health line and done in the background once Payload is back at its address."""
    same = {"PAYLOAD_SECRET": "the-same-secret"}  # API keys are stored under the secret
    server = PayloadServer(data_dir=tmp_path / "payload-db", env=same).start()
    back: PayloadServer | None = None
    try:
        settings = payload_env(server)
        project_id = str(server.seeded["projectId"])
        store = SQLiteStore(tmp_path / "jobs.sqlite3")
        counted = REGISTRY.get_sample_value(FAILURES, {"plugin": "payload", "ended": "true"})
        with caplog.at_level(logging.WARNING):
            killer = Killer(server, on="crew_started")
            job, events = await run_job(plugins_with(killer), ["architect"],
                                        {"story_text": "A.", "architect_fails": True},
                                        settings=settings, project_id=project_id, store=store)
        assert job.status == "failed" and not server.running
        # the ending is the log's last event: nothing written after it, in any store
        assert events[-1].type == "failed"
        assert REGISTRY.get_sample_value(FAILURES, {"plugin": "payload", "ended": "true"}) \
            == (counted or 0) + 1
        assert f"payload project {project_id}: the restore after the job failed in architect " \
               f"is tried again in the background" in caplog.text
        [pending] = pending_restores(f"{server.url}/api")
        assert (pending.project_id, pending.job_id, pending.step) == (
            project_id, job.id, "story-generation")
        line = await tool_health("payload_update_project")(settings)
        assert line.status == "down" and "unreachable" in line.detail
        assert f"put back once Payload answers: {project_id} (job {job.id}" in line.detail
        assert [p["project_id"] for p in line.data["restores_pending"]] == [project_id]
        assert "restores_pending" not in (
            await tool_health("payload_read_project")(settings)).data

        back = PayloadServer(data_dir=server.data_dir, api_key=server.api_key,
                             port=server.port, env=same).start()
        assert await until(lambda: not pending_restores())
        async with PayloadClient(PayloadConfig(url=back.url, api_key=back.api_key)) as client:
            project = await client.get("projects", project_id)
        # the seeded project was a draft at project-setup before the job: so it is again
        assert where(project) == ("draft", "project-setup", [])
        assert "restores_pending" not in (
            await tool_health("payload_update_project")(settings)).data
        await store.close()
    finally:
        if back is not None:
            back.stop()
        server.stop()


async def test_a_late_restore_leaves_a_project_a_new_job_has_moved_alone(
        payload_server: PayloadServer, payload: PayloadClient,
        new_project: Callable[..., Any], client_config: Callable[..., PayloadConfig]) -> None:
    """A restore tried again in the background carries the ``lastActivity`` of the ended job's
    last update: a new job of the project that set the same step since is not undone."""
    config = client_config(payload_server)
    project = await new_project(name="Re-run during an outage")
    await sync_project(config, str(project["id"]),
                       Transition(WorkflowStep.story_generation), "architect started")
    left = (await payload.get("projects", project["id"]))["workflowStatus"]["lastActivity"]
    # a new job of the project starts: the same step, a later lastActivity
    await payload.patch("projects", project["id"], {"workflowStatus": {
        "currentStep": "story-generation", "lastActivity": "2099-01-01T00:00:00.000Z"}})
    await restore_project(config, str(project["id"]), expect="story-generation",
                          step=WorkflowStep.project_setup, activity=left)
    after = await payload.get("projects", project["id"])
    assert after["workflowStatus"]["currentStep"] == "story-generation"
    # the ended job's own last update, untouched since: put back
    await restore_project(config, str(project["id"]), expect="story-generation",
                          step=WorkflowStep.project_setup,
                          activity=after["workflowStatus"]["lastActivity"])
    back = await payload.get("projects", project["id"])
    assert back["workflowStatus"]["currentStep"] == "project-setup"
