"""Splitting stories and merging partial analyses: the pure parts, on awkward inputs."""

from __future__ import annotations

import re
from collections import Counter

from architect_fixtures import EXAMPLES

from novelcrew_architect.chunking import sections, split_story
from novelcrew_architect.merge import merge_analyses, merge_text, one_protagonist
from novelcrew_architect.models import Character, ChunkAnalysis, ChunkScene, Location
from novelcrew_architect.tokens import estimate_tokens


def test_headings_of_every_common_kind_start_sections() -> None:
    text = "\n\n".join([
        "A Title", "Prologue", "Before it all.", "CHAPTER ONE", "The Letter", "Text one.",
        "Chapter 2: The Road", "Text two.", "# Part Three", "Text three.", "IV", "Text four.",
        "V. The Storm", "Text five.", "Chapter Twenty-One", "Text six.",
        "Part of me knew it would end here, she thought.",
    ])
    heads = [s.heading for s in sections(text)]
    assert heads == ["", "Prologue", "CHAPTER ONE", "Chapter 2: The Road", "Part Three", "IV",
                     "V. The Storm", "Chapter Twenty-One"]


def test_a_numeral_inside_prose_is_not_a_heading() -> None:
    text = "He counted aloud.\nI\nII\nthen stopped.\n\nChapter 1\n\nIt began."
    assert [s.heading for s in sections(text)] == ["", "Chapter 1"]


def test_chapters_stay_whole_and_long_ones_split_at_paragraphs() -> None:
    story = (EXAMPLES / "the-orchard-at-kestrel-hill.txt").read_text("utf-8")
    chunks = split_story(story, max_tokens=2000, overlap_tokens=150)
    assert len(chunks) >= 5
    for chunk in chunks:
        assert chunk.tokens <= 2000
        assert estimate_tokens(chunk.context) <= 150
    # every chunk starts at a chapter heading or a paragraph start
    for chunk in chunks:
        assert chunk.text.startswith("Chapter") or chunk.text[0].isupper() or \
            chunk.text[0] == '"', chunk.text[:40]
    # the story's text is in the chunks exactly once (context aside)
    joined = " ".join(" ".join(c.text.split()) for c in chunks)
    assert " ".join(joined.split()) == " ".join(story.split())
    assert chunks[0].context == "" and all(c.context for c in chunks[1:])
    assert chunks[1].context in story
    assert [c.id for c in chunks][:2] == ["chunk-001", "chunk-002"]
    assert all(c.heading.startswith("Chapter") for c in chunks[1:])


def test_text_without_paragraphs_or_sentences_still_fits() -> None:
    blob = "word " * 20_000 + "x" * 5_000
    chunks = split_story(blob, max_tokens=500, overlap_tokens=50)
    assert all(c.tokens <= 500 for c in chunks)
    assert sum(len(c.text.replace(" ", "")) for c in chunks) == len(blob.replace(" ", ""))


def _part(*characters: Character, scenes: list[ChunkScene] | None = None) -> ChunkAnalysis:
    return ChunkAnalysis(characters=list(characters), scenes=scenes or [])


def test_names_merge_across_titles_first_names_surnames_and_middle_names() -> None:
    parts = [
        ("c1", _part(Character(name="Dr. Maya Okafor", role="protagonist"),
                     Character(name="Tom Reyes"), Character(name="Tom Baker"))),
        ("c2", _part(Character(name="Maya", arc="Learns to trust."),
                     Character(name="Okafor"), Character(name="Reyes"))),
        ("c3", _part(Character(name="Maya Adaeze Okafor", role="minor"),
                     Character(name="Tom", description="Someone called Tom."))),
    ]
    merged = merge_analyses(parts)
    names = [c.name for c in merged.characters]
    # "Tom" could be either Tom: it stays apart rather than be guessed
    assert names == ["Maya Adaeze Okafor", "Tom Reyes", "Tom Baker", "Tom"]
    maya = merged.characters[0]
    assert set(maya.aliases) == {"Dr. Maya Okafor", "Maya", "Okafor"}
    assert maya.role == "protagonist" and maya.arc == "Learns to trust."
    assert merged.first_chunk["Maya Adaeze Okafor"] == "c1"


