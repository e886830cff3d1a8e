"""Splitting stories and merging partial analyses: the pure parts, on awkward inputs."""

from __future__ import annotations

from architect_fixtures import EXAMPLES

from novelcrew_architect.chunking import sections, split_story
from novelcrew_architect.merge import merge_analyses
from novelcrew_architect.models import Character, ChunkAnalysis, ChunkScene
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
