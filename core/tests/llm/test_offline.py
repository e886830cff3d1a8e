"""The offline model: schema-valid answers extracted from the input text, labelled offline."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from novelcrew import hookimpl
from novelcrew.default_plugins.offline.extract import TextFacts
from novelcrew.default_plugins.offline.fill import OFFLINE_NOTE
from novelcrew.default_plugins.offline.llm import OfflineLLM, answer, schema_in
from novelcrew.specs import Crew
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

STORY = """The Keeper's Daughter

Maya Reyes climbed the stairs of the lighthouse at dusk, the way her father had taught her. \
The lamp had not been lit in three years.

Below, in the village of Port Ellis, Tom Hale was closing his bakery. He watched the dark \
tower and frowned. "She's up there again," he told his sister Ruth.

Ruth laughed. "Let her be, Tom. Maya has always been stubborn."

At midnight the storm came. Maya found her father's old logbook in the cellar of the \
lighthouse, and in it a name she did not know: Elias Hale.

In the morning Maya walked to the bakery. Tom would not meet her eyes. "Your father and mine \
were brothers," he said at last. "Nobody wanted you to know."
"""


class Role(StrEnum):
    protagonist = "protagonist"
    antagonist = "antagonist"
    supporting = "supporting"


class Character(BaseModel):
    name: str
    role: Role
    description: str
    arc: str = ""


class Scene(BaseModel):
    number: int = Field(ge=1)
    heading: str
    location: str
    time_of_day: Literal["DAY", "NIGHT"]
    characters: list[str]
    summary: str
    emotional_beat: str
    dialogue: list[str] = []
    duration_seconds: float = Field(gt=0)


class Relationship(BaseModel):
    source: str
    target: str
    description: str
    weight: float = Field(ge=0, le=1)


class Analysis(BaseModel):
    title: str
    logline: str
    themes: list[str] = Field(min_length=1)
    characters: list[Character]
    relationships: list[Relationship] = []
    locations: list[str]
    scenes: list[Scene]
    total_scenes: int
    notes: str | None = None
    tagged: bool | None = None
    extra: dict[str, int] = {}


def test_a_list_heading_is_no_title() -> None:
    """A story with no title line came out titled "CHARACTERS" in every export: the synthesis
    reads the analysis as lists under headings, and the stand-in took the first short line
    for the title. A heading over a list, or an item of one, is no title; with none, a
    story's title is the headline of its first sentence of prose, and a text of lists is
    "Untitled"."""
    summary = ("CHARACTERS\n- Rosa Amati (protagonist): a baker.\nLOCATIONS\n- the kitchen\n"
               "SCENES IN ORDER\n1. [the kitchen, DAWN] Rosa baked bread at dawn.")
    _, value = answer([{"role": "user", "content": f"Synthesise:\n\n{summary}"}], Analysis)
    assert value["title"] == "Untitled"
    story = "Rosa baked bread in the kitchen at dawn while Theo watched. Then she sat down."
    _, value = answer([{"role": "user", "content": f"Analyse this story:\n\n{story}"}],
                      Analysis)
    assert value["title"] == "Rosa baked bread in the kitchen"
    assert TextFacts(f"The Bakery\n\n{story}").title == "The Bakery"


def test_fills_a_nested_schema_with_text_from_the_story() -> None:
    text, value = answer([{"role": "user", "content": f"Analyse this story:\n\n{STORY}"}],
                         Analysis)
    analysis = Analysis.model_validate(value)
    assert json.loads(text) == value
    assert analysis.title == "The Keeper's Daughter"
    names = [c.name for c in analysis.characters]
    assert names[0] == "Maya Reyes"
    assert {"Tom Hale", "Ruth", "Elias Hale"} <= set(names)
    assert "Port Ellis" not in names  # a place, not a person
    assert analysis.characters[0].role is Role.protagonist
    assert all(c.description in STORY.replace("\\\n", "") or c.description for c in
               analysis.characters)
    assert "the lighthouse" in analysis.locations
    # paragraphs grouped into scenes, a new one at "At midnight" and "In the morning"
    assert len(analysis.scenes) == analysis.total_scenes == 3
    first, night, morning = analysis.scenes
    assert first.summary.startswith("Maya Reyes climbed the stairs")
    assert first.characters[0] == "Maya Reyes" and first.location == "the lighthouse"
    assert {"Tom Hale", "Ruth"} <= set(first.characters)
    assert night.summary == "At midnight the storm came." and night.time_of_day == "NIGHT"
    assert "Elias Hale" in night.characters
    assert "Your father and mine were brothers" in morning.dialogue
    assert morning.location == "the bakery"
    assert [s.number for s in analysis.scenes] == [1, 2, 3]
    assert analysis.notes == OFFLINE_NOTE
    for rel in analysis.relationships:
        assert rel.source in names and rel.target in names


def test_walks_refs_anyof_enums_bounds_and_arrays_from_a_raw_schema() -> None:
    schema = {
        "$defs": {"Shot": {"type": "object", "properties": {
            "shot_type": {"enum": ["wide", "close-up"]},
            "lens": {"type": "string", "maxLength": 4},
            "seconds": {"type": "integer", "minimum": 2, "maximum": 9},
        }, "required": ["shot_type", "lens", "seconds"]}},
        "type": "object",
        "properties": {
            "shots": {"type": "array", "items": {"$ref": "#/$defs/Shot"}, "minItems": 2,
                      "maxItems": 3},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "exclusiveMinimum": 4}]},
            "flags": {"type": "array", "items": {"type": "boolean"}, "minItems": 1},
            "model": {"type": "string"},
        },
        "required": ["shots", "maybe", "flags"],
    }
    prompt = f"Plan shots for: {STORY}\nFormat your final answer according to the following " \
             f"OpenAPI schema: {json.dumps(schema)}\n\nProvide your complete response:"
    found, rest = schema_in(prompt)
    assert found == schema and "OpenAPI" not in rest
    _, value = answer(prompt)
    assert 2 <= len(value["shots"]) <= 3
    for shot in value["shots"]:
        assert shot["shot_type"] in ("wide", "close-up")
        assert len(shot["lens"]) <= 4 and 2 <= shot["seconds"] <= 9
    assert value["maybe"] == 5
    assert value["flags"] and set(value["flags"]) == {False}
    assert value["model"] == OFFLINE_NOTE


def test_without_a_schema_it_answers_a_labelled_extract() -> None:
    llm = OfflineLLM()
    reply = llm.call(f"Summarise: {STORY}")
    assert reply.startswith("Thought:") and "Final Answer: [offline]" in reply
    assert "Maya Reyes" in reply
    assert llm.call(f"Summarise: {STORY}") == reply  # deterministic
    assert llm.supports_function_calling() is False


class StoryIn(BaseModel):
    story: str


async def _analyse(ctx: Any, inputs: StoryIn) -> Analysis:
    from crewai import Agent, Task
    from crewai import Crew as CrewAICrew
    from crewai.tools import tool

    @tool("kg_query")
    def kg_query(query: str) -> str:
        """Query the knowledge graph."""
        return "nothing"

    analyst = Agent(role="Story Structure Analyst", goal="Analyse story structure",
                    backstory="A script editor.", llm=ctx.llm("Story Structure Analyst"),
                    tools=[kg_query])
    task = Task(description="Analyse the structure of this story:\n\n{story}",
                expected_output="A story analysis", agent=analyst, output_pydantic=Analysis)
    out = await ctx.kickoff(CrewAICrew(agents=[analyst], tasks=[task], tracing=False),
                            {"story": inputs.story})
    return out.pydantic


class StoryCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="story", description="analyses", input_model=StoryIn,
                      output_model=Analysis, run=_analyse))


async def test_a_crew_with_tools_and_output_pydantic_runs_offline(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")  # default model: offline
    job, events = await run_job(make_plugins(StoryCrews()), "story", {"story": STORY},
                                settings=settings)
    assert job.status == "succeeded", job.error
    analysis = Analysis.model_validate(job.result["story"])
    assert analysis.characters[0].name == "Maya Reyes"
    assert len(analysis.scenes) == 3
    assert analysis.notes == OFFLINE_NOTE
    assert job.models_used == ["offline"]
    assert job.usage["offline"].calls == 1 and job.usage["offline"].prompt_tokens > 100
    [call] = [e.data for e in events if e.type == "llm_call"]
    assert call["model"] == "offline" and call["agent"] == "Story Structure Analyst"


def test_key_objects_are_things_a_props_master_could_fetch() -> None:
    """The offline props were the nouns a story repeats after "the": Pen-y-Bryn's read "wall,
    window, lights, straw, jack, ribs" and its inserts showed "The wall.", while the calving
    ropes, the head torch and the blanket were missing. They are now the things the narration
    names, from a lexicon, worded as the story words them; speech adds none ("Get the jack.")
    and a noun that names another's kind is not a thing of its own ("the tea towel")."""
    from novelcrew.default_plugins.offline.extract import TextFacts
    from novelcrew.default_plugins.offline.things import things, things_in

    assert things('She looped the calving ropes above the fetlocks. "Get the jack," he said. '
                  "She dried the ropes on the tea towel by the wall.") == [
        "calving ropes", "tea towel"]
    assert things("He tipped the pan and spooned. The turbot in the copper pan was done.") == [
        "copper pan", "turbot"]
    assert things_in("She coiled the ropes and lit a lantern.", ["calving ropes", "lanterns"]
                     ) == ["calving ropes", "lantern"]  # one item; a noun as the scene has it
    assert things("An owl flew by, white as a sheet. Fly lay at her back like a hot-water "
                  "bottle.") == ["owl"]  # only compared to
    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    farm = TextFacts((stories / "the-night-call-at-pen-y-bryn.txt").read_text()).objects
    assert {"calving ropes", "head torch", "blanket", "colostrum"} <= set(farm)
    seen: set[str] = set()
    for story in sorted(stories.glob("*.txt")):
        seen.update(TextFacts(story.read_text()).objects)
    assert not seen & {"true", "best", "cold", "north", "minute", "finger", "wall", "window",
                       "lights", "ribs", "saw", "jack"}


