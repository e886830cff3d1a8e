"""The director crew run as a job (the SDK's runner) on the scripted LLM and a memory graph."""

from __future__ import annotations

import json
import math
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from director_fixtures import (
    CHARACTERS,
    PROJECT,
    SCENES,
    SHOT_PLANS,
    MemoryGraph,
    breakdown_reply,
    director_replies,
    final,
    graph_plugin,
    prompt_scene,
    shots_reply,
)

from novelcrew.backends.memory import MemoryStore
from novelcrew.jobs import Job, JobEvent
from novelcrew.runner import JobRunner
from novelcrew_director import ScenePlan
from novelcrew_director.framing import framing_warning
from novelcrew_director.models import PlannedScene, Shot
from novelcrew_sdk import ScriptedLLM, make_plugins, make_settings, run_job


async def run_director(tmp_path: Path, graph: MemoryGraph, llm: ScriptedLLM,
                       inputs: dict[str, Any] | None = None,
                       project_id: str = PROJECT) -> tuple[Job, list[JobEvent]]:
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    return await run_job(plugins, "director", inputs or {}, settings=settings,
                         project_id=project_id)


def prompts_by_scene(llm: ScriptedLLM) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for call in llm.calls:
        if call.role in ("Scene Analysis Director", "Cinematography Specialist"):
            out.setdefault(prompt_scene(call.prompt), []).append(call.prompt)
    return out


async def test_every_scene_planned_and_totals_match_the_shots(
        tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies())
    job, events = await run_director(tmp_path, graph, llm, {
        "constraints": {"budget_level": "low", "shooting_days": 2},
        "preferences": {"style": "naturalistic, handheld", "tone": "elegiac"},
    })
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.number for s in plan.scenes] == [1, 2, 3, 4]
    assert plan.failed_scenes == []
    assert plan.scenes[0].heading == "INT. KEEPER'S KITCHEN - NIGHT"
    assert plan.scenes[2].heading == "EXT. GANNET POINT ROCKS - NIGHT"
    assert plan.scenes[2].location == "Gannet Point Rocks"
    assert [shot.number for shot in plan.scenes[1].shots] == [1, 2, 3]
    # totals are the shots' sums, whatever the model said
    all_shots = [shot for scene in plan.scenes for shot in scene.shots]
    assert plan.totals.scenes == 4
    assert plan.totals.shots == len(all_shots) == sum(len(v) for v in SHOT_PLANS.values())
    expected_seconds = sum(s[4] for v in SHOT_PLANS.values() for s in v)
    assert math.isclose(plan.totals.estimated_screen_time_seconds, expected_seconds)
    assert plan.totals.shot_sizes["CU"] == 2
    assert sum(plan.totals.shot_sizes.values()) == plan.totals.shots
    assert {"drone", "crane/jib arm", "Steadicam or gimbal rig", "dolly and track"} <= set(
        plan.totals.equipment)
    assert {"drone pilot", "Steadicam operator", "boom operator"} <= set(plan.totals.crew)
    assert plan.totals.locations == sorted({v[1] for v in SCENES.values()})
    # 9 shots with setups of 15-60 min, 3 takes each: a day's work for day scenes 2 and 4,
    # a night's for night scenes 1 and 3, each with one company move
    assert 4 < plan.totals.estimated_shooting_hours <= 20
    assert plan.totals.shooting_days == plan.schedule.shooting_days == 2
    assert [[s.scene for s in d.strips] for d in plan.schedule.days] == [[4, 2], [1, 3]]
    assert plan.totals.company_moves == 2
    assert plan.totals.fits_schedule is True
    assert "company move" in plan.totals.method and "pages" in plan.totals.method
    assert plan.model.models == {"Scene Analysis Director": "scripted",
                                 "Cinematography Specialist": "scripted"}
    assert plan.model.offline is False
    # preferences reach every prompt; each prompt carries its scene's characters
    for number, prompts in prompts_by_scene(llm).items():
        for prompt in prompts:
            assert "Style: naturalistic, handheld" in prompt
            assert "Budget level: low" in prompt
            for name in SCENES[number][3]:
                # the breakdown gets each character's entry; the shot list who is who
                entry = CHARACTERS[name].split(".")[1].strip()
                assert entry in prompt or f"{name.lower()} = {name}" in prompt
    # progress ends complete, and the job's events tell the story of the run
    assert job.progress.completed_tasks == job.progress.total_tasks == 2 * 4 + 2
    started = [e.message for e in events if e.type == "task_started"]
    assert "Scene 3: shot list" in started
    assert started[0] == "Read the story from the knowledge graph"