def test_scenes_renumber_in_story_order_and_overlap_repeats_drop() -> None:
    s = ChunkScene
    parts = [
        ("c1", _part(scenes=[s(number=2, summary="B happens."), s(number=1, summary="A.")])),
        ("c2", _part(scenes=[s(number=1, summary="b happens"), s(number=2, summary="C.",
                                                                 characters=["Nobody Known"],
                                                                 location="The Pier")])),
    ]
    merged = merge_analyses(parts)
    assert [(x.number, x.summary) for x in merged.scenes] == [
        (1, "A."), (2, "B happens."), (3, "C.")]
    assert merged.scene_chunks == {1: "c1", 2: "c1", 3: "c2"}
    # names a scene uses but no list declared still become entries
    assert [c.name for c in merged.characters] == ["Nobody Known"]
    assert [loc.name for loc in merged.locations] == ["The Pier"]


def test_a_gendered_title_keeps_a_surname_from_merging_into_the_wrong_person() -> None:
    parts = [
        ("c1", _part(Character(name="Nell Ashby"), Character(name="Dr. Okafor"),
                     Character(name="Maya Okafor"), Character(name="Mr. Pike"))),
        ("c2", _part(Character(name="Mr. Ashby", description="Her late father."),
                     Character(name="Mrs. Pike"),
                     Character(name="Agnes Pike", aliases=["Mrs. Pike"]))),
    ]
    merged = merge_analyses(parts)
    # Dr. says no gender: Dr. Okafor is Maya Okafor. Mr. Ashby is not Nell Ashby, and
    # Mr. Pike is not Mrs. Pike, who is Agnes Pike
    assert [c.name for c in merged.characters] == [
        "Nell Ashby", "Maya Okafor", "Mr. Pike", "Mr. Ashby", "Agnes Pike"]
    assert merged.characters[1].aliases == ["Dr. Okafor"]
    assert merged.characters[4].aliases == ["Mrs. Pike"]


def test_long_texts_are_summarised_keeping_beginning_middle_and_end() -> None:
    parts = [f"In part {n} she changes. More detail about part {n}." for n in range(1, 21)]
    merged = merge_text(parts)
    kept = [int(n) for n in re.findall(r"part (\d+) she", merged)]
    assert kept[0] == 1 and kept[-1] == 20 and len(kept) == 6
    assert "More detail" not in merged  # sampled texts keep their first sentence
    assert merge_text(parts[:3]).count("More detail") == 3  # a few are kept whole
    # a text that ends in a closing quote has its full stop: none is added after it
    assert merge_text(["From \u201cHe left.\u201d to \u201cShe came back.\u201d",
                       "Quiet (at first)", "Loud"]) == (
        "From \u201cHe left.\u201d to \u201cShe came back.\u201d Quiet (at first). Loud.")
    # one chunk's text reads as written: the demo's atmospheres were "quiet." and "hopeful."
    assert merge_text(["quiet, expectant", "quiet, expectant"]) == "quiet, expectant"


def test_one_protagonist_unless_an_ensemble() -> None:
    def cast() -> list[Character]:
        return [Character(name="Ann", role="protagonist"),
                Character(name="Bea", role="protagonist"), Character(name="Cy", role="minor")]

    counts = Counter({"Ann": 2, "Bea": 5})
    chars = cast()
    one_protagonist(chars, counts)  # no answer from the overview: the one in most scenes
    assert [c.role for c in chars] == ["deuteragonist", "protagonist", "minor"]
    chars = cast()
    one_protagonist(chars, counts, named="Ann")
    assert [c.role for c in chars] == ["protagonist", "deuteragonist", "minor"]
    chars = cast()
    one_protagonist(chars, counts, named="", ensemble=True)
    assert [c.role for c in chars] == ["protagonist", "protagonist", "minor"]


def test_places_merge_by_alias_and_by_same_as_answers() -> None:
    parts = [
        ("c1", ChunkAnalysis(locations=[Location(name="Harbour Café", aliases=["the café"]),
                                        Location(name="The Quay")])),
        ("c2", ChunkAnalysis(locations=[Location(name="the Cafe"),
                                        Location(name="Fish Quay", description="Wet stone.")],
                             characters=[Character(name="Mags")])),
        ("c3", ChunkAnalysis(characters=[Character(name="Margaret Hale")])),
    ]
    merged = merge_analyses(parts)
    assert [loc.name for loc in merged.locations] == ["Harbour Café", "The Quay", "Fish Quay"]
    merged = merge_analyses(parts, same_as=[("The Quay", "Fish Quay"),
                                            ("Mags", "Margaret Hale")])
    assert [loc.name for loc in merged.locations] == ["Harbour Café", "The Quay"]
    assert merged.locations[1].description == "Wet stone."
    assert [c.name for c in merged.characters] == ["Margaret Hale"]
    assert merged.characters[0].aliases == ["Mags"]