def test_every_scene_of_a_story_is_in_the_plan() -> None:
    """The fill stopped every list at twelve items, scenes too: the Orchard's last seven scenes
    (the frost night, the grafting, the ending) were missing from the offline plan."""
    from novelcrew.default_plugins.offline.extract import TextFacts
    from novelcrew.default_plugins.offline.fill import SchemaFiller

    days = " ".join(["Tom walked to the harbour and looked at the boats for a while, and then he"
                     " walked home again along the wall."] * 2)
    story = "\n\n".join(f"At {n} o'clock {days}" for n in
                         ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                          "ten", "eleven", "twelve"] * 2)
    schema: dict[str, Any] = {"type": "object", "required": ["scenes"], "properties": {"scenes": {
        "type": "array", "items": {"type": "object", "required": ["summary"],
                                   "properties": {"summary": {"type": "string"}}}}}}
    facts = TextFacts(story)
    assert len(facts.scenes) == 24
    assert len(SchemaFiller(facts, schema).fill()["scenes"]) == 24
    # nor a scene's breakdown: Pen-y-Bryn's kitchen at dawn lost its blanket and colostrum
    things = ("a knife, a fork, a spoon, a ladle, a whisk, a pan, a kettle, a teapot, a mug, "
              "a jug, a bowl, a plate, a tray, a bucket and a basket")
    kitchen = f"At six o'clock Rosa laid out {things} on the counter. Tom came in at ten past."
    schema["properties"]["scenes"]["items"]["properties"]["objects"] = {
        "type": "array", "items": {"type": "string"}}
    schema["properties"]["scenes"]["items"]["required"] = ["summary", "objects"]
    (scene,) = SchemaFiller(TextFacts(kitchen), schema).fill()["scenes"]
    assert len(scene["objects"]) == 15 and "basket" in scene["objects"]


