"""The wording of shot prompts as an image or video model reads it: no quoted speech, camera
moves as an operator writes them, no story sentences passed off as a place's look."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from storyboard_fixtures import ARTIST, BOARDER, artist_reply, final, previous, shots_reply

from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM
from novelcrew_storyboard import Storyboard, StoryboardShot
from novelcrew_storyboard.models import CharacterLook, StyleGuide
from novelcrew_storyboard.prompts import first_sentence, location_look, sentences, shot_prompts
from novelcrew_storyboard.source import LocationFacts, SceneFacts, ShotFacts

#: what the boarding model writes for each (scene, shot): dialogue in every quoting style
SPOKEN = {
    (1, 1): 'Mara says, "They are automating the light."',
    (1, 2): "\u201cEleven years.\u201d",
    (2, 1): "\u2018Hold it higher,\u2019 Mara shouts, and Tomas's lantern doesn\u2019t move",
    (2, 2): "'Pay it out,' she calls",
}
WORDS = ("automating", "Eleven years", "Hold it higher", "Pay it out")


async def run(tmp_path: Path, previous_: dict[str, Any], llm: Any = None,
              **settings: Any) -> Storyboard:
    plugins = make_plugins(entry_points=["storyboard"], llm=llm)
    job, _ = await run_job(plugins, "storyboard", {"previous": previous_}, project_id="p-1",
                           settings=make_settings(tmp_path / "data", **settings))
    assert job.status == "succeeded", job.error
    return Storyboard.model_validate(job.result["storyboard"])


def shots(result: Storyboard) -> dict[str, StoryboardShot]:
    return {shot.id: shot for scene in result.scenes for shot in scene.shots}


def speaking_board(prompt: str) -> str:
    reply = shots_reply(prompt)
    scene = int(prompt.split("SCENE ", 1)[1].split(":", 1)[0].split()[0])
    for shot in reply["shots"]:
        shot["action"] = SPOKEN[(scene, shot["number"])]
    return final(reply)


async def test_quoted_speech_never_reaches_an_image_prompt(tmp_path: Path) -> None:
    llm = ScriptedLLM(replies={ARTIST: artist_reply, BOARDER: speaking_board})
    board = shots(await run(tmp_path, previous(), llm, default_model="scripted"))
    for shot in board.values():
        assert not any(word in shot.image_prompt or word in shot.motion_prompt
                       for word in WORDS), shot.id
        for clip in shot.clips:
            assert not any(word in clip.image_prompt for word in WORDS)
    # a bare tag shows nothing: the motion prompt says who speaks; the visible action stays,
    # tidied; apostrophes are no quotation marks
    assert "says" not in board["s001-sh01"].image_prompt
    assert board["s001-sh01"].motion_prompt.endswith(", 24mm lens. Mara Vell speaks.")
    assert board["s001-sh01"].action == SPOKEN[(1, 1)]  # the board itself keeps the words
    assert "Mara shouts, and Tomas's lantern doesn\u2019t move. " in board["s002-sh01"].image_prompt
    # nothing visual left: no action in the image, only a person speaking in the motion
    close = board["s001-sh02"]
    assert "\u201c" not in close.image_prompt and "\u201d" not in close.image_prompt
    assert close.image_prompt.startswith("close-up, eye level of Mara Vell, in her forties, ")
    assert ". rule of thirds" in close.image_prompt
    assert close.motion_prompt.endswith(", 85mm lens. Someone speaks.")
    # an insert with no one in frame: the line is off screen, nothing to animate
    insert = board["s002-sh02"]
    assert insert.subjects == [] and "speak" not in insert.motion_prompt
    assert "calls" not in insert.image_prompt


async def test_the_offline_stand_in_s_quoted_notes_are_no_lettering(tmp_path: Path) -> None:
    plan = previous()
    plan["director"]["scenes"][0]["shots"][1]["notes"] = '"They are automating the light."'
    board = shots(await run(tmp_path, plan, default_model="offline"))
    shot = board["s001-sh02"]
    assert shot.action == '"They are automating the light."'
    assert "automating" not in shot.image_prompt and '"' not in shot.image_prompt
    assert "automating" not in shot.motion_prompt
    assert shot.motion_prompt.endswith(". Someone speaks.")


@pytest.mark.parametrize("moves", [
    {"s001-sh01": ("static", "sticks", "static camera on sticks, 24mm lens."),
     "s001-sh02": ("push in", "dolly", "camera pushes in, on a dolly, 85mm lens."),
     "s002-sh01": ("crane", "crane/jib", "camera cranes, 18mm lens."),
     "s002-sh02": ("handheld", "handheld", "handheld camera, 100mm lens.")},
    {"s001-sh01": ("pan", "sticks", "camera pans, on sticks, 24mm lens."),
     "s001-sh02": ("pull out", "dolly", "camera pulls out, on a dolly, 85mm lens."),
     "s002-sh01": ("track", "Steadicam/gimbal", "camera tracks, on a Steadicam, 18mm lens."),
     "s002-sh02": ("static", "handheld", "handheld camera, held still, 100mm lens.")},
])
async def test_the_camera_reads_as_an_operator_writes_it(
        tmp_path: Path, moves: dict[str, tuple[str, str, str]]) -> None:
    plan = previous()
    for scene in plan["director"]["scenes"]:
        for shot in scene["shots"]:
            shot["movement"], shot["support"], _ = moves[f"{scene['id']}-sh0{shot['number']}"]
    board = shots(await run(tmp_path, plan, default_model="offline"))
    for shot_id, (_, _, camera) in moves.items():
        assert board[shot_id].motion_prompt.startswith(camera), board[shot_id].motion_prompt


@pytest.mark.parametrize("routing", [{"default_model": "offline"},
                                     {"default_model": "scripted",
                                      "agent_models": {ARTIST: "offline"}}])
async def test_an_offline_location_look_is_the_place_s_name_not_a_story_sentence(
        tmp_path: Path, routing: dict[str, Any]) -> None:
    plan = previous()
    plan["architect"]["locations"][0]["description"] = (
        "The call came at ten to two, and Mara was at the kitchen table with the letter.")
    llm = ScriptedLLM(replies={ARTIST: artist_reply,
                               BOARDER: lambda prompt: final(shots_reply(prompt))})
    result = await run(tmp_path, plan, llm, **routing)
    kitchen = result.bible.location("keepers-kitchen")
    assert kitchen is not None and kitchen.look == "" and kitchen.phrase == "Keeper's Kitchen"
    for shot in shots(result).values():
        assert "ten to two" not in shot.image_prompt and "foot of the tower" not in \
            shot.image_prompt
    assert "Setting: interior, Keeper's Kitchen, at night." in \
        shots(result)["s001-sh01"].image_prompt


async def test_a_model_s_description_stands_in_for_a_missing_look_unless_it_quotes_speech(
        tmp_path: Path) -> None:
    plan = previous()
    plan["architect"]["locations"][1]["description"] = (
        '"Hold the lantern higher!" Mara shouted over the black rocks.')

    def artist(prompt: str) -> str:
        if '{"locations"' in prompt:  # an answer without looks
            return final({"locations": [{"id": "keepers-kitchen"},
                                        {"id": "gannet-point-rocks"}]})
        return artist_reply(prompt)

    llm = ScriptedLLM(replies={ARTIST: artist,
                               BOARDER: lambda prompt: final(shots_reply(prompt))})
    result = await run(tmp_path, plan, llm, default_model="scripted")
    kitchen, rocks = (result.bible.location(i) for i in ("keepers-kitchen", "gannet-point-rocks"))
    assert kitchen is not None and rocks is not None
    assert kitchen.look == "a cramped stone kitchen at the foot of the tower"
    assert rocks.look == "" and rocks.phrase == "Gannet Point Rocks"
    assert all("Hold the lantern" not in s.image_prompt for s in shots(result).values())


@pytest.mark.parametrize(("action", "cast", "motion_ends"), [
    ('"Pay it out," Mara said.', ["Tomas Vell"], "50mm lens."),  # Tomas listens: no lips move
    ('"Pay it out," Mara said.', ["Tomas Vell", "Mara Vell"], "50mm lens. Mara Vell speaks."),
    ('"Pay it out," she calls', ["Mara Vell"], "50mm lens. Mara Vell speaks."),
    ('"Pay it out," she calls', ["Tomas Vell", "Mara Vell"], "50mm lens. Someone speaks."),
    ("Mara said.", ["Mara Vell"], "50mm lens. Mara Vell speaks."),  # a tag without its line
])
def test_a_bare_speech_tag_shows_nothing_and_animates_only_the_speaker(
        action: str, cast: list[str], motion_ends: str) -> None:
    looks = [CharacterLook(id=name.split()[0].lower(), name=name, phrase=name,
                           reference_prompt="") for name in cast]
    shot = ShotFacts(number=1, size="MCU", movement="static", support="sticks", lens_mm=50)
    image, motion, _ = shot_prompts(shot, SceneFacts(number=1, id="s001"), looks, None,
                                    StyleGuide(), action, "")
    assert "Pay it out" not in image and "said" not in image and "calls" not in image
    assert "Mara said" not in motion
    assert motion.endswith(motion_ends), motion


@pytest.mark.parametrize(("coverage", "forbids_people"), [
    ("insert", True), ("master", True), ("single", False), ("two-shot", False),
    ("over-the-shoulder", False)])
def test_only_a_shot_of_an_empty_place_forbids_people(coverage: str,
                                                      forbids_people: bool) -> None:
    """A single whose plan names nobody still frames someone: its prompt must not forbid
    people (the director's plan warns that it names nobody)."""
    shot = ShotFacts(number=1, size="MCU", coverage=coverage)
    _, _, negative = shot_prompts(shot, SceneFacts(number=1, id="s001"), [], None,
                                  StyleGuide(), "", "")
    assert ("people" in negative.split(", ")) is forbids_people


def test_a_line_of_dialogue_stays_whole_with_its_tag() -> None:
    # a split inside or just after a quotation leaves lines without a speaker and tags
    # without a line: the character material a model reads, and the offline actions
    text = ('"Legion hall. Spud\'s lot," said Mo, and threw. "Stop!" she said. Mr. Pike came '
            "in. He sat.\n\u201cThe doctor says it\u2019s arthritis. The doctor says a lot of "
            "things.\u201d Nan laughed.\nChapter Two\nIt rained.")
    assert sentences(text) == [
        '"Legion hall. Spud\'s lot," said Mo, and threw.', '"Stop!" she said.',
        "Mr. Pike came in.", "He sat.",
        "\u201cThe doctor says it\u2019s arthritis. The doctor says a lot of things.\u201d",
        "Nan laughed.", "Chapter Two", "It rained."]
    # a quotation never closed ends at the paragraph, and a long one at its next full stop
    assert sentences('"Wait. Go.\nShe went.') == ['"Wait. Go.', "She went."]
    long = '"' + " ".join(["The sea was grey and the wind was high."] * 20)
    assert max(map(len, sentences(long))) < 700
    # a shot's action and a scene's summary are read to their first sentence the same way
    assert first_sentence('Mr. Pike said, "Wait. Go." He went.') == 'Mr. Pike said, "Wait. Go."'
    assert first_sentence("") == ""


@pytest.mark.parametrize(("day_night", "lit"), [("DAY", True), ("DUSK", True), ("NIGHT", False)])
def test_the_story_s_lighting_style_lights_no_scene_of_another_time(day_night: str,
                                                                     lit: bool) -> None:
    """A scene with no lighting of its own takes the style guide's, unless that paints another
    time: "Setting: ..., at night. Lighting: bright midday sun" makes an image model choose."""
    shot = ShotFacts(number=1, size="WS")
    scene = SceneFacts(number=1, id="s001", day_night=day_night)
    style = StyleGuide(lighting_style="bright midday sun, hard shadows")
    image, _, _ = shot_prompts(shot, scene, [], None, style, "", "")
    assert ("Lighting: bright midday sun, hard shadows." in image) is lit, image
    scene.lighting = "sodium street lamps"  # the scene's own lighting always wins
    image, _, _ = shot_prompts(shot, scene, [], None, style, "", "")
    assert "Lighting: sodium street lamps." in image and "midday" not in image


async def test_words_that_paint_another_time_are_warned_of_once_per_scene(
        tmp_path: Path) -> None:
    """Both lighthouse scenes are NIGHT. The plan lights scene 1 with "midday sun" and the
    boarding model puts scene 2's first shot in "afternoon sunlight": a person decides before
    paying for frames. Negated words and day-for-night are no clash."""
    plan = previous()
    plan["director"]["scenes"][0]["lighting"] = "midday sun through the salt-stained window"
    plan["director"]["scenes"][1]["shots"][1]["lighting"] = "no daylight left, day-for-night"

    def board(prompt: str) -> str:
        reply = shots_reply(prompt)
        if prompt.startswith("SCENE 2") or "\nSCENE 2" in prompt:
            reply["shots"][0]["action"] = "Mara climbs the rocks in afternoon sunlight"
        return final(reply)

    llm = ScriptedLLM(replies={ARTIST: artist_reply, BOARDER: board})
    result = await run(tmp_path, plan, llm, default_model="scripted")
    clashes = [w for w in result.warnings if "check before generating" in w]
    count = len(result.scenes[0].shots)
    assert clashes == [
        f"scene 1 is NIGHT but the plan's lighting says \u201cmidday\u201d (shots "
        f"{', '.join(str(n + 1) for n in range(count))}): check before generating",
        "scene 2 is NIGHT but the shot's action says \u201cafternoon\u201d (shot 1): "
        "check before generating"]
    # the prompts keep the plan's and the model's words: the warning is for a person
    assert "midday sun" in result.scenes[0].shots[0].image_prompt
    # as data: the kind, the scene and its shots, each of them flagged
    assert [(d.kind, d.scene, d.shots) for d in result.warning_details] == [
        ("time_of_day_clash", 1, list(range(1, count + 1))), ("time_of_day_clash", 2, [1])]
    assert [s.warning_kinds for s in result.scenes[0].shots] == [["time_of_day_clash"]] * count
    assert [s.warning_kinds for s in result.scenes[1].shots] == [["time_of_day_clash"], []]


async def test_someone_named_in_a_shot_but_not_in_frame_is_warned_of(tmp_path: Path) -> None:
    """The media step attaches a reference image for each of a shot's ``subjects``; a person
    the action names beyond them is painted with a face of the image model's choosing. Words
    inside a line of dialogue reach no image prompt, so a name there is no matter."""

    def board(prompt: str) -> str:
        reply = shots_reply(prompt)
        if "\nSCENE 1" in prompt or prompt.startswith("SCENE 1"):
            reply["shots"][0]["action"] = '"Tomas was right," Mara said.'
            reply["shots"][1]["action"] = "Mara reads the letter Tomas left on the table"
        else:
            reply["shots"][1]["composition"] = "the rope in Mara's hands fills the frame"
        return final(reply)

    llm = ScriptedLLM(replies={ARTIST: artist_reply, BOARDER: board})
    result = await run(tmp_path, previous(), llm, default_model="scripted")
    assert [s.subjects for s in result.scenes[0].shots] == [["mara-vell"], ["mara-vell"]]
    assert result.scenes[1].shots[1].subjects == []
    unframed = [w for w in result.warnings if "not in frame" in w]
    assert unframed == [
        "scene 1: Tomas Vell is named in shot 2 but not in frame, so no reference image goes "
        "with the prompt: check before generating",
        "scene 2: Mara Vell is named in shot 2 but not in frame, so no reference image goes "
        "with the prompt: check before generating"]
    assert [(d.kind, d.scene, d.shots, d.characters) for d in result.warning_details] == [
        ("not_in_frame", 1, [2], ["tomas-vell"]), ("not_in_frame", 2, [2], ["mara-vell"])]


@pytest.mark.parametrize(("sides", "times", "reference"), [
    (["INT", "INT"], ["NIGHT", "NIGHT"],
     "Establishing view of the bakery, interior, at night, no people, drama film"),
    (["EXT"], ["DAY", "DUSK"], "Establishing view of the bakery, exterior, no people, drama film"),
    (["INT", "EXT"], ["DAWN"],
     "Establishing view of the bakery, at dawn, first light, no people, drama film"),
    ([], [], "Establishing view of the bakery, no people, drama film"),
])
def test_a_location_s_reference_image_is_made_as_its_shots_see_it(
        sides: list[str], times: list[str], reference: str) -> None:
    """"Establishing view of the bakery" came back a shopfront by day for a place every shot
    sees inside at night: its reference image matched none of them."""
    look = location_look(LocationFacts(id="the-bakery", name="the bakery"), None, times,
                         StyleGuide(fragments=["drama film"]), described=False, sides=sides)
    assert look.reference_prompt == reference
