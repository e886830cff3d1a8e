"""The pure parts of grounding scenes in the text: finding words, spans, joins, days, quotes."""

from __future__ import annotations

from novelcrew_architect.models import ChunkScene, DialogueLine, day_night_of, int_ext_of
from novelcrew_architect.scenes import (
    find_words,
    join_continuations,
    place_scenes,
    quoted_lines,
    scene_dialogue,
    story_days,
)

TEXT = ("\u201cYou\u2019re late,\u201d said Ruth.\nBird shrugged and dropped\nthe tailgate.\n\n"
        "Later, in the kitchen, the bacon spat in the pan. \u201cSit,\u201d Ruth said.\n\n"
        "At dawn the lorry left the yard with Moss asleep on the seat.")


def scene(n: int, opening: str = "", closing: str = "", **kw: object) -> ChunkScene:
    return ChunkScene.model_validate({"number": n, "opening": opening, "closing": closing,
                                      "summary": f"scene {n}", **kw})


def test_words_are_found_across_line_breaks_quote_styles_and_a_changed_ending() -> None:
    hit = find_words(TEXT, '"You\'re late," said Ruth. Bird shrugged and dropped the', 0,
                     len(TEXT))
    assert hit is not None and TEXT[hit[0]:hit[1]].startswith("You\u2019re late")
    # the model changed the last words: the first ones still find it
    hit = find_words(TEXT, "Later, in the kitchen, the bacon hissed loudly", 0, len(TEXT))
    assert hit is not None and TEXT[hit[0]:].startswith("Later, in the kitchen")
    assert find_words(TEXT, "nothing of the kind is here", 0, len(TEXT)) is None
    # only inside the range given
    assert find_words(TEXT, "At dawn the lorry left", 0, 50) is None


def test_spans_cover_the_scenes_and_a_lost_opening_gets_the_gap() -> None:
    placed = place_scenes(TEXT, [("c1", (0, len(TEXT)), [
        scene(1, "You're late, said Ruth", "dropped the tailgate."),
        scene(2, "words the model made up entirely", ""),
        scene(3, "At dawn the lorry left the yard", "asleep on the seat."),
    ])])
    first, lost, last = placed
    assert TEXT[first.start:first.end] == ("\u201cYou\u2019re late,\u201d said Ruth.\nBird "
                                           "shrugged and dropped\nthe tailgate.")
    assert first.located and last.located and not lost.located
    assert TEXT[lost.start:lost.end].startswith("Later, in the kitchen")
    assert TEXT[lost.start:lost.end].endswith("Ruth said.")
    assert TEXT[last.start:last.end].startswith("At dawn")
    assert first.end <= lost.start < lost.end <= last.start


def test_a_scene_running_on_into_the_next_chunk_is_joined() -> None:
    cut = TEXT.index("Later")
    chunks = [("c1", (0, cut), [scene(1, "You're late said Ruth", location="Yard",
                                      day_night="NIGHT", characters=["Ruth", "Bird"])]),
              ("c2", (cut, len(TEXT)), [
                  scene(1, "Later, in the kitchen", location="the yard", day_night="night",
                        characters=["Bird"]),
                  scene(2, "At dawn the lorry", location="Yard", day_night="DAWN",
                        characters=["Bird"])])]
    joined = join_continuations(place_scenes(TEXT, chunks), lambda p: p.chunk,
                                lambda name: name.lower().removeprefix("the "))
    assert [TEXT[p.start:p.end][:10] for p in joined] == ["\u201cYou\u2019re la", "At dawn th"]
    assert "kitchen" in TEXT[joined[0].start:joined[0].end]
    # without a known time of day (or with a "later day" mark) they stay apart
    for extra in ({"day_night": None}, {"new_day": True}):
        chunks[1][2][0] = scene(1, "Later, in the kitchen", location="the yard",
                                characters=["Bird"], **{"day_night": "NIGHT", **extra})
        chunks[0][2][0] = scene(1, "You're late said Ruth", location="Yard",
                                characters=["Bird"], day_night=extra.get("day_night", "NIGHT"))
        assert len(join_continuations(place_scenes(TEXT, chunks), lambda p: p.chunk,
                                      lambda name: name.lower().removeprefix("the "))) == 3
    # the model's own mark joins whatever the heuristics say
    chunks[1][2][0] = scene(1, "Later, in the kitchen", continues_previous=True)
    assert len(join_continuations(place_scenes(TEXT, chunks), lambda p: p.chunk,
                                  lambda name: name)) == 2


def test_quotes_of_every_style_and_apostrophes_are_not_quotes() -> None:
    text = ("\u201cCurly,\u201d she said. \"Straight,\" he said. \u00abGuillemets\u00bb. "
            "\u2018Single curly,\u2019 said Ann. Tom\u2019s dog\u2019s bowl was empty.")
    assert [line for _, _, line in quoted_lines(text)] == [
        "Curly,", "Straight,", "Guillemets", "Single curly,"]


def test_dialogue_speakers_from_the_model_then_the_text_then_the_paragraph() -> None:
    text = ("\u201cSit,\u201d Ruth said. \u201cThe bacon\u2019s on.\u201d\n\n"
            "\u201cThanks,\u201d said Bird.\n\n\u201cWho\u2019s that?\u201d")
    reported = [DialogueLine(speaker="Birdie", line="Thanks")]
    names = {"Ruth": "Ruth Hendry", "Birdie": "Bernadette Kelleher"}
    lines = scene_dialogue(text, reported, lambda n: names.get(n, n))
    assert [(d.speaker, d.line) for d in lines] == [
        ("Ruth Hendry", "Sit,"), ("Ruth Hendry", "The bacon\u2019s on."),
        ("Bernadette Kelleher", "Thanks,"), ("", "Who\u2019s that?")]
    # no quote marks at all (dashes): the model's lines, when the text has them word for word
    dashed = "\u2014 Sit down, said Ruth.\n\u2014 I'm fine standing."
    lines = scene_dialogue(dashed, [DialogueLine(speaker="Ruth", line="Sit down"),
                                    DialogueLine(speaker="Ruth", line="Invented line")],
                           lambda n: n)
    assert [(d.speaker, d.line) for d in lines] == [("Ruth", "Sit down")]


def test_story_days_and_the_enums() -> None:
    assert story_days(["NIGHT", "NIGHT", "DAWN", "DAY", None, "DAY"],
                      [False, False, False, False, False, True]) == [1, 1, 2, 2, 2, 3]
    assert story_days(["DAY", "NIGHT"], [True, False]) == [1, 1]  # the first scene is day 1
    assert [day_night_of(v) for v in ("morning", "Evening", "dusk", "LATE NIGHT", "noonish",
                                      None)] == ["DAY", "DUSK", "DUSK", "NIGHT", None, None]
    assert [int_ext_of(v) for v in ("Ext.", "interior", "INT/EXT", "I/E", "outside", "porch")
            ] == ["EXT", "INT", "INT/EXT", "INT/EXT", "EXT", None]