def test_a_hyphenated_name_is_one_name() -> None:
    """Pen-y-Bryn's cast had a "Bryn", the end of the farm's name, on every call sheet the
    farm's name reached; "Anne-Marie Pugh" is one person, not an "Anne" and a "Marie Pugh"."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    facts = TextFacts('Pen-y-Bryn was the last farm. Ruth Okonjo drove up to Pen-y-Bryn at '
                      'two. "Come in," said Anne-Marie Pugh. Anne-Marie Pugh walked to the '
                      'shed. Ruth Okonjo followed her. "Go on," said Ruth Okonjo.')
    assert facts.characters == ["Ruth Okonjo", "Anne-Marie Pugh"]
    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    farm = TextFacts((stories / "the-night-call-at-pen-y-bryn.txt").read_text()).characters
    assert "Bryn" not in farm and {"Ruth Okonjo", "Geraint Pugh", "Mali Pugh"} <= set(farm)


def test_a_surname_alone_is_its_one_bearer_or_no_one() -> None:
    """The Eagles' chunks cast "Quill" beside "Mara Quill", and "Moody" beside Kit and Agnes
    Moody, so a look told of Agnes had two claimants and was dropped."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    facts = TextFacts('"Hello," said Mara Quill. Then Kit Moody ran. Then Agnes Moody waved. '
                      'Then Quill sat. Then Moody spoke. "Tea?" said Agnes Moody. Then Kit '
                      'Moody laughed. Then Quill nodded.')
    assert set(facts.characters) == {"Mara Quill", "Kit Moody", "Agnes Moody"}