async def test_scene_selection_plans_only_those_scenes_with_only_their_context(
        tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies())
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": "2-3"})
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.number for s in plan.scenes] == [2, 3]
    assert plan.totals.scenes == 2
    assert plan.totals.shots == len(SHOT_PLANS[2]) + len(SHOT_PLANS[3])
    assert "drone" not in plan.totals.equipment  # only scene 1 flies a drone
    prompts = prompts_by_scene(llm)
    assert sorted(prompts) == [2, 3]
    for number, texts in prompts.items():
        for text in texts:
            own = SCENES[number]
            assert own[6][0] in text  # its dialogue
            assert own[5] in text or "Cinematography" in text  # purpose: the breakdown's
            for other, facts in SCENES.items():
                if other != number:
                    # other scenes' dialogue and purpose never leak in
                    assert facts[6][0] not in text
                    assert facts[5] not in text
                    # neighbours appear only as their one-line summary
                    if abs(other - number) > 1:
                        assert facts[0] not in text
    assert "Previous scene (Scene 1)" in prompts[2][0]
    assert "Next scene (Scene 4)" in prompts[3][0]
    # only the selected scenes were looked up one by one
    per_scene = {q["query"] for q in graph.queries if q["entity_types"] is None}
    assert per_scene == {"Scene 2", "Scene 3"}
    # and only their shots were written back
    written = [e["entity_name"] for kg in graph.inserts for e in kg["entities"]
               if e["entity_type"] == "shot"]
    assert {name.split(" Shot")[0] for name in written} == {"Scene 2", "Scene 3"}


async def test_shots_whose_framing_contradicts_itself_are_flagged(
        tmp_path: Path, graph: MemoryGraph) -> None:
    """The model's framing is kept as given, and the plan says where it does not add up."""
    framing = {  # (size, coverage, subjects) per shot
        1: [("MWS", "two-shot", ["Mara"]), ("MCU", "single", ["Mara"])],
        2: [("WS", "master", ["Mara", "Tomas"]), ("MCU", "single", ["Mara", "Tomas"]),
            ("MS", "over-the-shoulder", ["Tomas", "Mara"])],
        3: [("WS", "master", []), ("CU", "single", [])],
        4: [("MWS", "two-shot", ["Tomas", "Mara"]), ("INSERT", "insert", [])],
    }

    def shots(number: int, prompt: str) -> str:
        return final({"shots": [
            {"size": size, "coverage": coverage, "subjects": subjects, "angle": "eye level",
             "movement": "static", "lens_mm": 35, "estimated_duration_seconds": 4}
            for size, coverage, subjects in framing[number]]})

    llm = ScriptedLLM(replies=director_replies(shots=shots))
    job, _ = await run_director(tmp_path, graph, llm)
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    second = plan.scenes[1].shots
    assert [s.coverage for s in second] == ["master", "single", "over-the-shoulder"]
    assert second[1].subjects == ["mara", "tomas"]  # kept as the model gave them
    assert [w for w in plan.warnings if w.startswith("scene ")] == [
        "scene 1: shot 1 is a two-shot on 1 person (Mara); it frames two people",
        "scene 2: shot 2 is a single on 2 people (Mara, Tomas); it frames one person",
        "scene 3: shot 2 is a single that names nobody in frame",
    ]


