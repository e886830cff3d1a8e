"""The storyboard on the scripted LLM and the offline stand-in: bible, prompts, clips, flags."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from storyboard_fixtures import (
    ARTIST,
    BOARDER,
    CHARACTER_REPLY,
    PayloadStandIn,
    artist_reply,
    final,
    old_shape_previous,
    previous,
    replies,
    shots_reply,
)

from novelcrew import Tool, hookimpl
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_storyboard import Storyboard


async def board(tmp_path: Path, inputs: dict[str, Any], *extra: Any, llm: Any = None,
                **settings: Any) -> tuple[Any, Any, list[Any]]:
    llm = llm if llm is not None else ScriptedLLM(replies=replies())
    plugins = make_plugins(*extra, entry_points=["storyboard"], llm=llm)
    values = {"default_model": "scripted", **settings}
    job, events = await run_job(plugins, "storyboard", inputs, project_id="p-1",
                                settings=make_settings(tmp_path / "data", **values))
    assert job.status == "succeeded", job.error
    return Storyboard.model_validate(job.result["storyboard"]), llm, events


async def test_a_characters_bible_phrase_is_verbatim_in_every_shot_with_them(
        tmp_path: Path) -> None:
    result, _, events = await board(tmp_path, {"previous": previous()})
    shots = [shot for scene in result.scenes for shot in scene.shots]
    assert len(shots) == 4
    # each scene's boarded shots were published as they were answered, before the end
    pieces = [e for e in events if e.type == "partial"]
    assert sorted(int(e.data["key"]) for e in pieces) == [s.number for s in result.scenes]
    assert all(e.data["kind"] == "scene" and e.data["item"]["shots"] for e in pieces)
    assert {e.data["total"] for e in pieces} == {len(result.scenes)}
    for look in result.bible.characters:
        with_them = [s for s in shots if look.id in s.subjects]
        assert with_them, look.id
        for shot in with_them:
            assert look.phrase in shot.image_prompt, (look.phrase, shot.image_prompt)
            assert all(look.phrase in clip.image_prompt for clip in shot.clips)
        for shot in shots:
            if look.id not in shot.subjects:
                assert look.phrase not in shot.image_prompt
    mara = result.bible.character("mara-vell")
    assert mara is not None
    assert mara.phrase == ("Mara Vell, in her forties, wiry build, wind-burned fair skin, "
                           "grey-streaked dark hair in a braid, pale grey eyes, "
                           "scar across her left palm")
    place = result.bible.location("keepers-kitchen")
    assert place is not None
    kitchen = [s for s in shots if s.location_id == "keepers-kitchen"]
    assert kitchen and all(place.phrase in s.image_prompt for s in kitchen)
    assert all("lit by one oil lamp" in s.image_prompt for s in kitchen)


async def test_the_model_writes_only_action_and_composition(tmp_path: Path) -> None:
    result, llm, _ = await board(tmp_path, {"previous": previous()})
    shot = result.scenes[0].shots[1]
    assert shot.id == "s001-sh02" and shot.subjects == ["mara-vell"]
    assert shot.action == "scene 1 shot 2 action"
    assert shot.image_prompt.startswith("close-up, eye level of Mara Vell, in her forties")
    assert "scene 1 shot 2 action" in shot.image_prompt and "85mm lens" in shot.image_prompt
    assert "35mm anamorphic, fine grain" in shot.image_prompt  # the style guide's fragments
    assert shot.motion_prompt.startswith("camera pushes in, on a dolly, 85mm lens.")
    assert "watermark" in shot.negative_prompt
    insert = result.scenes[1].shots[1]
    assert insert.subjects == [] and "people" in insert.negative_prompt
    # the boarding prompt asked about the scene's shots only, and never for looks
    board_calls = llm.calls_for(BOARDER)
    assert len(board_calls) == 2
    assert all("Summary:" in c.prompt for c in board_calls)


async def test_the_boarding_call_knows_each_shot_s_coverage_and_who_may_be_named(
        tmp_path: Path) -> None:
    """A shot's action and composition go alone into its prompts: the model must know it is
    an over-the-shoulder or an insert to compose it, and must not name (or "she") anyone
    the frame does not hold, or the image model paints a person with no reference image."""
    _, llm, _ = await board(tmp_path, {"previous": previous()})
    first, second = sorted((c.prompt for c in llm.calls_for(BOARDER)),
                           key=lambda p: "SCENE 2" in p)
    assert re.search(r"^1\. WS master, high, static, 6s, in frame: Mara Vell\.", first, re.M)
    assert re.search(r"^2\. CU single, eye level, .*in frame: Mara Vell\.", first, re.M)
    assert re.search(r"^2\. INSERT insert, overhead, .*in frame: no one\.", second, re.M)
    assert "name only the people listed in frame" in first
    assert "no person" in first and "no spoken words" in first


async def test_who_a_character_is_on_screen_leads_their_phrase(tmp_path: Path) -> None:
    """"Mara Vell, in her forties" left an image model to guess from a name whether to draw a
    woman or a man, and to guess again in every shot; the bible now asks and fixes it."""
    answer = copy.deepcopy(CHARACTER_REPLY)
    answer["characters"][0]["gender"] = {"value": "woman", "stated": False, "evidence": ""}

    def artist(prompt: str) -> str:
        return final(answer) if '{"characters"' in prompt else artist_reply(prompt)

    llm = ScriptedLLM(replies={ARTIST: artist,
                               BOARDER: lambda prompt: final(shots_reply(prompt))})
    result, _, _ = await board(tmp_path, {"previous": previous()}, llm=llm)
    mara = result.bible.character("mara-vell")
    assert mara is not None and mara.gender.value == "woman" and not mara.gender.stated
    assert mara.phrase.startswith("Mara Vell, woman, in her forties, wiry build")
    assert mara.reference_prompt.startswith(f"Character reference sheet of {mara.phrase}")
    framed = [s for sc in result.scenes for s in sc.shots if "mara-vell" in s.subjects]
    assert framed and all(mara.phrase in s.image_prompt for s in framed)
    asked = next(c.prompt for c in llm.calls_for(ARTIST) if '{"characters"' in c.prompt)
    assert '"gender"' in asked


async def test_stated_traits_need_the_storys_words(tmp_path: Path) -> None:
    result, _, _ = await board(tmp_path, {"previous": previous()})
    mara = result.bible.character("mara-vell")
    tomas = result.bible.character("tomas-vell")
    assert mara is not None and tomas is not None
    assert mara.hair.stated and mara.hair.evidence == "grey-streaked dark hair"
    assert mara.age_range.stated and not mara.skin.stated
    # the model called the eyes stated, but the story never says so: flagged as inferred
    assert mara.eyes.value == "pale grey eyes" and not mara.eyes.stated
    assert mara.eyes.evidence == ""
    assert not mara.voice.stated and mara.voice.value == "low, dry, unhurried"
    assert tomas.hair.value == "red hair, close-cropped" and not tomas.hair.stated
    # wardrobe per story day: the director's breakdown wins for day 1, the model's is default
    assert mara.wardrobe == {"default": "navy wool jumper and oilskin trousers",
                             "1": "grey wool jumper, oilskin on the chair"}
    assert "wearing grey wool jumper" in result.scenes[0].shots[0].image_prompt
    assert {c.id for c in result.bible.characters} == {"mara-vell", "tomas-vell"}


@pytest.mark.parametrize(("clip", "expected"), [
    (5, {"s001-sh01": [3.0, 3.0], "s001-sh02": [4.0, 4.0, 4.0], "s002-sh01": [4.0, 4.0],
         "s002-sh02": [2.0]}),
    (12, {"s001-sh01": [6.0], "s001-sh02": [12.0], "s002-sh01": [8.0], "s002-sh02": [2.0]}),
    (3, {"s001-sh01": [3.0, 3.0], "s001-sh02": [3.0] * 4, "s002-sh01": [2.667, 2.667, 2.666],
         "s002-sh02": [2.0]}),
])
async def test_long_shots_split_into_continuous_clips(tmp_path: Path, clip: float,
                                                      expected: dict[str, list[float]]) -> None:
    result, _, _ = await board(tmp_path, {"previous": previous(), "clip_seconds": clip})
    shots = [shot for scene in result.scenes for shot in scene.shots]
    assert {s.id: [c.duration_seconds for c in s.clips] for s in shots} == expected
    for shot in shots:
        assert all(c.duration_seconds <= clip for c in shot.clips)
        assert sum(c.duration_seconds for c in shot.clips) == pytest.approx(shot.duration_seconds)
        assert {c.image_prompt for c in shot.clips} == {shot.image_prompt}
        assert {c.seed_hint for c in shot.clips} == {shot.seed_hint}
        # how clips join is data: each later clip starts from the one before's last frame,
        # and every motion prompt is the shot's own, with no numbers meant for the pipeline
        assert [c.continues_from for c in shot.clips] == [None, *range(1, len(shot.clips))]
        assert {c.motion_prompt for c in shot.clips} == {shot.motion_prompt}
        assert not re.search(r"\bclip\b|\d+(\.\d+)?-\d+(\.\d+)?s\b", shot.motion_prompt)
        if len(shot.clips) > 1:
            assert [c.start_seconds for c in shot.clips][1] == shot.clips[0].duration_seconds
    for scene in result.scenes:
        assert scene.duration_seconds == pytest.approx(
            sum(s.duration_seconds for s in scene.shots))
    assert result.clip_seconds == clip
    assert result.totals.clips == sum(len(s.clips) for s in shots)


async def test_clip_length_defaults_from_the_settings(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVELCREW_STORYBOARD_CLIP_SECONDS", "4")
    result, _, _ = await board(tmp_path, {"previous": previous()})
    assert result.clip_seconds == 4
    assert [c.duration_seconds for c in result.scenes[0].shots[1].clips] == [4.0, 4.0, 4.0]
    # novelcrew.toml's [plugin_config.storyboard] wins over the environment
    result, _, _ = await board(tmp_path, {"previous": previous()},
                               plugin_config={"storyboard": {"clip_seconds": 6}})
    assert [c.duration_seconds for c in result.scenes[0].shots[1].clips] == [6.0, 6.0]


async def test_real_model_output_is_ready_for_media_generation(tmp_path: Path) -> None:
    llm = ScriptedLLM(replies=replies())
    plugins = make_plugins(entry_points=["storyboard"], llm=llm)
    job, events = await run_job(plugins, "storyboard", {"previous": previous()},
                                project_id="p-1", settings=make_settings(
                                    tmp_path / "data", default_model="scripted"))
    assert job.status == "succeeded", job.error
    # read, three bible calls (characters, locations, style), one board call per scene
    assert job.progress.completed_tasks == job.progress.total_tasks == 6
    progress = [(e.data["completed_tasks"], e.data["total_tasks"]) for e in events
                if e.type == "progress"]
    done = [c for c, _ in progress]
    assert done == sorted(done)  # completed work never goes back
    first_full = next(i for i, (c, t) in enumerate(progress) if c == t and c)
    assert all(c == t for c, t in progress[first_full:])  # never "done" before the end
    result = Storyboard.model_validate(job.result["storyboard"])
    assert result.offline is False and result.ready_for_media_generation is True
    assert result.note is None and result.warnings == []
    assert result.sources == {"analysis": "inputs", "plan": "inputs"}
    finished = [e.data.get("task") for e in events if e.type == "task_finished"]
    assert "Read the analysis and the plan" in finished
    assert "Scene 2: board" in finished


async def test_offline_is_marked_deterministic_and_never_ready(tmp_path: Path) -> None:
    plugins = make_plugins(entry_points=["storyboard"])
    results = []
    for run in range(2):
        job, _ = await run_job(plugins, "storyboard", {"previous": previous()},
                               project_id="p-1",
                               settings=make_settings(tmp_path / f"d{run}",
                                                      default_model="offline"))
        assert job.status == "succeeded", job.error
        results.append(job.result["storyboard"])
    assert results[0] == results[1]
    result = Storyboard.model_validate(results[0])
    assert result.offline and not result.ready_for_media_generation
    assert result.note and "offline stand-in" in result.note
    assert result.model.offline
    mara = result.bible.character("mara-vell")
    assert mara is not None
    # only what the story's words say, each flagged stated with its evidence
    assert mara.phrase == ("Mara Vell, in her forties, wiry, grey-streaked dark hair, "
                           "a scar across her left palm")
    assert mara.hair.stated and not mara.eyes.value
    for scene in result.scenes:
        for shot in scene.shots:
            for text in (shot.image_prompt, shot.motion_prompt, shot.action):
                assert "<<<" not in text and "{" not in text and "JSON" not in text


async def test_per_agent_routing_sends_boarding_to_its_own_model(tmp_path: Path) -> None:
    artist = ScriptedLLM(replies=replies())
    cheap = ScriptedLLM(replies={BOARDER: lambda prompt: final(shots_reply(prompt))})
    from novelcrew_sdk.scripted import scripted_models_plugin

    result, _, _ = await board(tmp_path, {"previous": previous()},
                               scripted_models_plugin(cheap, "cheap"), llm=artist,
                               agent_models={BOARDER: "cheap"})
    assert result.model.models == {ARTIST: "scripted", BOARDER: "cheap"}
    assert {c.role for c in artist.calls} == {ARTIST}
    assert {c.role for c in cheap.calls} == {BOARDER} and len(cheap.calls) == 2
    # one role offline is enough to mark the storyboard offline
    result, _, _ = await board(tmp_path, {"previous": previous()}, llm=artist,
                               agent_models={BOARDER: "offline"})
    assert result.offline and not result.ready_for_media_generation
    assert result.scenes[0].shots[0].action.startswith("Mara alone at the table")


async def test_todays_result_shapes_are_read(tmp_path: Path) -> None:
    result, _, _ = await board(tmp_path, {"previous": old_shape_previous()})
    shots = {s.id: s for scene in result.scenes for s in scene.shots}
    assert set(shots) == {"s001-sh01", "s001-sh02", "s002-sh01", "s002-sh02"}
    assert shots["s001-sh02"].size == "CU" and shots["s001-sh02"].lens_mm == 85
    assert shots["s001-sh02"].subjects == ["mara-vell"]
    assert shots["s002-sh01"].size == "EWS" and shots["s002-sh01"].support == "crane"
    assert shots["s002-sh01"].subjects == ["mara-vell", "tomas-vell"]
    assert shots["s002-sh02"].subjects == []
    assert shots["s002-sh01"].day_night == "NIGHT"
    assert shots["s002-sh01"].location_id == "gannet-point-rocks"


async def test_payload_defaults_the_style(tmp_path: Path) -> None:
    payload = PayloadStandIn({"id": 7, "name": "Lighthouse", "tone": "elegiac",
                              "mood": "storm-lit", "genre": "maritime drama"})
    result, _, _ = await board(tmp_path, {"previous": previous(),
                                          "style": {"tone": "stark"}}, payload)
    style = result.bible.style
    assert (style.genre, style.tone, style.mood) == ("maritime drama", "stark", "storm-lit")
    assert style.sources["genre"] == "payload" and style.sources["tone"] == "inputs"
    assert "maritime drama film" in result.scenes[0].shots[0].image_prompt
    # storing it in Payload is the payload plugin observer's work, with the workflow move
    assert payload.reads == 1


async def test_payload_installed_but_not_configured_is_skipped_quietly(
        tmp_path: Path) -> None:
    payload = PayloadStandIn({"id": 7, "name": "Lighthouse", "genre": "noir"}, configured=False)
    plugins = make_plugins(payload, entry_points=["storyboard"],
                           llm=ScriptedLLM(replies=replies()))
    job, events = await run_job(plugins, "storyboard", {"previous": previous()},
                                project_id="p-1",
                                settings=make_settings(tmp_path / "d", default_model="scripted"))
    assert job.status == "succeeded", job.error
    result = Storyboard.model_validate(job.result["storyboard"])
    assert payload.reads == 0 and result.warnings == []
    assert result.bible.style.genre == "drama"  # the analysis's, not the unread project's
    assert not [e for e in events if e.type == "warning"]


async def test_a_rejected_answer_is_retried_then_falls_back_with_a_warning(
        tmp_path: Path) -> None:
    replies_ = replies()
    replies_[BOARDER] = ["Final Answer: I would rather not.",
                         final({"shots": [{"number": 1, "action": "fixed", "composition": ""}]})]
    llm = ScriptedLLM(replies=replies_)
    result, _, _ = await board(tmp_path, {"previous": previous(), "max_parallel": 1}, llm=llm)
    actions = [s.action for scene in result.scenes for s in scene.shots]
    assert actions.count("fixed") == 2  # shot 1 of both scenes, from the retried answer
    assert result.ready_for_media_generation
    assert "YOUR PREVIOUS ANSWER WAS REJECTED" in llm.calls_for(BOARDER)[1].prompt


async def test_when_no_call_is_answered_usably_the_job_fails_clearly(tmp_path: Path) -> None:
    llm = ScriptedLLM(default="Final Answer: no JSON here, sorry.")
    plugins = make_plugins(entry_points=["storyboard"], llm=llm)
    job, _ = await run_job(plugins, "storyboard", {"previous": previous()},
                           settings=make_settings(tmp_path / "d", default_model="scripted"))
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "storyboard_failed"
    assert "none of the 5 storyboard calls" in job.error.message
    assert len(llm.calls) == 10  # each call retried once, with the reason


async def test_without_a_plan_the_error_says_what_to_do(tmp_path: Path) -> None:
    plugins = make_plugins(entry_points=["storyboard"])
    settings = make_settings(tmp_path / "data")
    job, _ = await run_job(plugins, "storyboard", {}, settings=settings)
    assert job.status == "failed" and job.error is not None
    assert job.error.type == "invalid_input"
    assert "project_id is required" in str(job.error.details)
    job, _ = await run_job(plugins, "storyboard", {"previous": {"director": {"scenes": []}}},
                           settings=settings)
    assert job.status == "failed" and job.error is not None
    assert "no planned shots to board" in job.error.message


async def test_a_planned_scene_is_boarded_from_the_director_s_blocking_not_its_whole_text(
        tmp_path: Path) -> None:
    """The director read the whole scene and planned from it: the boarding prompt carries its
    blocking, its beats and only the text's opening and ending (the story is not sent a third
    time), the same bound with or without blocking."""
    data = previous()
    middle = "Somewhere in the middle the kettle boils over unnoticed."
    long_text = ("Mara bolts the door against the storm. " * 40 + middle + " "
                 + "The lamp gutters and the wind finds the gaps. " * 40
                 + "She takes the lantern and goes out into the dark.")
    data["architect"]["scenes"][0]["text"] = long_text
    data["director"]["scenes"][0]["blocking"] = ["mara-vell starts at the table, crosses to "
                                                 "the window, ends at the door"]
    data["director"]["scenes"][0]["emotional_beats"] = ["mara-vell: dread turns to resolve"]
    _, llm, _ = await board(tmp_path / "planned", {"previous": data})
    prompt = next(c.prompt for c in llm.calls_for(BOARDER) if "SCENE 1" in c.prompt)
    assert "Blocking: mara-vell starts at the table, crosses to the window" in prompt
    assert "Beats: mara-vell: dread turns to resolve" in prompt
    assert "Mara bolts the door against the storm." in prompt
    assert "goes out into the dark." in prompt
    assert middle not in prompt
    assert len(prompt) < len(long_text)

    del data["director"]["scenes"][0]["blocking"]
    _, llm, _ = await board(tmp_path / "unplanned", {"previous": data})
    bare = next(c.prompt for c in llm.calls_for(BOARDER) if "SCENE 1" in c.prompt)
    assert "Blocking:" not in bare and middle not in bare
    assert "goes out into the dark." in bare


async def test_units_in_flight_default_to_twice_the_models_call_limit(tmp_path: Path) -> None:
    """Each unit's crew waits for the model in its own thread: only twice as many as the
    model takes calls at once are started, the rest wait their turn."""
    llm = ScriptedLLM(replies=replies(), latency=0.1)  # units overlap as with a provider
    _, _, events = await board(tmp_path, {"previous": previous()}, llm=llm,
                               model_concurrency=1)
    assert len(llm.calls) > 2
    in_flight = peak = 0
    for event in events:
        if event.type == "task_started" and event.data.get("task"):
            in_flight += 1
            peak = max(peak, in_flight)
        elif event.type == "task_finished" and event.data.get("task"):
            in_flight -= 1
    assert peak == 2


async def test_a_real_model_boarding_an_offline_plan_or_analysis_given_as_previous_is_not_ready(
        tmp_path: Path) -> None:
    given = previous()
    given["director"]["model"] = {"models": {"Scene Analysis Director": "offline"},
                                  "offline": True, "note": "Planned by the offline stand-in"}
    result, llm, _ = await board(tmp_path, {"previous": given})
    assert llm.calls and not result.model.offline  # the storyboard's own calls were real
    assert result.offline and not result.ready_for_media_generation
    assert result.note and "director's plan" in result.note
    # a real director's plan of the stand-in's analysis is no real board either
    given = previous()
    given["architect"]["model"] = {"ids": ["offline"], "offline": True, "note": "stand-in"}
    result, _, _ = await board(tmp_path, {"previous": given})
    assert result.offline and not result.ready_for_media_generation
    assert result.note and "story analysis" in result.note and "architect" in result.note
    # the same analysis and plan from real models are ready
    assert not (await board(tmp_path, {"previous": previous()}))[0].offline


STAND_IN = "Made by: the offline stand-in model (a placeholder, not for media generation)"


class MergedGraph:
    """``kg_query`` as the upstream PathRAG service answers after a re-plan: it joins an
    entity's descriptions with ``<SEP>`` (sorted), so the stand-in's older line stays."""

    def __init__(self, shots: tuple[str, ...] = ("Made by: openai/gpt-4o", STAND_IN),
                 story: str = "Made by: openai/gpt-4o") -> None:
        self.shots, self.story = shots, story

    def entities(self, types: list[str] | None) -> list[dict[str, Any]]:
        shots = [{"name": f"Scene 1 Shot {n}", "type": "shot",
                  "description": "<SEP>".join(f"Scene 1 Shot {n}: WS\nSize: WS\n{m}"
                                              for m in self.shots)} for n in (1, 2)]
        every = [{"name": "Story", "type": "story",
                  "description": f"Title: The Lighthouse\n{self.story}"},
                 {"name": "Scene 1", "type": "scene",
                  "description": "Scene 1: Mara waits.\nHeading: INT. KITCHEN - NIGHT"},
                 *shots]
        return [e for e in every if not types or e["type"] in types]

    @hookimpl
    def register_tools(self, register: Any) -> None:
        graph = self

        class _Query:
            async def acall(self, query: str = "", entity_types: Any = None,
                            **_: Any) -> dict[str, Any]:
                return {"entities": graph.entities(entity_types), "relationships": []}

        register(Tool(name="kg_query", description="query (upstream stand-in)",
                      factory=lambda ctx: _Query()))


async def test_an_offline_mark_a_merging_graph_service_kept_still_counts(
        tmp_path: Path) -> None:
    result, _, _ = await board(tmp_path, {"write_back": False}, MergedGraph())
    assert result.sources == {"analysis": "graph", "plan": "graph"}
    assert result.totals.shots == 2
    assert result.title == "The Lighthouse"
    assert result.offline and not result.ready_for_media_generation

    # the graph's analysis by the stand-in under a real plan: not ready either
    result, _, _ = await board(tmp_path, {"write_back": False},
                               MergedGraph(shots=("Made by: openai/gpt-4o",), story=STAND_IN))
    assert result.offline and result.note and "story analysis" in result.note
    real, _, _ = await board(tmp_path, {"write_back": False},
                             MergedGraph(shots=("Made by: openai/gpt-4o",)))
    assert real.ready_for_media_generation and real.title == "The Lighthouse"