def test_a_name_only_ever_in_a_list_of_names_that_never_acts_is_no_cast() -> None:
    """The Orchard's cast had "Little Sutton", a stop the train calls at: "Marling, Coombe,
    Hatherby Halt, Little Sutton, and then the long curve". One who acts stays cast."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    text = ("Nell Ashby counted the stops: Marling, Coombe, Hatherby Halt, Little Sutton, and "
            "then Kestrel. \"Hello,\" said Sam Ashby. \"Hello,\" said Nell Ashby.\n\n"
            "At the wake came Agnes, Tom Reid, Joe Penn and the vicar. Tom Reid nodded.")
    cast = TextFacts(text).characters
    assert "Little Sutton" not in cast and "Hatherby Halt" not in cast
    assert {"Nell Ashby", "Sam Ashby", "Tom Reid"} <= set(cast)  # Tom Reid nods


def test_a_thing_named_like_a_person_is_not_cast_nor_a_pony_a_location() -> None:
    """The Lantern Fair demo's cast read Harrow ("the Plough and Harrow"), Honda ("her old
    Honda") and Shetland ("her Shetland pony"), and its locations Biscuit ("the legs of
    Biscuit", a pony named four times, once after "of"); the Land Rover was cast in two
    stories. A title keeps "the Reverend Hale" a person. Tuck was cast twice, once under his
    real name. The Eagles' cast began with "the Creag Mhor" and held "Hamish Dunn's Range
    Rover". The fair's props were "geese, band, green, marsh, frost, pond"."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    fair = TextFacts((stories / "the-lantern-fair-at-oxley-marsh.txt").read_text())
    assert not {"Harrow", "Honda", "Shetland"} & set(fair.characters)
    assert {"Tuck", "Clare Ashworth", "Dora Finch", "Reverend Amos Hale"} <= set(fair.characters)
    assert "Biscuit" not in fair.places
    # a pub's whole name ("outside the Plough and Harrow"), not its first word
    assert {"Oxley Marsh", "the Plough and Harrow"} <= set(fair.places)  # "the", as written
    assert "Plough" not in fair.places
    # props a props master can buy: not the weather, the land or the brass band
    assert {"lanterns", "motorbike", "punt"} <= set(fair.objects)
    assert not {"frost", "green", "marsh", "pond", "band", "drain"} & set(fair.objects)
    # "Thomas Ashworth, whom the whole village called Tuck": one person, cast once
    assert "Thomas Ashworth" not in fair.characters
    assert "Thomas Ashworth" in fair.aliases("Tuck")
    # "Lofty, who was six foot five and whose name was Arthur Small": cast once, as Lofty
    darts = TextFacts((stories / "the-duchess-throws-last.txt").read_text())
    assert "Lofty" in darts.characters and "Arthur Small" not in darts.characters
    assert "Arthur Small" in darts.aliases("Lofty")
    haul = TextFacts((stories / "the-long-haul-to-drummore.txt").read_text())
    assert "Moss" not in haul.places  # "her collie, Moss"
    for story in sorted(stories.glob("*.txt")):
        assert "Land Rover" not in TextFacts(story.read_text()).characters, story.name
    # "The Trust" opening a sentence was a name because "Point of the Strangers" has a "the",
    # and every "the" in the book counted as its mention: the Creag Mhor (a hill) led the cast
    eagles = TextFacts((stories / "the-eagles-of-inchcarra.txt").read_text())
    assert eagles.characters[:2] == ["Mara Quill", "Kit Moody"]
    assert not {"the Creag Mhor", "the Trust"} & set(eagles.characters)
    assert not [n for n in eagles.characters if "'s " in n]


def test_a_person_is_cast_once_under_every_name_and_a_pub_is_no_one() -> None:
    """The Duchess's call sheet had "Mo" and "Maureen Kelly" as two people, "the Feathers"
    (the pub, with a character reference sheet in the visual bible), and no Edith Kelly, so
    "Edith Kelly was eighty-four" never reached Nan's look. A story says whom a name is
    ("Terence Bright had been Tel since he was nine"), "Mo" is a Maureen, and a "the" name
    before a kind of place ("the Feathers public bar") is a place, though "the Feathers called
    him the Professor"."""
    text = (
        "Nobody in the Feathers called Maureen Kelly by her name. \"Evening,\" said Mo.\n\n"
        "Terence Bright had been Tel since he was nine. Tel laughed. \"Never,\" said Tel.\n\n"
        "Edith Kelly was eighty-four and had been Nan to the whole street. Nan sat down. "
        "\"Sit,\" said Nan. Mo sat.\n\n"
        "On Thursday the Feathers public bar was full, and the Feathers needed thirty-two to "
        "win.")
    facts = TextFacts(text)
    assert sorted(facts.characters) == ["Mo", "Nan", "Tel"]
    assert facts.aliases("Mo") == ["Maureen Kelly"]
    assert facts.aliases("Tel") == ["Terence Bright"]
    assert facts.aliases("Nan") == ["Edith Kelly"]
    assert facts.places[0] == "the Feathers"  # "called" is no line of a pub's; its "the" kept


def test_a_title_makes_a_person_of_a_name_the_story_only_shows() -> None:
    """The Orchard's funeral had no vicar and no Mr. Foster on its call sheet: "Reverend Hale
    took the service." names him only at a sentence's start, which alone never made a name,
    and "old Mr. Foster from the farm ..., leaning on two sticks" neither speaks nor acts by
    the stand-in's rules. A title makes the name, and a courtesy title the person."""
    text = ("The church was full. There were the women from the shop, and old Mr. Foster from "
            "the farm that had gone under, leaning on two sticks.\n\n"
            "Reverend Hale took the service. He was very old now. Nell watched the coffin. "
            "\"Walter,\" he said, and Nell said nothing.")
    cast = TextFacts(text).characters
    assert {"Reverend Hale", "Foster"} <= set(cast)


def test_a_pronoun_before_a_name_is_not_that_persons() -> None:
    """Nan was "he", from 'He stood at the oche ..., and Nan turned round in her wheelchair',
    so her own '"When your father was dying," she said' lost its speaker; and a "she said"
    after a paragraph naming two women went to the one whose "she" the story had settled."""
    text = (
        "Dez came in. He sat down by the fire.\n\n"
        "He stood at the oche with the darts, and Nan turned round in her wheelchair. "
        "He threw.\n\n"
        "Nan put the rosary down. \"When your father was dying,\" she said, \"he drove.\"\n\n"
        "Mo sat down, and she frowned. \"Sit,\" Ro said.\n\n"
        "Ro, Mo's daughter, was eating toast at the counter, and Mo was at the sink.\n\n"
        "\"Mum, just let Dez throw,\" she said.")
    facts = TextFacts(text)
    assert facts.speaker_of("When your father was dying,") == "Nan"
    assert facts.speaker_of("Mum, just let Dez throw,") == ""  # Ro or Mo: no guess