def test_a_shot_of_someone_the_scene_does_not_have_is_flagged() -> None:
    scene = PlannedScene(number=5, heading="INT. KITCHEN - NIGHT", summary="Supper.", shots=[
        Shot(number=1, size="WS", coverage="master", subjects=["mara", "tomas"],
             estimated_duration_seconds=4),
        Shot(number=2, size="CU", coverage="single", subjects=["mara"],
             estimated_duration_seconds=2)])
    names = {"mara": "Mara Vell", "tomas": "Tomas Vell"}
    warning = framing_warning(scene, {"mara"}, names.__getitem__)
    assert warning is not None and warning.message == (
        "scene 5: shot 1 frames Tomas Vell, not in the scene's cast")
    assert (warning.kind, warning.scene, warning.shots, warning.characters) == (
        "framing", 5, [1], ["tomas"])
    assert framing_warning(scene, {"mara", "tomas"}, names.__getitem__) is None


async def test_rejected_answers_are_retried_and_a_failing_scene_is_reported(
        tmp_path: Path, graph: MemoryGraph) -> None:
    def shots(number: int, prompt: str) -> str:
        if number == 2 and "REJECTED" not in prompt:
            # valid JSON of the wrong shape: no durations
            return final({"shots": [{"shot_type": "wide", "angle": "eye level"}]})
        return final(shots_reply(number))

    def breakdown(number: int, prompt: str) -> str:
        if number == 3:
            return "Thought: the storm is too big.\nFinal Answer: I cannot break this down."
        return final(breakdown_reply(number))

    llm = ScriptedLLM(replies=director_replies(breakdown=breakdown, shots=shots))
    job, events = await run_director(tmp_path, graph, llm, {"max_attempts": 2})
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.number for s in plan.scenes] == [1, 2, 4]
    assert [(f.number, f.attempts) for f in plan.failed_scenes] == [(3, 2)]
    assert "breakdown" in plan.failed_scenes[0].error
    assert plan.totals.scenes == 3
    assert plan.totals.shots == sum(len(SHOT_PLANS[n]) for n in (1, 2, 4))
    scene2 = next(s for s in plan.scenes if s.number == 2)
    assert scene2.attempts == 2 and len(scene2.shots) == len(SHOT_PLANS[2])
    # the retry fed the validation error back, and redid only the shot list
    calls2 = [c for c in llm.calls if c.role and prompt_scene(c.prompt) == 2]
    assert [c.role for c in calls2] == ["Scene Analysis Director", "Cinematography Specialist",
                                        "Cinematography Specialist"]
    retry = calls2[-1].prompt
    assert "YOUR PREVIOUS ANSWER WAS REJECTED (shot list)" in retry
    assert "estimated_duration_seconds" in retry
    assert "approved breakdown" in retry
    assert '"blocking":["Mara starts by the window","Tomas crosses to frame left"]' in retry
    # scene 3 was asked twice, then given up on; the job says so
    calls3 = [c for c in llm.calls if c.role == "Scene Analysis Director"
              and prompt_scene(c.prompt) == 3]
    assert len(calls3) == 2
    warnings = [e for e in events if e.type == "warning"]
    assert any(e.data.get("scene") == 2 and e.data.get("attempt") == 1 for e in warnings)
    final_warning = [e for e in warnings if "could not be planned" in e.message]
    assert final_warning and final_warning[0].data["failed_scenes"][0]["number"] == 3
    assert job.progress.completed_tasks == job.progress.total_tasks
    # each planned scene was published as it finished (a failed one never is), as planned
    pieces = {int(e.data["key"]): e for e in events if e.type == "partial"}
    assert sorted(pieces) == [1, 2, 4]
    assert {e.data["kind"] for e in pieces.values()} == {"scene"}
    assert {e.data["total"] for e in pieces.values()} == {4}
    final_2 = next(s for s in job.result["director"]["scenes"] if s["number"] == 2)
    # the scene as planned; continuity across scenes and the warnings' flags (which need
    # every scene) are added once all are in
    def as_planned(scene: dict[str, Any]) -> dict[str, Any]:
        shots = [{k: v for k, v in shot.items() if k != "warning_kinds"}
                 for shot in scene["shots"]]
        return {**{k: v for k, v in scene.items() if k not in ("breakdown", "warning_kinds")},
                "shots": shots}

    assert as_planned(pieces[2].data["item"]) == as_planned(final_2)
    assert final_2["shots"][1]["warning_kinds"] == ["framing"]  # a single of two, flagged
    finished = next(e.seq for e in events if e.type == "crew_finished")
    assert all(e.seq < finished for e in pieces.values())
    assert job.partial["director"]["scene"].done == 3


