"""The breakdown sheet's categories as departments read them: a pony is the wrangler's, a
motorbike the picture-vehicle coordinator's, a lantern the props master's."""

from __future__ import annotations

from novelcrew_director.breakdown import add_continuity, sheet
from novelcrew_director.models import PlannedScene, SceneBreakdown, Shot
from novelcrew_director.story import SceneFacts, StoryContext

TEXT = ("Dora led her Shetland pony, Biscuit, past the geese. Clare's motorbike coughed; "
        "Tuck held up a lantern.")
OBJECTS = ["lantern", "geese", "Biscuit (Shetland pony)", "motorbike"]


def _facts(number: int) -> SceneFacts:
    return SceneFacts(number=number, text=TEXT, objects=OBJECTS, characters=["Tuck"],
                      story_day=1, day_night="NIGHT", int_ext="EXT")


def test_the_story_s_animals_and_vehicles_are_no_props() -> None:
    """The offline demo listed "geese, lantern, motorbike, punt" as props."""
    drawn = sheet(_facts(1), StoryContext(), None, 30, trust=False)
    assert [i.item for i in drawn.props] == ["lantern"]
    assert [i.item for i in drawn.animals] == ["geese", "Biscuit (Shetland pony)"]
    assert [i.item for i in drawn.vehicles] == ["motorbike"]


def test_an_object_the_model_already_placed_is_not_listed_twice() -> None:
    """A model that put the pony under animals kept it there, and the story's objects added it
    again as a prop."""
    answer = SceneBreakdown.model_validate({"summary": "The fair.", "props": ["clipboard"],
                                            "animals": ["Biscuit (Shetland pony)"]})
    drawn = sheet(_facts(1), StoryContext(), answer, 30, trust=True)
    every = [i.item for key in ("props", "animals", "vehicles") for i in getattr(drawn, key)]
    assert sorted(every) == sorted(["clipboard", *OBJECTS])
    assert drawn.animals[0].item == "Biscuit (Shetland pony)"


def test_vehicles_and_animals_carry_from_scene_to_scene_like_props() -> None:
    scenes = []
    for number in (1, 2):
        drawn = sheet(_facts(number), StoryContext(), None, 30, trust=False)
        scenes.append(PlannedScene(number=number, heading="EXT. GREEN - NIGHT", summary="-",
                                   story_day=1, breakdown=drawn, shots=[Shot(
                                       number=1, size="WS", estimated_duration_seconds=3)]))
    add_continuity(scenes)
    notes = scenes[1].breakdown.continuity
    assert "props carried from scene 1: lantern" in notes
    assert "vehicles carried from scene 1: motorbike" in notes
    assert "animals carried from scene 1: geese, Biscuit (Shetland pony)" in notes


def test_every_vehicle_and_animal_the_narration_shows_is_booked() -> None:
    """The offline demo's sheets missed the quad bike, the heifer and the barn owl: the
    story's objects are its eight most named nouns, and a model may forget one too. What
    someone only says, compares or eats is no booking."""
    text = ("Ruth drove the Land Rover up the track, and Fly ran beside Geraint's quad bike. "
            '"Get the tractor," she said. The heifer lowed. A barn owl went over with a sound '
            "like a train. Mali had a horse-like laugh and ate the lamb chops.")
    answer = SceneBreakdown.model_validate({"summary": "The calving.",
                                            "vehicles": ["Ruth's Land Rover"]})
    drawn = sheet(SceneFacts(number=1, text=text, objects=["Fly (sheepdog)"]), StoryContext(),
                  answer, 30, trust=True)
    assert [i.item for i in drawn.vehicles] == ["Ruth's Land Rover", "quad bike"]
    assert [i.item for i in drawn.animals] == ["Fly (sheepdog)", "heifer", "barn owl"]
    assert not any(i.suggested for i in drawn.vehicles + drawn.animals)