class TimedScene(BaseModel):
    summary: str
    int_ext: Literal["INT", "EXT"] | None = None
    day_night: Literal["DAY", "NIGHT", "DAWN", "DUSK"] | None = None
    new_day: bool = False


class TimedScenes(BaseModel):
    scenes: list[TimedScene]


SHIFT = """\
Rosa unlocked the back door and switched on the ovens. The kitchen was warm and smelled of yeast,
and she stood a moment at the table listening to them tick.

* * *

Theo arrived at ten past four, as he did every morning, and hung his coat by the ovens in the
kitchen. "You're early," Rosa said, and he said she told him that every day.

* * *

At four in the morning the bakery was the only lit window on the street, and the moon sat over
the chimneys while the first loaves went in.

* * *

At noon the sun stood over the harbour wall and the street outside was loud with gulls. Theo
carried the crates down the lane to the van.

* * *

The next morning Rosa walked along the beach with the crock under her arm and did not look back
at the shop.

* * *

On Sunday Theo wore his dark suit to the christening, and sang louder than anyone.
"""


def test_a_scene_takes_its_time_and_setting_from_its_opening_else_from_the_scene_before() -> None:
    """The Lantern Fair demo planned "At six the light had gone" as DAY and "A light was coming
    down the drain" (the same night, out on the marsh) as INT. DAY, so the schedule made one
    night three story days with wardrobe changes between them. A scene's own opening sets
    DAY/NIGHT and INT/EXT; one that names neither goes on at the time, and in or out, of the
    scene before it ("every morning" is a habit, not the time, "his dark suit" no night); the
    opening scenes take the first time named; "The next morning" and "On Sunday" are a later
    day."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    facts = TextFacts(SHIFT)
    assert len(facts.scenes) == 6
    assert facts.scene_times == ["NIGHT", "NIGHT", "NIGHT", "DAY", "DAY", "DAY"]
    assert facts.scene_settings == ["INT", "INT", "INT", "EXT", "EXT", "EXT"]
    assert facts.setting(facts.scenes[-1]) == "INT"  # on its own words: none, so INT
    assert [facts.later_day(s) for s in facts.scenes] == [False, False, False, False, True, True]
    _, value = answer([{"role": "user", "content": f"Analyse this story:\n\n{SHIFT}"}],
                      TimedScenes)
    scenes = TimedScenes.model_validate(value).scenes
    assert [(s.int_ext, s.day_night, s.new_day) for s in scenes] == [
        ("INT", "NIGHT", False), ("INT", "NIGHT", False), ("INT", "NIGHT", False),
        ("EXT", "DAY", False), ("EXT", "DAY", True), ("EXT", "DAY", True)]
    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    fair = TextFacts((stories / "the-lantern-fair-at-oxley-marsh.txt").read_text())
    # the afternoon of the fair, then one night to past midnight: "Every October the village
    # held its Lantern Fair on the night of the first frost" is a habit, not scene 1's time
    assert fair.scene_times == ["DAY", "NIGHT", "NIGHT", "NIGHT", "NIGHT"]
    assert set(fair.scene_settings) == {"EXT"}  # "A light was coming down the drain": still out


def test_a_named_animal_is_no_cast_but_a_breakdown_s_animal() -> None:
    """The demo cast Biscuit, Dora's Shetland pony, as a supporting character (#4 on the day
    out of days, "acquaintance of Reverend Amos Hale"); the gold stories' Tess, Moss and
    Blodwen likewise. A first AD books animals with a wrangler: they leave the cast and the
    breakdown lists them with their kind. A heading's capitalised words ("Chapter 7: One Cut")
    name no one."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    found = {story.stem: TextFacts(story.read_text()) for story in stories.glob("*.txt")}
    assert found["the-lantern-fair-at-oxley-marsh"].animals == {"Biscuit": "Shetland pony"}
    assert found["the-long-haul-to-drummore"].animals == {"Moss": "collie"}  # "her collie, Moss"
    assert found["the-orchard-at-kestrel-hill"].animals == {"Tess": "collie"}  # "named Tess"
    assert found["the-night-call-at-pen-y-bryn"].animals == {  # "called"; "whining"
        "Blodwen": "heifer", "Fly": "dog"}
    for facts in found.values():
        assert not set(facts.animals) & set(facts.characters)
    assert found["the-lantern-fair-at-oxley-marsh"].creatures == ["Biscuit (Shetland pony)"]
    assert "Cut" not in found["the-orchard-at-kestrel-hill"].names
    text = "Chapter 1: The Long Walk\n\nAnna took her dog, Rex, to the harbour. Anna smiled."
    assert TextFacts(text).characters == ["Anna"] and TextFacts(text).animals == {"Rex": "dog"}
    # no comma, no "named": "the dog Harry liked" names Harry, not the dog; nor is the end of
    # a person's name, or anyone tagged as speaking a line, an animal
    people = TextFacts('Anna Bell walked. "Come," said Anna Bell. She fed the dog Harry liked. '
                       'Harry Stone laughed. "Fine," said Harry Stone.\n\nAnna Bell, her dog '
                       'at her heels, left. Harry, his old spaniel, sat. "Stay," Harry said.')
    assert people.animals == {} and {"Anna Bell", "Harry Stone"} <= set(people.characters)
    # never introduced as one, but known by what it does: Pen-y-Bryn's Fly ("whining") and the
    # Eagles' Bosun ("beating them with his tail") were on the call sheets
    dogs = TextFacts("Agnes Moody called Bosun, and the dog went down the pier. Kit Moody sat "
                     "with Bosun, who stayed pressed against his legs, beating them with his "
                     "tail. Then Fly stood by the wall, whining. Mali watched Fly lick the "
                     "greyhound's ear. Kit Moody laughed. \"Down,\" said Kit Moody.")
    assert dogs.animals == {"Bosun": "dog", "Fly": "animal"}  # not the greyhound it licked
    assert not {"Bosun", "Fly"} & set(dogs.characters)


