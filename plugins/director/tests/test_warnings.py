"""The plan's warnings as data: each ``warnings`` entry has a ``warning_details`` entry (kind,
scene, scenes, shots, characters, locations, message) in the same order, and the scenes and
shots it concerns carry its kind in ``warning_kinds``, so a first AD's tool or Novel Movie
finds them without parsing English."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from director_fixtures import GROUNDED, MemoryGraph, breakdown_reply, director_replies, final
from pydantic import ValidationError
from test_grounded import _answer, run_grounded
from test_planning import run_director

from novelcrew_director import PlanWarning, ScenePlan
from novelcrew_director.models import PLAN_WARNING_KINDS
from novelcrew_sdk import ScriptedLLM
from novelcrew_sdk.openai_server import OpenAIServer

#: (size, coverage, subjects) per shot: scene 1's shot 1 is a two-shot of one, scene 2's shot 2
#: a single of two, scene 4's shot 2 a single of nobody (someone framed who is not in the
#: scene, ``characters``, is test_planning's test_a_shot_of_someone_the_scene_does_not_have)
FRAMING = {
    1: [("MWS", "two-shot", ["Mara"]), ("MCU", "single", ["Mara"])],
    2: [("WS", "master", ["Mara", "Tomas"]), ("MCU", "single", ["Mara", "Tomas"])],
    4: [("MWS", "two-shot", ["Tomas", "Mara"]), ("CU", "single", []),
        ("INSERT", "insert", [])],
}


def _shots(number: int, prompt: str) -> str:
    return final({"shots": [
        {"size": size, "coverage": coverage, "subjects": subjects, "angle": "eye level",
         "movement": "static", "lens_mm": 35, "estimated_duration_seconds": 4}
        for size, coverage, subjects in FRAMING[number]]})


def _breakdown_fails_for_3(number: int, prompt: str) -> str:
    if number == 3:
        return "Thought: the storm is too big.\nFinal Answer: I cannot break this down."
    return final(breakdown_reply(number))


def _as_data(plan: ScenePlan) -> list[tuple[Any, ...]]:
    return [(w.kind, w.scene, w.scenes, w.shots, w.characters, w.locations)
            for w in plan.warning_details]


async def test_a_run_s_warnings_name_their_kind_scenes_and_shots(
        tmp_path: Path, graph: MemoryGraph) -> None:
    """A failed scene, a location the production cannot use, shots framed wrongly, too few
    shooting days and a graph that refuses the write: each warning says what and where."""

    def refuse(project: str, kg: dict[str, Any]) -> dict[str, int]:
        raise ConnectionError("graph store unreachable")

    graph.insert = refuse  # type: ignore[method-assign]
    llm = ScriptedLLM(replies=director_replies(breakdown=_breakdown_fails_for_3,
                                               shots=_shots))
    job, events = await run_director(tmp_path, graph, llm, {
        "max_attempts": 1,
        "constraints": {"shooting_days": 1, "locations_available": ["Keeper's Kitchen"]}})
    assert job.status == "succeeded", job.error
    plan = ScenePlan.model_validate(job.result["director"])
    assert [s.number for s in plan.scenes] == [1, 2, 4]
    # the words are as they were, and the data is one entry per word, in the same order
    assert [w.message for w in plan.warning_details] == plan.warnings
    assert plan.warnings[0] == "1 of 4 scene(s) could not be planned: 3"
    assert plan.warnings[3] == ("scene 1: shot 1 is a two-shot on 1 person (Mara); it frames "
                                "two people")
    assert _as_data(plan) == [
        ("scenes_not_planned", 3, [3], [], [], []),
        ("location_unavailable", 2, [2], [], [], ["gannet-point-jetty"]),
        ("location_unavailable", 3, [3], [], [], ["gannet-point-rocks"]),
        ("framing", 1, [1], [1], [], []),
        ("framing", 2, [2], [2], [], []),
        ("framing", 4, [4], [2], [], []),
        ("schedule_over_days", None, [], [], [], []),
        ("graph_write_failed", None, [], [], [], []),
    ]
    # where a plan's reader looks: the scenes and the shots flag the kinds that concern them
    flags = {s.number: (s.warning_kinds, [x.warning_kinds for x in s.shots])
             for s in plan.scenes}
    assert flags == {
        1: (["framing"], [["framing"], []]),
        2: (["location_unavailable", "framing"], [[], ["framing"]]),
        4: (["framing"], [[], ["framing"], []]),
    }
    # the live events that are warnings of the plan say which kind they are
    live = [(e.data["kind"], e.data.get("scenes"), e.message) for e in events
            if e.type == "warning" and e.data.get("kind")]
    assert live == [("scenes_not_planned", [3], plan.warnings[0]),
                    ("graph_write_failed", None, plan.warnings[-1])]
    assert set(PLAN_WARNING_KINDS) >= {kind for kind, *_ in _as_data(plan)}


async def test_grounded_scenes_warn_of_their_screen_time_and_trimmed_text(
        tmp_path: Path) -> None:
    """On the analysis's ids: a scene trimmed to fit the prompt budget, scenes whose shots
    cannot fill their pages, and a shot framing someone the scene does not have, by id."""
    result = copy.deepcopy(GROUNDED)
    long_text = " ".join(f"Wave {i} broke over the bow." for i in range(2000))
    result["scenes"][0] = dict(result["scenes"][0], text=long_text + " THE LAST LINE.")
    with OpenAIServer(default=_answer) as server:
        plan = await run_grounded(tmp_path, server, result, {"scene_text_chars": 3000})
    assert [w.message for w in plan.warning_details] == plan.warnings
    assert [(w.kind, w.scene, w.scenes, w.shots, w.characters)
            for w in plan.warning_details] == [
        ("scene_text_trimmed", 1, [1], [], []),
        ("screen_time_off_pages", 1, [1], [], []),  # the scene's total, not one shot's
        ("screen_time_off_pages", 2, [2], [], []),
        ("framing", 3, [3], [1], ["tam"]),  # framed, but not in scene 3's cast
    ]
    assert "trimmed to fit the prompt budget" in plan.warnings[0]
    assert plan.warnings[3] == "scene 3: shot 1 frames Thomas Reid, not in the scene's cast"
    assert [(s.number, s.warning_kinds, [x.warning_kinds for x in s.shots])
            for s in plan.scenes] == [
        (1, ["scene_text_trimmed", "screen_time_off_pages"], [[], []]),
        (2, ["screen_time_off_pages"], [[], []]),
        (3, ["framing"], [["framing"], []]),
    ]


def _plan(**fields: Any) -> dict[str, Any]:
    shot = {"number": 1, "size": "MS", "estimated_duration_seconds": 4}
    return {"scenes": [{"number": 1, "heading": "INT. KITCHEN - NIGHT", "summary": "-",
                        "shots": [shot]}],
            "totals": {"scenes": 1, "shots": 1, "estimated_screen_time_seconds": 4,
                       "estimated_screen_time_minutes": 0.1, "estimated_shooting_hours": 1},
            **fields}


def test_the_details_must_match_the_words_and_the_flags() -> None:
    one = {"kind": "framing", "scene": 1, "scenes": [1], "shots": [1],
           "message": "scene 1: shot 1 ..."}
    plan = _plan(warnings=["scene 1: shot 1 ..."], warning_details=[one])
    plan["scenes"][0]["warning_kinds"] = ["framing"]
    plan["scenes"][0]["shots"][0]["warning_kinds"] = ["framing"]
    assert ScenePlan.model_validate(plan).warning_details == [PlanWarning(**one)]
    # a plan made before the details existed still reads
    assert ScenePlan.model_validate(_plan(warnings=["older words"])).warning_details == []
    with pytest.raises(ValidationError, match="same order"):
        ScenePlan.model_validate(_plan(warnings=["other words"], warning_details=[one]))
    unflagged = _plan(warnings=["scene 1: shot 1 ..."], warning_details=[one])
    with pytest.raises(ValidationError, match="scene 1: warning_kinds"):
        ScenePlan.model_validate(unflagged)
    unflagged["scenes"][0]["warning_kinds"] = ["framing"]
    with pytest.raises(ValidationError, match="scene 1 shot 1: warning_kinds"):
        ScenePlan.model_validate(unflagged)
    with pytest.raises(ValidationError, match="kind"):
        PlanWarning.model_validate({**one, "kind": "not_in_frame"})


def test_every_kind_is_documented_and_shown_in_words() -> None:
    """A reader of the README's table and of the terminal finds every kind the plan gives."""
    from novelcrew_director.render import KIND_LABELS

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme.split("### Warnings", 1)[1].split("\n## ", 1)[0]
    assert [k for k in PLAN_WARNING_KINDS if f"| `{k}` |" not in table] == []
    assert set(KIND_LABELS) == set(PLAN_WARNING_KINDS)
