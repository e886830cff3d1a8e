"""The storyboard's warnings as the media step reads them: each one also as data (kind, scene,
shots, the people and places it concerns), the shots it concerns flagged with its kind, the
words in ``warnings`` unchanged and in the same order, and none of them holding the project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from storyboard_fixtures import ARTIST, BOARDER, artist_reply, final, previous, shots_reply

from novelcrew import Tool, hookimpl
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_storyboard import Storyboard, StoryboardWarning

NOT_JSON = "Final Answer: I would rather not."


async def run(tmp_path: Path, llm: Any, *extra: Any,
              previous_: dict[str, Any] | None = None,
              **inputs: Any) -> tuple[Storyboard, list[Any]]:
    plugins = make_plugins(*extra, entry_points=["storyboard"], llm=llm)
    job, events = await run_job(plugins, "storyboard",
                                {"previous": previous_ or previous(), **inputs},
                                project_id="p-1",
                                settings=make_settings(tmp_path / "data",
                                                       default_model="scripted"))
    assert job.status == "succeeded", job.error
    return Storyboard.model_validate(job.result["storyboard"]), events


def flags(result: Storyboard) -> dict[str, list[str]]:
    return {shot.id: list(shot.warning_kinds) for scene in result.scenes
            for shot in scene.shots}


def time_and_frame_board(prompt: str) -> str:
    """Scene 1 shot 2 names Tomas, who is not in frame; scene 2 shot 1 is sunlit at NIGHT."""
    reply = shots_reply(prompt)
    if prompt.startswith("SCENE 1") or "\nSCENE 1" in prompt:
        reply["shots"][1]["action"] = "Mara reads the letter Tomas left on the table"
    else:
        reply["shots"][0]["action"] = "Mara climbs the rocks in afternoon sunlight"
    return final(reply)


async def test_each_warning_is_data_and_flags_exactly_the_shots_it_concerns(
        tmp_path: Path) -> None:
    llm = ScriptedLLM(replies={ARTIST: artist_reply, BOARDER: time_and_frame_board})
    result, events = await run(tmp_path, llm)
    details = [d.model_dump(exclude={"message"}) for d in result.warning_details]
    assert details == [
        {"kind": "not_in_frame", "scene": 1, "shots": [2], "shot_ids": ["s001-sh02"],
         "characters": ["tomas-vell"], "locations": []},
        {"kind": "time_of_day_clash", "scene": 2, "shots": [1], "shot_ids": ["s002-sh01"],
         "characters": [], "locations": []},
    ]
    # the words stay as they were, in the same order: older readers see no change
    assert result.warnings == [d.message for d in result.warning_details]
    assert result.warnings[0].startswith("scene 1: Tomas Vell is named in shot 2 but not in "
                                         "frame")
    assert result.warnings[1].startswith("scene 2 is NIGHT but the shot's action says")
    # where the media step reads a shot: the kinds that concern it, nothing on the others
    assert flags(result) == {"s001-sh01": [], "s001-sh02": ["not_in_frame"],
                             "s002-sh01": ["time_of_day_clash"], "s002-sh02": []}
    # advisory: a real model's storyboard with warnings is still ready
    assert result.ready_for_media_generation
    # found while assembling, at the end: in the result, not as live events
    assert not [e for e in events if e.type == "warning"]


async def test_a_part_boarded_from_the_plan_s_own_words_flags_its_shots(
        tmp_path: Path) -> None:
    """Scene 2's boarding and the characters' looks are answered unusably twice: scene 2's
    shots are the plan's words, and every shot showing Mara or Tomas has a look from the
    plan's words only."""

    def artist(prompt: str) -> str:
        return NOT_JSON if '{"characters"' in prompt else artist_reply(prompt)

    def boarder(prompt: str) -> str:
        return NOT_JSON if "SCENE 2" in prompt else final(shots_reply(prompt))

    llm = ScriptedLLM(replies={ARTIST: artist, BOARDER: boarder})
    result, events = await run(tmp_path, llm)
    details = sorted((d.model_dump(exclude={"message"}) for d in result.warning_details),
                     key=lambda d: d["scene"] or 0)
    assert details == [
        {"kind": "no_usable_answer", "scene": None, "shots": [],
         "shot_ids": ["s001-sh01", "s001-sh02", "s002-sh01"],
         "characters": ["mara-vell", "tomas-vell"], "locations": []},
        {"kind": "no_usable_answer", "scene": 2, "shots": [1, 2],
         "shot_ids": ["s002-sh01", "s002-sh02"], "characters": [], "locations": []},
    ]
    assert all("no usable answer" in w and "the plan's own words are used" in w
               for w in result.warnings)
    assert result.warnings == [d.message for d in result.warning_details]
    # a shot two warnings concern carries the kind once
    assert flags(result) == {shot: ["no_usable_answer"] for shot in
                             ("s001-sh01", "s001-sh02", "s002-sh01", "s002-sh02")}
    # each as it happens, with its kind, scene and shots
    live = sorted(({k: e.data[k] for k in ("kind", "scene", "shots", "characters")}
                   for e in events if e.type == "warning"), key=lambda d: d["scene"] or 0)
    assert live == [
        {"kind": "no_usable_answer", "scene": None, "shots": [],
         "characters": ["mara-vell", "tomas-vell"]},
        {"kind": "no_usable_answer", "scene": 2, "shots": [1, 2], "characters": []}]
    assert result.ready_for_media_generation