def test_a_pronoun_tag_speaks_for_the_one_person_its_paragraph_names() -> None:
    """The demo's scene 3 quoted "Get on." with no speaker: 'Clare pulled up beside him on her
    old Honda. "Get on," she said.' A pronoun tag is the one person the paragraph's narration
    names before the line; two people named, none, or a person the story calls by the other
    pronoun, is no answer."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    fair = TextFacts((stories / "the-lantern-fair-at-oxley-marsh.txt").read_text())
    assert fair.speaker_of("Get on") == "Clare Ashworth"
    assert fair.speaker_of("Is the pony here yet?") == "Reverend Amos Hale"  # one of his names
    assert fair.speaker_of("Forty?") == ""  # '"Forty?" he asked.' alone in its paragraph
    people = ("Tom Reid ran. Tom Reid said he was late. Anna Bell laughed. Anna Bell said she "
              "knew.\n\nTom Reid looked at Anna Bell. \"Go,\" she said.\n\n"
              "Tom Reid waved. \"Later,\" she said.\n\nAnna Bell sat. \"Stay,\" she said.")
    facts = TextFacts(people)
    assert {"Tom Reid", "Anna Bell"} <= set(facts.characters)
    assert [facts.speaker_of(q) for q in ("Go", "Later", "Stay")] == ["", "", "Anna Bell"]


def test_a_scene_is_set_where_its_narration_says_not_where_its_talk_points() -> None:
    """The Lantern Fair demo set chapter 3 (out on the marsh road) at "the river", which only
    Clare's line names ("You'll scare them into the river"), and chapter 4 (a punt coming down
    "the drain") at "the village", because both places were found in the scene's text and
    ranked by the whole story. Narration decides; "Oxley Drain" is also "the drain"; a tie goes
    to the place the story names more; "Kestrel Pippin" is no "the pippin"."""
    from novelcrew.default_plugins.offline.extract import TextFacts
    from novelcrew.default_plugins.offline.fill import Focus, SchemaFiller

    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    fair = TextFacts((stories / "the-lantern-fair-at-oxley-marsh.txt").read_text())
    assert "the river" in fair.places and "Oxley Drain" in fair.places
    where = [SchemaFiller(fair, {}).local_place(Focus(kind="scene", text=scene))
             for scene in fair.scenes]
    assert where[2] != "the river" and where[3] == "Oxley Drain"
    first = 'She walked down to the harbour. "Meet me at the station," she said.'
    talk = TextFacts(f"{first}\n\n* * *\n\nHe waited in the station for an hour.")
    assert talk.places == ["the station", "the harbour"]  # the story names the station more
    assert SchemaFiller(talk, {}).local_place(Focus(kind="scene", text=first)) == "the harbour"


def test_the_location_list_names_the_sets_not_places_passed_in_the_telling() -> None:
    """A location manager reads the analysis' locations as the sets to find. Pen-y-Bryn's
    listed "Llanfair", "the house" (where the dog "did not go"), a stove ("the Rayburn") and a
    car; the Blue Heron's listed Lyon and "the river" of a critic's old reviews. A place is a
    set when a scene is set there or the narration puts someone in it."""
    from novelcrew.default_plugins.offline.extract import TextFacts
    from novelcrew.default_plugins.offline.fill import SchemaFiller
    from novelcrew.default_plugins.offline.openings import entered

    assert entered("In the morning Nell went down to the study before Sam was up.") == {"study"}
    assert entered("On Saturday she sat at the kitchen table with her rosary.") == {"kitchen"}
    assert entered("They drove up the lane between the hedges.") == {"lane"}
    assert entered("She did not go to the house but straight up the hill.") == set()
    assert entered("Ruth looked back at the kitchen window.") == set()
    schema = {"type": "object", "required": ["locations"], "properties": {"locations": {
        "type": "array", "items": {"type": "object", "required": ["name"],
                                   "properties": {"name": {"type": "string"}}}}}}
    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"

    def sets(name: str) -> list[str]:
        facts = TextFacts((stories / f"{name}.txt").read_text())
        return [place["name"] for place in SchemaFiller(facts, schema).fill()["locations"]]

    assert sets("service-at-the-blue-heron") == ["the kitchen", "the back alley", "the walk-in"]
    farm = sets("the-night-call-at-pen-y-bryn")
    assert {"the cowshed", "the lane", "the kitchen"} <= set(farm)  # "came up the lane"
    assert not {"Llanfair", "Rayburn", "Land Rover", "the house"} & set(farm)


async def test_a_users_crewai_listener_sees_each_offline_call(tmp_path: Path) -> None:
    """The stand-in sends crewAI's call events on its public bus, as a provider's LLM does, so
    a plugin's own crewAI listener (tracing, cost dashboards) sees offline calls too."""
    import threading

    from crewai.events import crewai_event_bus
    from crewai.events.types.llm_events import LLMCallCompletedEvent, LLMCallStartedEvent

    seen: list[tuple[str, Any]] = []
    lock = threading.Lock()
    with crewai_event_bus.scoped_handlers():
        @crewai_event_bus.on(LLMCallStartedEvent)
        def started(source: Any, event: LLMCallStartedEvent) -> None:
            with lock:
                seen.append(("started", event))

        @crewai_event_bus.on(LLMCallCompletedEvent)
        def completed(source: Any, event: LLMCallCompletedEvent) -> None:
            with lock:
                seen.append(("completed", event))

        job, _ = await run_job(make_plugins(StoryCrews()), "story", {"story": STORY},
                               settings=make_settings(tmp_path / "data"))
        crewai_event_bus.flush()
    assert job.status == "succeeded", job.error
    starts = [e for kind, e in seen if kind == "started"]
    ends = [e for kind, e in seen if kind == "completed"]
    assert len(starts) == len(ends) == 1
    assert starts[0].call_id == ends[0].call_id
    assert ends[0].model == "offline" and ends[0].agent_role == "Story Structure Analyst"
    assert "Maya Reyes" in str(ends[0].response)