async def test_job_fails_clearly_when_no_scene_can_be_planned(
        tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies(
        shots=lambda n, p: "Final Answer: a lovely shot list, trust me"))
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": [1], "max_attempts": 2})
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "planning_failed"
    assert "scene 1" in job.error.message and "shot list" in job.error.message


async def test_shots_are_written_back_to_the_graph(tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies())
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": [3]})
    assert job.status == "succeeded", job.error
    found = graph.query(PROJECT, "Scene 3 Shot", entity_types=["shot"])
    names = sorted(e["name"] for e in found["entities"] if e["type"] == "shot")
    assert names == [f"Scene 3 Shot {m}" for m in range(1, len(SHOT_PLANS[3]) + 1)]
    shot1 = graph.entities[PROJECT]["scene 3 shot 1"]["description"]
    assert re.search(r"^Lens: 18mm$", shot1, re.M) and "Duration: 8s" in shot1
    rels = graph.relationships[PROJECT]
    for m in range(1, len(SHOT_PLANS[3]) + 1):
        assert rels[(f"scene 3 shot {m}", "scene 3")]["keywords"] == "shot_of"
    scene = graph.entities[PROJECT]["scene 3"]["description"]
    # the scene keeps the architect's lines and gains the plan's heading and mood
    assert scene.startswith("Scene 3: ") and "Location: Gannet Point Rocks" in scene
    assert "Heading: EXT. GANNET POINT ROCKS - NIGHT" in scene
    assert "Mood: terror turning to resolve" in scene


async def test_each_written_shot_says_which_model_planned_it(tmp_path: Path,
                                                             graph: MemoryGraph) -> None:
    """A reader of the graph alone (the storyboard boarding a project) must tell the offline
    stand-in's placeholder plan from a real one: the mark travels as a line of text."""
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"])
    job, _ = await run_job(plugins, "director", {"scenes": [3]}, project_id=PROJECT,
                           settings=make_settings(tmp_path / "off", default_model="offline"))
    assert job.status == "succeeded", job.error
    made = "Made by: the offline stand-in model (a placeholder, not for media generation)"
    shots = [e["description"] for e in graph.entities[PROJECT].values() if e["type"] == "shot"]
    assert shots and all(d.endswith(f"\n{made}") for d in shots)
    assert all(c["content"].endswith(made) for c in graph.inserts[-1]["chunks"])
    # a real re-plan's line names its model, in place of the stand-in's
    job, _ = await run_director(tmp_path, graph, ScriptedLLM(replies=director_replies()),
                                {"scenes": [3]})
    assert job.status == "succeeded", job.error
    shots = [e["description"] for e in graph.entities[PROJECT].values() if e["type"] == "shot"]
    assert shots and all(d.endswith("\nMade by: scripted") for d in shots)


async def test_empty_graph_asks_for_the_architect(tmp_path: Path) -> None:
    llm = ScriptedLLM(replies=director_replies())
    job, _ = await run_director(tmp_path, MemoryGraph(), llm, project_id="empty-project")
    assert job.status == "failed"
    assert job.error is not None and job.error.type == "invalid_input"
    assert "run the architect crew first" in job.error.message
    assert llm.calls == []


async def test_selecting_a_scene_the_story_lacks_is_invalid(
        tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies())
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": "4-6"})
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "invalid_input"
    assert "5, 6" in job.error.message and "1-4" in job.error.message


def test_totals_heuristic_follows_budget_and_schedule() -> None:
    from novelcrew_director import Constraints, PlannedScene, Shot
    from novelcrew_director.totals import compute_totals

    def scene(number: int, support: str, count: int) -> PlannedScene:
        return PlannedScene(
            number=number, heading="INT. ROOM - DAY", summary="s", location=f"Room {number}",
            shots=[Shot(number=i, size="WS", support=support, audio="MOS",
                        estimated_duration_seconds=5) for i in range(1, count + 1)])

    scenes = [scene(1, "sticks", 4), scene(2, "crane/jib", 4)]
    low = compute_totals(scenes, Constraints(budget_level="low"))
    high = compute_totals(scenes, Constraints(budget_level="high"))
    assert low.shots == high.shots == 8 and low.estimated_screen_time_seconds == 40
    assert high.estimated_shooting_hours > low.estimated_shooting_hours
    assert "crane operator" in low.crew and "boom operator" not in low.crew  # MOS: no sound
    big = compute_totals([scene(1, "crane/jib", 30)], Constraints(shooting_days=1))
    assert big.shooting_days > 1 and big.fits_schedule is False


