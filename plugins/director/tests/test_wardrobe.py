"""Wardrobe the offline stand-in's breakdown takes from the scene's own text.

Precision over recall: each rule that attributes a garment has a case, and so has each rule
that refuses one (another person in the sentence, a pronoun that is someone else's, idioms).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from director_fixtures import MemoryGraph, graph_plugin

from novelcrew_director import ScenePlan
from novelcrew_director.breakdown import sheet
from novelcrew_director.models import SceneBreakdown
from novelcrew_director.story import SceneFacts, StoryContext
from novelcrew_director.wardrobe import IDIOMS, scene_wardrobe
from novelcrew_sdk import make_plugins, make_settings, run_job

NAMES = {"Ruth Okonjo": "ruth", "Ruth": "ruth", "Geraint Pugh": "geraint", "Geraint": "geraint",
         "Mali Pugh": "mali", "Mali": "mali", "Tuck": "tuck", "Danny": "danny",
         "Owen Jenkins": "owen", "Bird": "bird"}
CAST = ["ruth", "geraint", "mali", "tuck", "danny", "owen", "bird"]
#: how the story refers to them: Ruth and Mali "she", Geraint and Tuck "he"
STORY = ("Ruth said she was tired. Ruth put her bag down. Mali held her breath. "
         "Geraint rubbed his hands. Geraint said he would pull. Tuck counted his geese.")


def worn(text: str, cast: list[str] = CAST, story: str = STORY) -> list[tuple[str, str]]:
    return scene_wardrobe(text, cast, NAMES, [story, text])


@pytest.mark.parametrize(("text", "expected"), [
    # "<Name> ... her coat" and "<Name> pulled a ... glove", at most two modifiers kept
    ("Ruth stripped off her coat, pulled a long glove up to her shoulder, and knelt in the "
     "straw behind her.", [("ruth", "coat"), ("ruth", "long glove")]),
    # "<Name> in his ..."
    ("Tuck in his dark suit was the first to arrive.", [("tuck", "dark suit")]),
    # "<Name>'s ..."
    ("The rain ran off Ruth's coat.", [("ruth", "coat")]),
    ("The mud on Bird's boots had dried.", [("bird", "boots")]),
    # "<Name> in a grey coat"; "<Name> came at ten, in a good coat"
    ("Mali in a grey coat waited at the gate.", [("mali", "grey coat")]),
    ("Danny came at ten, in a good coat, with a folder under his arm.",
     [("danny", "good coat")]),
    # verbs of dressing
    ("Geraint wore his oldest overalls.", [("geraint", "oldest overalls")]),
    ("Mali was wearing a red anorak.", [("mali", "red anorak")]),
    ("Geraint took off his cap and sat down.", [("geraint", "cap")]),
    ("Ruth pulled on a pair of enormous wellingtons.", [("ruth", "enormous wellingtons")]),
    ("Ruth wore a very long waxed coat.", [("ruth", "long waxed coat")]),
    # "and" carries the owner: "in jeans and a fleece"
    ("Mali came down the lane, in jeans and a fleece.",
     [("mali", "jeans"), ("mali", "fleece")]),
    # a title before the name is no other person
    ("PC Owen Jenkins came in with his hat under his arm.", [("owen", "hat")]),
])
def test_a_garment_the_text_gives_one_named_person(text: str,
                                                   expected: list[tuple[str, str]]) -> None:
    assert worn(text) == expected


def test_three_garments_a_person_in_text_order_each_once() -> None:
    text = "Ruth wore a coat, a hat, a scarf and gloves. Later Ruth took off her coat."
    assert worn(text) == [("ruth", "coat"), ("ruth", "hat"), ("ruth", "scarf")]


@pytest.mark.parametrize("text", [
    # two cast members named
    "Ruth took off her coat and handed it to Mali.",
    "Ruth looked at the mud on Bird's boots.",
    "Geraint Pugh watched Mali pull on her boots.",
    # a his/her against the character's pronoun (Ruth is "she", Geraint "he")
    "Ruth stood by the fire, steam rising from his coat.",
    "Geraint hung up her coat.",
    # someone else who could own it
    "Ruth looked at the girl and her red coat.",
    "Geraint watched as the man pulled on his coat.",
    "She leaned close enough that Ruth could smell the rain on her coat.",
    "And behind him came Geraint, with his hands in the pockets of his jacket.",
    "Ruth put on her father's boots.",
    "Mali had sat through her mother's funeral here at fourteen, in a borrowed black dress.",
    # the garment before the name, or no name at all
    "Her coat was soaked, and Ruth shivered.",
    "She pulled on her high-visibility jacket.",
    # a cast member of another scene, and quoted speech (what is said is not seen)
    "Owen Jenkins took off his hat.",
    '"Take off your coat, Ruth," said Geraint.',
    '"Put on your coat," Ruth said.',
    # clothes, not an outfit; not the head of its phrase; a hyphenated word
    "Ruth folded her shirts into the case.",
    "Ruth's uniform grey hair was wet.",
    "Ruth stood by the door in her shirt-sleeves.",
])
def test_a_doubtful_attribution_is_refused(text: str) -> None:
    cast = [c for c in CAST if c != "owen"]
    assert worn(text, cast) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Ruth put on a coat of varnish.", []),
    ("Ruth pulled up the hood of her coat.", [("ruth", "coat")]),
    ("Ruth's dress rehearsal went well.", []),
    ("Ruth put on her thinking cap.", []),
    ("Mali had a feather in her cap.", []),
    ("Geraint came to the door with his cap in hand.", []),
    ("Ruth wore the trousers in that house.", []),
    ("Geraint's strong suit was patience.", []),
    ("Geraint said suit yourself, followed suit and pulled off his boots.",
     [("geraint", "boots")]),
    ("Ruth put her bag in the boot of the car.", []),
    ("Ruth would not want to be in Mali's shoes.", []),
    ("Geraint put on his gloves, and the gloves were off.", [("geraint", "gloves")]),
])
def test_idioms_and_other_senses_are_no_garment(text: str,
                                                expected: list[tuple[str, str]]) -> None:
    assert worn(text) == expected


def test_the_idiom_list_is_kept_small() -> None:
    assert 10 <= len(IDIOMS) <= 40


def test_a_pronoun_is_read_from_the_story() -> None:
    """Geraint is "he" in the story: "her jacket" is not his. A character the story calls
    both (neither twice as often) gets a his/her only right after the name."""
    assert worn("Geraint shrugged into her jacket.") == []
    assert worn("Tuck shrugged into his jacket.") == [("tuck", "jacket")]
    mixed = ("Danny said he was cold. Danny said she was kind. Danny said he was late. "
             "Danny said she was right.")
    assert worn("Danny stood up, brushing snow off his jacket.", story=mixed) == []
    assert worn("Danny in his jacket was cold.", story=mixed) == [("danny", "jacket")]


def _facts(text: str) -> tuple[SceneFacts, StoryContext]:
    facts = SceneFacts(number=1, text=text, characters=["Ruth Okonjo"])
    story = StoryContext(scenes={1: facts}, characters={"Ruth Okonjo": ""},
                         character_ids={"Ruth Okonjo": "ruth", "Ruth": "ruth"})
    return facts, story


def test_only_the_untrusted_path_reads_wardrobe_from_the_text() -> None:
    facts, story = _facts("Ruth stripped off her coat and knelt in the straw.")
    offline = sheet(facts, story, SceneBreakdown(summary="x"), 10.0, trust=False)
    assert [(i.item, i.character, i.suggested) for i in offline.wardrobe] == [
        ("coat", "ruth", False)]
    trusted = sheet(facts, story, SceneBreakdown(summary="x"), 10.0, trust=True)
    assert trusted.wardrobe == []  # a real model's answer is handled as before
    answered = sheet(facts, story, SceneBreakdown.model_validate(
        {"summary": "x", "wardrobe": [{"item": "vet's overalls", "character": "Ruth"}]}),
        10.0, trust=True)
    assert [(i.item, i.character) for i in answered.wardrobe] == [("vet's overalls", "ruth")]


PEN_Y_BRYN = (Path(__file__).resolve().parents[3] / "examples" / "stories"
              / "the-night-call-at-pen-y-bryn.txt")


async def test_offline_chain_dresses_ruth_in_her_coat(tmp_path: Path) -> None:
    plugins = make_plugins(graph_plugin(MemoryGraph()), entry_points=["architect", "director"])
    settings = make_settings(tmp_path / "data", default_model="offline")
    job, _ = await run_job(plugins, "architect,director",
                           {"story_text": PEN_Y_BRYN.read_text(encoding="utf-8")},
                           settings=settings, project_id="offline-wardrobe")
    assert job.status == "succeeded", job.error
    ruth = next(c["id"] for c in job.result["architect"]["characters"]
                if c["name"] == "Ruth Okonjo")
    plan = ScenePlan.model_validate(job.result["director"])
    worn_by_ruth = [(scene.number, item.item) for scene in plan.scenes
                    for item in scene.breakdown.wardrobe if item.character == ruth]
    assert any(item == "coat" for _, item in worn_by_ruth), worn_by_ruth
    assert all(not item.suggested for scene in plan.scenes for item in scene.breakdown.wardrobe)