class Overview(BaseModel):
    logline: str
    protagonist: str = ""


CAST_LIST = "\n".join([  # the architect's summary: one line a character
    "CHARACTERS",
    "- Dora Finch (supporting): \"Dora's bringing her from the Lodge at six,\" Clare said. Dora "
    "Finch led her Shetland pony, Biscuit, across the grass with a queue of children behind her.",
    "- Tuck (protagonist), also Thomas Ashworth: Every October Thomas Ashworth, whom the whole "
    "village called Tuck, was in charge of the geese. \"They've never run,\" Tuck said.",
    "- Clare Ashworth (supporting): His sister, Clare Ashworth, leaned on the lych-gate.",
    "SCENES IN ORDER",
    "1. [Oxley Marsh, NIGHT] \"They've never run,\" Tuck said. Dora Finch laughed. Dora Finch "
    "waved.",
])


def test_the_synthesis_names_the_lead_its_cast_list_labels_and_his_line_as_logline() -> None:
    """The demo's synthesis (which reads the chunks' cast list, not the story) named Dora Finch
    the protagonist, demoting Tuck, because her description named her most, and gave a line
    of hers as the logline. The list says who leads; a line of dialogue is no logline."""
    _, value = answer([{"role": "user", "content": f"Synthesise:\n\n{CAST_LIST}"}], Overview)
    overview = Overview.model_validate(value)
    assert overview.protagonist == "Tuck"
    assert overview.logline == ("Every October Thomas Ashworth, whom the whole village called "
                                "Tuck, was in charge of the geese.")
    # in a story (no cast list), the lead is the most named and the logline not a spoken line
    _, value = answer([{"role": "user", "content": f"Analyse this story:\n\n{SHIFT}"}], Overview)
    overview = Overview.model_validate(value)
    assert overview.protagonist == "Rosa" and not overview.logline.startswith('"')


def test_an_everyday_name_and_its_formal_form_are_one_person() -> None:
    """Vell Street's cast had Danny and "Daniel" (his mother's "Friday, Daniel") as two people,
    #3 and #6 on the day out of days. A given name's everyday and formal forms are one person,
    listed under the form the story uses more, with the other as an alias."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    story = ('Danny came at ten with a folder. Danny did not come through the shop.\n\n'
             '"Friday, Daniel," Rosa said. Danny nodded and Rosa went back in.\n\n'
             'Theo watched Danny go, and Rosa said nothing.')
    facts = TextFacts(story)
    assert "Danny" in facts.characters and "Daniel" not in facts.characters
    assert "Daniel" in facts.aliases("Danny")
    two = TextFacts("Sam came in. Sam sat down, and Sam's sister Nell poured the tea.\n\n"
                    "Nell looked at Sam and said nothing. Sam drank.")
    assert {"Sam", "Nell"} <= set(two.characters)  # no formal form named: nothing merged


def test_a_name_the_story_gives_to_a_thing_is_no_cast() -> None:
    """Vell Street's sourdough starter, "Old Nonna" ("The family called it Old Nonna"), was
    cast #5 on the day out of days, with scenes and shots of its own."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    stories = Path(__file__).resolve().parents[3] / "examples" / "stories"
    vell = TextFacts((stories / "the-last-shift-at-vell-street.txt").read_text())
    assert "Old Nonna" not in vell.characters
    assert {"Rosa Amati", "Theo Lind", "Danny"} <= set(vell.characters)