class BrokenGraph:
    """``kg_query`` and ``kg_insert_custom_kg`` that fail, as a graph outage does."""

    @hookimpl
    def register_tools(self, register: Any) -> None:
        class _Down:
            async def acall(self, **_: Any) -> Any:
                raise ConnectionError("graph is down")

        for name in ("kg_query", "kg_insert_custom_kg"):
            register(Tool(name=name, description="down", factory=lambda ctx: _Down()))


async def test_a_graph_outage_is_a_warning_of_no_shot(tmp_path: Path) -> None:
    previous_ = previous()
    del previous_["architect"]  # so the graph is asked for the analysis
    llm = ScriptedLLM(replies={ARTIST: artist_reply,
                               BOARDER: lambda prompt: final(shots_reply(prompt))})
    result, _ = await run(tmp_path, llm, BrokenGraph(), previous_=previous_)
    assert [(d.kind, d.scene, d.shots, d.shot_ids) for d in result.warning_details] == [
        ("graph_read_failed", None, [], []), ("graph_write_failed", None, [], [])]
    assert result.warnings == [
        "could not read the knowledge graph: graph is down",
        "could not write the storyboard to the knowledge graph: graph is down"]
    assert not any(shot.warning_kinds for scene in result.scenes for shot in scene.shots)


def test_the_details_must_match_the_words() -> None:
    board = {"warnings": ["a"], "warning_details": [{"kind": "not_in_frame", "message": "b"}]}
    with pytest.raises(ValueError, match="warning_details must hold one entry per warning"):
        Storyboard.model_validate(board)
    # a shot's flags are the kinds of the warnings that list it, no more, no less
    shot = {"id": "s001-sh01", "scene_id": "s001", "scene_number": 1, "number": 1,
            "image_prompt": "x", "motion_prompt": "x", "negative_prompt": "x",
            "duration_seconds": 2, "aspect_ratio": "16:9", "seed_hint": 1,
            "clips": [{"index": 1, "start_seconds": 0, "duration_seconds": 2,
                       "image_prompt": "x", "motion_prompt": "x", "seed_hint": 1}]}
    warned = {"scenes": [{"id": "s001", "number": 1, "shots": [shot]}],
              "totals": {"scenes": 1, "shots": 1}, "ready_for_media_generation": True,
              "warnings": ["m"], "warning_details": [
                  {"kind": "not_in_frame", "scene": 1, "shots": [1],
                   "shot_ids": ["s001-sh01"], "message": "m"}]}
    with pytest.raises(ValueError, match=r"shot s001-sh01: warning_kinds \[\] are not the kinds"):
        Storyboard.model_validate(warned)
    shot["warning_kinds"] = ["not_in_frame"]
    assert Storyboard.model_validate(warned).scenes[0].shots[0].warning_kinds == ["not_in_frame"]
    # a result stored before the details existed still reads
    assert Storyboard.model_validate({"warnings": ["a"]}).warning_details == []
    assert StoryboardWarning(kind="time_of_day_clash", message="m").shots == []
