"""The offline stand-in's storyboard: looks only where the words tie them to the one person
(never a stranger's glasses or a thin rain: every prompt repeats a look, so a wrong one is
worse than none), and each shot's action from a sentence of the scene about who is in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_storyboard.crew import offline_material, told_by_pronoun
from novelcrew_storyboard.models import CharacterLook
from novelcrew_storyboard.offline import offline_character, offline_shot
from novelcrew_storyboard.source import CharacterFacts, SceneFacts, ShotFacts, Story, add_analysis

STORIES = Path(__file__).resolve().parents[3] / "examples" / "stories"
MARA = CharacterFacts(id="mara-quill", name="Mara Quill", aliases=["Mara"])
LENA = CharacterFacts(id="lena-gow", name="Lena Gow", aliases=["Sergeant Gow"])
AGNES = CharacterFacts(id="agnes-pike", name="Agnes Pike")


def looks(facts: CharacterFacts, *sentences: str, description: str = "") -> dict[str, str]:
    answer = offline_character(facts, description, list(sentences))
    found = {key: getattr(answer, key).value
             for key in ("age_range", "build", "skin", "hair", "eyes")
             if getattr(answer, key).value}
    if answer.distinguishing_features:
        found["features"] = "; ".join(f.value for f in answer.distinguishing_features)
    for trait in [*(getattr(answer, k) for k in ("age_range", "build", "skin", "hair", "eyes")),
                  *answer.distinguishing_features]:
        assert not trait.value or (trait.stated and trait.evidence), trait
    return found


def test_what_the_sentence_says_of_the_character_is_taken() -> None:
    assert looks(AGNES, "Agnes herself was seventy-eight, very small and very upright, "
                        "with white hair cut short as a boy's.") == {
        "age_range": "seventy-eight years old", "build": "small", "hair": "white hair"}
    assert looks(MARA, "Mara pushed her cropped dark hair back and rubbed her grey eyes.") == {
        "hair": "cropped dark hair", "eyes": "grey eyes"}
    assert looks(MARA, "Mara Quill, a tall, thin woman, stood at the rail.") == {
        "build": "thin"}


@pytest.mark.parametrize("sentence", [
    # the trait comes before the name: someone else's
    "She was about forty, short and square, with cropped dark hair, and she looked at Mara.",
    # not a person's build
    "Mara walked on through a thin rain.",
    "Mara's kitchen was small and cold.",
    # another person's, by possessive
    "Mara watched Tom's grey eyes narrow.",
    # a bare body word with nothing said of it
    "Mara closed her eyes and pushed back her hair.",
    # how she looks for a moment, not how she looks
    "Mara looked at him for a long moment, with her wet hair in her eyes.",
])
def test_what_is_not_tied_to_the_character_is_left_out(sentence: str) -> None:
    assert looks(MARA, sentence) == {}


def test_a_his_does_not_describe_a_woman_the_story_calls_her() -> None:
    about_her = ["Lena Gow put her cap on her knee.", "Lena Gow said she would see to it."]
    assert looks(LENA, *about_her, "Lena Gow stood there with his glasses off.") == {}
    assert looks(LENA, *about_her, "Lena Gow stood there with her glasses off.") == {
        "features": "glasses"}


def test_a_model_description_is_about_the_character_and_read_whole() -> None:
    description = ("Keeper of the Gannet Point light for eleven years, in her forties, wiry, "
                   "with grey-streaked dark hair and a scar across her left palm.")
    assert looks(MARA, description=description) == {
        "age_range": "in her forties", "build": "wiry", "hair": "grey-streaked dark hair",
        "features": "a scar across her left palm"}


async def test_the_example_stories_describe_no_one_wrongly(tmp_path: Path) -> None:
    """The Eagles once gave Mara Quill 'a neat moustache', 'rimless glasses' and a thin
    build (other people's, in sentences that named her); the orchard's Agnes Pike is the
    one person its words describe."""
    plugins = make_plugins(entry_points=["architect", "director", "storyboard", "pathrag"])
    phrases: dict[str, dict[str, str]] = {}
    for story in ("the-eagles-of-inchcarra", "the-orchard-at-kestrel-hill"):
        job, _ = await run_job(plugins, "architect,director,storyboard",
                               {"story_text": (STORIES / f"{story}.txt").read_text()},
                               settings=make_settings(tmp_path / story, default_model="offline"),
                               project_id=story)
        assert job.status == "succeeded", job.error
        bible = job.result["storyboard"]["bible"]
        phrases[story] = {c["name"]: c["phrase"] for c in bible["characters"]}
    assert phrases["the-eagles-of-inchcarra"]["Mara Quill"] == "Mara Quill"
    assert phrases["the-orchard-at-kestrel-hill"]["Agnes Pike"] == (
        "Agnes Pike, seventy-eight years old, small, white hair")


SCENE = SceneFacts(number=1, id="s001", summary="Every October Thomas Ashworth minded the geese.",
                   text=('Every October Thomas Ashworth minded the geese. His sister, Clare '
                         'Ashworth, leaned on the gate and watched him. "You know they will run," '
                         'Clare said. "They\'ve never run," Tuck said. "Not once. Get on, Clare." '
                         'Tuck scattered corn around his boots.'))


def person(name: str) -> CharacterLook:
    return CharacterLook(id=name.lower().replace(" ", "-"), name=name, phrase=name,
                         reference_prompt="")


@pytest.mark.parametrize(("who", "number", "action"), [
    ("Clare Ashworth", 4, "His sister, Clare Ashworth, leaned on the gate and watched him"),
    ("Tuck", 5, "Tuck scattered corn around his boots"),
])
def test_a_single_acts_out_a_sentence_about_its_subject(who: str, number: int,
                                                         action: str) -> None:
    """Not the summary every master has, not Thomas's sentence for Clare (a shared surname),
    not a line of dialogue, its bare tag or a piece of a line ('Get on, Clare."')."""
    shot = ShotFacts(number=number, size="MCU", coverage="single")
    assert offline_shot(shot, SCENE, [person(who)])[0] == action


def test_a_master_and_a_shot_of_nobody_share_the_summary() -> None:
    master = ShotFacts(number=1, size="WS", coverage="master")
    assert offline_shot(master, SCENE, [person("Tuck")])[0] == (
        "Every October Thomas Ashworth minded the geese")
    assert offline_shot(ShotFacts(number=2, size="INSERT", coverage="insert"), SCENE, [])[0] \
        == "Every October Thomas Ashworth minded the geese"


def test_a_line_of_dialogue_gives_its_speaker_no_look_and_no_pronoun() -> None:
    # what she says of a stranger is no look of hers
    assert looks(AGNES, '"You saw a man with a moustache and glasses in the dark," Agnes '
                        "said.") == {}
    # the hes of her lines do not outvote the shes of the narration: "his glasses" (the
    # minister's, in a sentence that names only her) stays someone else's
    assert looks(AGNES,
                 'Agnes shook her head. "He said he would come. He never does. He forgets."',
                 "Agnes folded her arms and she waited.",
                 "Agnes put her cup down and she smiled.",
                 "He looked at Agnes over his glasses.") == {}
    assert looks(AGNES, "Agnes took off her glasses.",
                 'Agnes laughed. "He never does."') == {"features": "glasses"}


def test_a_sentence_that_goes_on_by_pronoun_describes_who_came_before() -> None:
    """Vell Street's Theo ("He was nineteen, long-armed and careful") and the Orchard's Sam
    ("He had grown a beard") are described by pronoun right after their names; the stand-in
    gave both no look at all, so every generated shot drew a new face."""
    story = Story()
    add_analysis(story, {
        "characters": [{"id": "theo", "name": "Theo Lind"}, {"id": "rosa", "name": "Rosa"},
                       {"id": "chef", "name": "Chef"}],
        "scenes": [{"number": 1, "text": (
            "Theo Lind arrived at ten past four. He was nineteen, long-armed and careful. "
            "Rosa looked at him. He was shaking. "  # names Rosa before: not his for sure
            "Theo Lind had grown a beard. He had grown a beard, she saw. "
            "Theo Lind stopped. She was sixty and small. "  # not his pronoun
            "Theo Lind was the sous-chef. He was six foot five.")}]})
    told = told_by_pronoun(story, "theo", None)
    assert told == ["Theo Lind was nineteen, long-armed and careful.",
                    "Theo Lind had grown a beard, she saw.",
                    "Theo Lind was six foot five."]  # a "sous-chef" is no mention of Chef
    description, material = offline_material(story, "theo", 6000)
    assert looks(story.characters["theo"], *material, description=description) == {
        "age_range": "nineteen years old", "build": "long-armed", "features": "a beard"}


@pytest.mark.parametrize(("sentence", "found"), [
    ("Mali Pugh was twelve and had been up all night.", {"age_range": "twelve years old"}),
    ("Mara was perhaps forty, dark, weathered.", {"age_range": "forty years old"}),
    ("Mara was six miles out by then.", {}),
    ("Sat Mara, who was six foot five.", {"build": "six foot five"}),
    ("Mara had grown a beard over the winter.", {"features": "a beard"}),
    # an age in words: the vicar "was very old now, and deaf" had no age in the bible
    ("Mara was very old now, and deaf.", {"age_range": "old"}),
    ("Mara was old enough to know better.", {}),
    ("Mara was old friends with the keeper.", {}),
])
def test_ages_heights_and_grown_features(sentence: str, found: dict[str, str]) -> None:
    facts = MARA if "Mali" not in sentence else CharacterFacts(id="mali", name="Mali Pugh")
    assert looks(facts, sentence) == found


def test_an_insert_draws_its_prop_as_the_story_shows_it_alone() -> None:
    """The director's insert is noted "The crock."; its prompt drew just that word. The
    scene's own sentence about the thing, with nobody in it, is what an image model needs;
    a sentence with someone in it is no insert's (the frame holds no one)."""
    crock = SceneFacts(number=1, id="s001", summary="Rosa opens the bakery.", text=(
        "Rosa switched on the ovens. It sat where it always sat, on the shelf: a brown "
        "stoneware crock with a chipped lip. Rosa took the crock down."))
    insert = ShotFacts(number=6, size="INSERT", coverage="insert", notes="The crock.")
    assert offline_shot(insert, crock, [])[0] == (
        "It sat where it always sat, on the shelf: a brown stoneware crock with a chipped lip")
    ovens = ShotFacts(number=6, size="INSERT", coverage="insert", notes="The ovens.")
    assert offline_shot(ovens, crock, [])[0] == "The ovens"  # only Rosa's sentence has them


@pytest.mark.parametrize(("coverage", "who", "composition"), [
    ("over-the-shoulder", ["Rosa Amati", "Theo Lind"], "over Theo Lind's shoulder onto Rosa Amati"),
    ("over-the-shoulder", ["Tuck"], "over a shoulder onto Tuck"),
    ("single", ["Tuck"], "Tuck alone in frame"),
    ("two-shot", ["Tuck", "Clare Ashworth"], "Tuck and Clare Ashworth together in frame"),
    ("master", ["Tuck", "Clare Ashworth"],
     "full view of the setting with Tuck and Clare Ashworth in it"),
    ("insert", [], "the detail fills the frame"),
    ("", [], ""),
])
def test_an_offline_composition_frames_the_shot_in_words_an_image_model_reads(
        coverage: str, who: list[str], composition: str) -> None:
    """It was the crew's shorthand: "over-the-shoulder on Rosa Amati and Theo Lind" (whose
    shoulder?), "insert." after "insert shot", and "framing." where the plan gave none."""
    shot = ShotFacts(number=2, size="MS", coverage=coverage)
    assert offline_shot(shot, SCENE, [person(n) for n in who])[1] == composition