def test_a_place_a_word_or_a_surname_is_no_cast() -> None:
    """The Eagles' cast had Norway, Edinburgh, Mull, Ireland, 'Back' and the Inchcarra Hotel,
    and cut Iain MacRae to 'Iain Mac': a place that 'has asked' from behind a preposition, a
    place only listed, a word that opens a line, a hotel."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    text = ("Mara Quill came off the ferry. A university in Norway has asked her to lecture. "
            "Her supervisor in Edinburgh would say no. \"How was Edinburgh?\" Tom said. "
            "Tom took her bag. \"They wander,\" Tom said. \"Mull, Skye, Ireland even.\"\n\n"
            "\"Back,\" said Tom. She stepped back from the edge and looked back at him.\n\n"
            "The Inchcarra Hotel had eleven bedrooms. Iain MacRae poured the drinks and "
            "Iain MacRae said nothing. Mara Quill said thank you.")
    cast = TextFacts(text).characters
    assert "Iain MacRae" in cast and "Mara Quill" in cast and "Tom" in cast
    assert not {"Norway", "Edinburgh", "Mull", "Skye", "Ireland", "Back", "Inchcarra Hotel",
                "Iain Mac"} & set(cast), cast


def _speakers(text: str) -> dict[str, str]:
    """Each line of ``text`` and whom the stand-in gives it to ("" for no one)."""
    from novelcrew.default_plugins.offline.extract import TextFacts

    facts = TextFacts(text)
    return {q: facts.speaker_of(q) for q in facts.quotes_in(text)}


def test_a_line_is_whoever_its_paragraph_s_beat_or_a_broken_tag_names() -> None:
    """The Orchard gave half its lines no speaker: a beat after the line that opens on one
    person ('"I know." Agnes sat down across from her.'), a tag broken by a manner ('Sam said,
    quietly, "I don't want to sell."'), a tag on "who" ('She rang Agnes, who said, "I'll
    bring the thermos"'), and a tag whose subject the sentence named long before ('Hale ...
    looked down at the coffin and said, in his ordinary voice, "Walter ..."')."""
    text = ("Nell Ashby came home at six. She was tired.\n\n"
            "Agnes Pike was in the kitchen. She was eighty.\n\n"
            '"You came," Agnes said.\n\n'
            '"I did," Nell said.\n\n'
            '"I know. He told me." Agnes sat down across from her. "Did he say?"\n\n'
            "Later Sam Ashby said, quietly, \"I don't want to sell.\"\n\n"
            "Nell rang Agnes, who said, \"I'll bring the thermos,\" and rang off.\n\n"
            "Sam Ashby stood by the stove for a long time with his cap in his hands, and "
            'then said, in his ordinary voice, "Walter would have laughed."')
    said = _speakers(text)
    assert said == {
        "You came,": "Agnes Pike", "I did,": "Nell Ashby",
        "I know. He told me.": "Agnes Pike", "Did he say?": "Agnes Pike",
        "I don't want to sell.": "Sam Ashby", "I'll bring the thermos,": "Agnes Pike",
        "Walter would have laughed.": "Sam Ashby",
    }, said


def test_an_untagged_line_is_the_other_one_s_turn() -> None:
    """Vell Street's opening exchange: the stand-in gave 'You say that every day.' and most
    of a conversation no speaker, since only tagged lines had one (a fifth to two fifths of
    each story's lines). Whose turn a line is follows the exchange; a beat's she/he picks
    between the two; a line after a beat is whoever the beat opens on; a paragraph that
    names someone else breaks the chain rather than guess."""
    text = ("Theo Lind arrived at ten past four. He was nineteen and careful.\n\n"
            "Rosa Amati unlocked the door. She was sixty.\n\n"
            "Theo Lind took his coat off.\n\n"
            '"You\'re early," Rosa said.\n\n'
            '"You say that every day."\n\n'
            '"Every day it\'s true." She handed him an apron.\n\n'
            '"And the starter?"\n\n'
            "Mrs. Halvorsen came in. Rosa looked up from the counter and smiled at her.\n\n"
            '"One rye."\n\n'
            "Mrs. Halvorsen put her bag down. \"Who'll keep it, Rosa?\"\n\n"
            "Rosa looked at Theo, and then at the door.\n\n"
            '"Nobody knows."')
    said = _speakers(text)
    assert said == {
        "You're early,": "Rosa Amati", "You say that every day.": "Theo Lind",
        "Every day it's true.": "Rosa Amati", "And the starter?": "Theo Lind",
        "One rye.": "",  # after narration naming two: nobody's turn for sure
        "Who'll keep it, Rosa?": "Halvorsen",
        "Nobody knows.": "",  # after a beat naming Rosa and Theo
    }, said