def test_plan_with_inconsistent_totals_is_rejected() -> None:
    from novelcrew_director import Constraints, PlannedScene, Shot
    from novelcrew_director.totals import compute_totals

    scene = PlannedScene(number=1, heading="INT. ROOM - DAY", summary="s", location="Room",
                         shots=[Shot(number=1, size="WS", support="crane/jib",
                                     estimated_duration_seconds=5)])
    plan = ScenePlan(scenes=[scene], totals=compute_totals([scene], Constraints()))
    assert ScenePlan.model_validate(json.loads(plan.model_dump_json())) == plan
    broken = json.loads(plan.model_dump_json())
    broken["totals"]["shots"] = 7
    with pytest.raises(ValueError, match="totals say"):
        ScenePlan.model_validate(broken)


async def test_a_model_error_fails_only_its_scene(tmp_path: Path, graph: MemoryGraph) -> None:
    def shots(number: int, prompt: str) -> str:
        if number == 2:
            raise ConnectionError("provider unreachable")
        return final(shots_reply(number))

    llm = ScriptedLLM(replies=director_replies(shots=shots))
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": "1-2", "max_attempts": 2})
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.number for s in plan.scenes] == [1]
    assert [f.number for f in plan.failed_scenes] == [2]
    assert "ModelError" in plan.failed_scenes[0].error


async def test_model_errors_on_every_scene_fail_the_job_as_a_model_error(
        tmp_path: Path, graph: MemoryGraph) -> None:
    def down(number: int, prompt: str) -> str:
        raise ConnectionError("provider unreachable")

    llm = ScriptedLLM(replies=director_replies(breakdown=down))
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": "1-2", "max_attempts": 1})
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "model_error"
    assert "no scene could be planned" in job.error.message
    assert {f["number"] for f in job.error.details["failed_scenes"]} == {1, 2}


async def test_an_outage_on_every_scene_fails_the_job_as_transient(
        tmp_path: Path, graph: MemoryGraph) -> None:
    """Only an outage (a ``TransientError`` anywhere in the error's chain) on every scene makes
    the job worth retrying whole; the backend retries ``transient_error`` jobs."""
    from novelcrew.errors import TransientError

    def down(number: int, prompt: str) -> str:
        try:
            raise TransientError("provider outage")
        except TransientError as outage:
            raise RuntimeError(f"scene {number}: the call failed") from outage

    llm = ScriptedLLM(replies=director_replies(breakdown=down))
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": "1-2", "max_attempts": 1})
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "transient_error", job.error
    assert "model unavailable" in job.error.message


async def test_scenes_are_planned_concurrently_within_the_bound(
        tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies(), latency=0.8)  # as a real provider's call
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": "1-3",
                                                        "max_parallel_scenes": 2})
    assert job.status == "succeeded", job.error
    assert len(llm.calls) == 6
    assert llm.peak_in_flight == 2  # two scenes at once, never more


async def test_replanning_a_scene_removes_its_surplus_shots(
        tmp_path: Path, graph: MemoryGraph) -> None:
    first = ScriptedLLM(replies=director_replies())
    job, _ = await run_director(tmp_path, graph, first, {"scenes": [3]})
    assert job.status == "succeeded", job.error
    one_shot = {"shots": shots_reply(3)["shots"][:1]}
    second = ScriptedLLM(replies=director_replies(shots=lambda n, p: final(one_shot)))
    job, events = await run_director(tmp_path, graph, second, {"scenes": [3]})
    assert job.status == "succeeded", job.error
    shots = sorted(k for k, e in graph.entities[PROJECT].items() if e["type"] == "shot")
    assert shots == ["scene 3 shot 1"]
    # the scene now carries the first plan's lines; the new plan starts from the story alone
    assert "Heading: " in graph.entities[PROJECT]["scene 3"]["description"]
    assert not re.search(r"^(Heading|Mood|Shots): ", second.calls[0].prompt, re.M)
    finished = [e for e in events if e.type == "task_finished"
                and e.message == "Write the shots to the knowledge graph"]
    assert sorted(finished[0].data["removed_shots"]) == ["Scene 3 Shot 2", "Scene 3 Shot 3"]


