"""Scenes grounded in the text, on the example story with a lorry, a collie, a loose horse, a
night on a mountain road and a driver everyone calls Bird: spans and text, a scene that runs on
over a chapter break (and a chunk boundary), INT/EXT, DAY/NIGHT, story days, every line of
dialogue with its speaker, a nickname and a place named two ways merged, one protagonist.

The analyst's replies are what a careful model answers for each chapter, in the new schema.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from architect_fixtures import ANALYST, ARCHITECT, EXAMPLES, RecordingGraph, story_text_of

from novelcrew_architect.chunking import normalise
from novelcrew_architect.models import StoryAnalysis
from novelcrew_sdk import make_plugins, make_settings, run_job
from novelcrew_sdk.scripted import ScriptedLLM

STORY = (EXAMPLES / "the-long-haul-to-drummore.txt").read_text("utf-8")

BIRD = {"name": "Bernadette Kelleher", "aliases": ["Bird"], "role": "protagonist",
        "description": "A lorry driver of nineteen years on the Drummore run."}

REPLIES: dict[str, dict[str, Any]] = {
    "Chapter One": {
        "characters": [{**BIRD, "arc": "Sets out at night, stubborn about the deadline."},
                       {"name": "Femi Adeyemi", "role": "minor"},
                       {"name": "Moss", "role": "minor", "description": "Bird's collie."}],
        "locations": [{"name": "Carrick Yard"}, {"name": "Lorry Cab"},
                      {"name": "Mountain Road", "aliases": ["the old mountain road"]}],
        "scenes": [
            {"number": 1, "opening": "Bernadette Kelleher had driven the Drummore run",
             "closing": "Moss lifted his head at every roundabout and lowered it again when "
             "the cab settled.", "summary": "Bird leaves the yard at night with the feed.",
             "location": "Lorry Cab", "int_ext": "INT", "day_night": "NIGHT",
             "characters": ["Bird", "Moss", "Femi Adeyemi"],
             "dialogue": [{"speaker": "Femi Adeyemi", "line": "Weather's closing in on the "
                           "pass,"}, {"speaker": "Bird", "line": "The feed's wanted at six,"}]},
            {"number": 2, "opening": "The motorway gave out at Ballyconnel",
             "closing": "in the beam of the lorry's lights.",
             "summary": "A grey horse blocks the mountain road; Bird stops and climbs down.",
             "location": "the old mountain road", "int_ext": "EXT", "day_night": "NIGHT",
             "characters": ["Bird", "Moss"]},
        ],
        "themes": ["duty"],
    },
    "Chapter Two": {
        "characters": [{"name": "Bird", "role": "protagonist",
                        "arc": "Finds help in a stranger."},
                       {"name": "Owen Prys", "role": "protagonist",
                        "description": "A young farmer."}],
        "locations": [{"name": "Mountain Road"}],
        "scenes": [
            {"number": 1, "opening": "Out on the road the rain came sideways",
             "closing": "as if he had decided the night was over.", "continues_previous": True,
             "summary": "Owen arrives for his horse and warns of a tree down.",
             "location": "Mountain Road", "int_ext": "EXT", "day_night": "NIGHT",
             "characters": ["Bird", "Owen Prys", "Moss"],
             "dialogue": [{"speaker": "Owen Prys", "line": "You've found her,"}]},
        ],
        "themes": ["kindness of strangers"],
    },
    "Chapter Three": {
        "characters": [{"name": "Bird", "arc": "Accepts the farm's help."},
                       {"name": "Nain", "role": "supporting",
                        "description": "Owen's grandmother."},
                       {"name": "Owen", "role": "supporting"}],
        "locations": [{"name": "Prys Farmhouse Kitchen", "aliases": ["the farmhouse kitchen"]},
                      {"name": "Prys Farm Yard"}],
        "scenes": [
            {"number": 1, "opening": "The Prys farmhouse kitchen smelled of wet dogs",
             "closing": "Owen was already reaching for his keys.",
             "summary": "Nain decides the tractor will clear the tree.",
             "location": "the farmhouse kitchen", "int_ext": "INT", "day_night": "NIGHT",
             "characters": ["Bird", "Nain", "Owen", "Moss"],
             "dialogue": [{"speaker": "Nain", "line": "Forty tonnes of feed,"},
                          {"speaker": "Bird", "line": "That's right."},
                          {"speaker": "Nain", "line": "Their tankers can't get out either, "
                           "then. The milk'll spoil by noon."},
                          {"speaker": "Nain", "line": "The tractor can pull that tree."}]},
            {"number": 2, "opening": "Bird radioed the depot from the yard.",
             "closing": "Tell Hendry's I'll be late, not lost.",
             "summary": "Bird tells the depot she will be late.", "location": "Prys Farm Yard",
             "int_ext": "EXT", "day_night": "NIGHT", "characters": ["Bird", "Femi"]},
        ],
        "themes": ["community"],
    },
    "Chapter Four": {
        "characters": [{"name": "Bird", "arc": "Delivers at dawn, late but not lost."},
                       {"name": "Ruth Hendry", "role": "minor"}],
        "locations": [{"name": "The Pass Road"}, {"name": "Hendry Dairy"}],
        "scenes": [
            {"number": 1, "opening": "At half past two the tractor's lamps lit",
             "closing": "the colour of slate.", "summary": "They clear the tree; Bird drives "
             "over the pass.", "location": "The Pass Road", "int_ext": "EXT",
             "day_night": "NIGHT", "characters": ["Bird", "Owen", "Moss"]},
            {"number": 2, "opening": "At the Hendry dairy the milking had already begun.",
             "closing": "with his head on Bird's foot.", "summary": "Bird delivers at dawn.",
             "location": "Hendry Dairy", "int_ext": "EXT", "day_night": "DAWN",
             "characters": ["Bird", "Ruth Hendry", "Moss"]},
        ],
        "themes": ["duty"],
    },
}

SYNTHESIS = {"title": "The Long Haul to Drummore", "logline": "A lorry driver crosses a "
             "mountain pass in a storm.", "genre": "drama", "tone": "warm, wet",
             "themes": ["duty", "kindness of strangers"], "protagonist": "Bird",
             "ensemble": False,
             "same_as": [{"name": "Mountain Road", "same_as": "The Pass Road"},
                         {"name": "Femi", "same_as": "Femi Adeyemi"}]}


def analyst(prompt: str) -> str:
    text = story_text_of(prompt)
    merged: dict[str, list[Any]] = {k: [] for k in ("characters", "locations", "objects",
                                                     "scenes", "themes")}
    for heading, reply in REPLIES.items():
        if f"\n{heading}\n" in f"\n{text}\n":
            offset = len(merged["scenes"])
            for key in merged:
                items = reply.get(key, [])
                if key == "scenes":
                    items = [{**s, "number": s["number"] + offset} for s in items]
                merged[key].extend(items)
    return json.dumps(merged)


async def analyse(tmp_path: Any, graph: RecordingGraph) -> StoryAnalysis:
    llm = ScriptedLLM(replies={ANALYST: analyst, ARCHITECT: json.dumps(SYNTHESIS)})
    plugins = make_plugins(graph.plugin(), entry_points=["architect"], llm=llm)
    job, _ = await run_job(plugins, "architect", {"story_text": STORY},
                           settings=make_settings(tmp_path / "data", default_model="scripted"),
                           project_id="drummore", config={"chunk_tokens": 500})
    assert job.status == "succeeded", job.error
    analysis = StoryAnalysis.model_validate(job.result["architect"])
    assert analysis.statistics.chunks == 4  # one chapter a chunk
    return analysis


async def test_scenes_carry_their_exact_text_and_span(tmp_path: Any,
                                                      graph: RecordingGraph) -> None:
    analysis = await analyse(tmp_path, graph)
    story = normalise(STORY)
    assert len(analysis.scenes) == 6
    for scene in analysis.scenes:
        assert scene.located and scene.text == story[scene.span.start:scene.span.end]
    spans = [(s.span.start, s.span.end) for s in analysis.scenes]
    assert spans == sorted(spans) and all(a[1] <= b[0] for a, b in pairwise(spans))
    assert analysis.scenes[-1].text.endswith("with his head on Bird's foot.")


async def test_a_scene_over_a_chapter_break_and_a_chunk_boundary_is_one(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    analysis = await analyse(tmp_path, graph)
    road = analysis.scenes[1]
    assert road.text.startswith("The motorway gave out at Ballyconnel")
    assert "Chapter Two" in road.text
    assert road.text.endswith("as if he had decided the night was over.")
    assert road.characters == ["Bernadette Kelleher", "Moss", "Owen Prys"]
    assert [d.speaker for d in road.dialogue][:2] == ["Bernadette Kelleher"] * 2
    # in the graph it is one scene whose chunk is the whole text
    chunks = {c["source_id"]: c["content"] for c in graph.merged()["chunks"]}
    assert chunks["scene-s002"] == road.text


async def test_int_ext_day_night_and_story_days(tmp_path: Any, graph: RecordingGraph) -> None:
    analysis = await analyse(tmp_path, graph)
    assert [s.int_ext for s in analysis.scenes] == ["INT", "EXT", "INT", "EXT", "EXT", "EXT"]
    assert [s.day_night for s in analysis.scenes] == ["NIGHT"] * 5 + ["DAWN"]
    assert [s.story_day for s in analysis.scenes] == [1, 1, 1, 1, 1, 2]


async def test_every_line_of_dialogue_verbatim_with_its_speaker(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    analysis = await analyse(tmp_path, graph)
    cab = analysis.scenes[0]
    assert [(d.speaker, d.line) for d in cab.dialogue] == [
        ("Femi Adeyemi", "Weather's closing in on the pass,"),
        ("Femi Adeyemi", "You could wait till morning."),
        ("Bernadette Kelleher", "The feed's wanted at six,"),
        ("Bernadette Kelleher", "Cows don't wait for weather."),
    ]
    for scene in analysis.scenes:
        for line in scene.dialogue:
            assert line.line in " ".join(scene.text.split())
    # lines the model left out are still there, from the text; a quote that goes on in the
    # same paragraph keeps its speaker
    kitchen = analysis.scenes[2]
    assert [(d.speaker, d.line) for d in kitchen.dialogue] == [
        ("Nain", "Forty tonnes of feed,"), ("Nain", "For Drummore. For the Hendry dairy."),
        ("Bernadette Kelleher", "That's right."),
        ("Nain", "Their tankers can't get out either, then. The milk'll spoil by noon."),
        ("Nain", "The tractor can pull that tree.")]


async def test_nickname_aliases_same_as_answers_and_one_protagonist(
    tmp_path: Any, graph: RecordingGraph
) -> None:
    analysis = await analyse(tmp_path, graph)
    people = {c.name: c for c in analysis.characters}
    bird = people["Bernadette Kelleher"]
    assert "Bird" in bird.aliases and not any(n == "Bird" for n in people)
    assert bird.id == "bernadette-kelleher"
    assert bird.role == "protagonist"
    assert [c.name for c in analysis.characters if c.role == "protagonist"] == [
        "Bernadette Kelleher"]
    assert people["Owen Prys"].role == "deuteragonist"
    assert "Owen" in people["Owen Prys"].aliases
    # "Femi" in one chapter is Femi Adeyemi (the synthesis said so)
    assert "Femi" not in people and "Femi" in people["Femi Adeyemi"].aliases
    # the arc keeps its beginning and its end
    assert bird.arc.startswith("Sets out at night") and bird.arc.endswith("not lost.")
    places = {loc.name: loc for loc in analysis.locations}
    # merged by alias ("the old mountain road") and by the synthesis' "same as"
    assert "Mountain Road" in places and "The Pass Road" not in places
    assert {"the old mountain road", "The Pass Road"} <= set(places["Mountain Road"].aliases)
    assert analysis.scenes[4].location == "Mountain Road"
    assert analysis.scenes[4].location_id == places["Mountain Road"].id == "mountain-road"
    assert analysis.scenes[2].location == "Prys Farmhouse Kitchen"