async def test_cancelling_mid_plan_stops_the_scenes_and_writes_nothing(
        tmp_path: Path, graph: MemoryGraph) -> None:
    cancel = threading.Event()

    def breakdown(number: int, prompt: str) -> str:
        cancel.set()  # the user cancels while the first scenes are being planned
        return final(breakdown_reply(number))

    llm = ScriptedLLM(replies=director_replies(breakdown=breakdown))
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted")
    store = MemoryStore()
    job = Job(crews=["director"], inputs={"max_parallel_scenes": 1}, project_id=PROJECT)
    await store.create(job)
    outcome = await JobRunner(plugins, settings, store).run(job.id, cancel)
    assert outcome.job.status == "cancelled"
    assert len(llm.calls_for("Scene Analysis Director")) == 1
    assert graph.inserts == []
    events = await store.events(job.id)
    assert events[-1].type == "cancelled"


async def test_write_back_can_be_turned_off(tmp_path: Path, graph: MemoryGraph) -> None:
    llm = ScriptedLLM(replies=director_replies())
    job, _ = await run_director(tmp_path, graph, llm, {"scenes": [4], "write_back": False})
    assert job.status == "succeeded", job.error
    assert graph.inserts == []
    assert job.progress.completed_tasks == job.progress.total_tasks == 3


async def test_scenes_in_flight_default_to_twice_the_models_call_limit(
        tmp_path: Path, graph: MemoryGraph) -> None:
    """Not every scene at once: each would park a crew and a thread in the model's queue, and
    no scene would finish before nearly all breakdowns had been answered."""
    llm = ScriptedLLM(replies=director_replies(), latency=0.1)  # scenes overlap
    plugins = make_plugins(graph_plugin(graph), entry_points=["director"], llm=llm)
    settings = make_settings(tmp_path / "data", default_model="scripted", model_concurrency=1)
    job, events = await run_job(plugins, "director", {}, settings=settings, project_id=PROJECT)
    assert job.status == "succeeded", job.error
    assert len(job.result["director"]["scenes"]) == len(SCENES) > 2
    in_flight = peak = 0
    for event in events:  # a scene is in flight from its breakdown's start to its publication
        if event.type == "task_started" and event.message.endswith(": breakdown"):
            in_flight += 1
            peak = max(peak, in_flight)
        elif event.type == "partial":
            in_flight -= 1
    assert peak == 2


async def test_a_graph_outage_while_looking_for_earlier_shots_is_a_warning(
        tmp_path: Path, graph: MemoryGraph) -> None:
    """The earlier shots are looked up as each scene is planned; when that fails, the plan is
    still written and returned, and the job says the earlier shots may remain."""

    def failing_query(project: str, query: str, **kwargs: Any) -> Any:
        if kwargs.get("entity_types") == ["shot"]:
            raise ConnectionError("graph store unreachable")
        return MemoryGraph.query(graph, project, query, **kwargs)

    graph.query = failing_query  # type: ignore[method-assign]
    llm = ScriptedLLM(replies=director_replies())
    job, events = await run_director(tmp_path, graph, llm, {"scenes": "1-2"})
    assert job.status == "succeeded", job.error
    assert len(job.result["director"]["scenes"]) == 2
    assert len(graph.inserts) == 1  # the new plan is in the graph
    warnings = [e.message for e in events if e.type == "warning"]
    assert any("could not remove earlier shots from the knowledge graph: graph store "
               "unreachable" in w for w in warnings), warnings
    finished = [e for e in events if e.type == "task_finished"
                and e.message == "Write the shots to the knowledge graph"]
    assert finished[0].data["written"] is True and finished[0].data["removed_shots"] == []
