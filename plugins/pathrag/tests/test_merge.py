"""Merging a second write into the first: what writers that re-insert rely on."""

from __future__ import annotations

from novelcrew_pathrag.merge import merge_description, merge_keywords, stronger_type


def test_prose_keeps_each_sentence_once() -> None:
    first = "A fisherman. Loyal to Maya."
    assert merge_description(first, "Loyal to Maya.  A fisherman") == first
    assert merge_description(first, "He fears the sea. Loyal to maya.") == (
        "A fisherman. Loyal to Maya. He fears the sea."
    )
    assert merge_description("", "New.") == "New."
    assert merge_description("Old.", "") == "Old."


def test_scene_fields_keep_one_line_per_key() -> None:
    scene = "Scene 3: Iris paints.\nLocation: Studio\nCharacters: Iris\nDialogue: \"Hi.\""
    merged = merge_description(
        scene, "Scene 3: Iris paints.\nLocation: Attic studio\nCharacters: Iris, Elias\n"
        "Dialogue: \"Hi.\" | \"Bye.\"\nShots: 4"
    )
    assert merged.splitlines() == [
        "Scene 3: Iris paints.",
        "Location: Attic studio",
        "Characters: Iris, Elias",
        "Dialogue: \"Hi.\" | \"Bye.\"",
        "Shots: 4",
    ]
    assert merge_description(merged, merged) == merged


def test_types_and_keywords() -> None:
    assert stronger_type("unknown", "character") == "character"
    assert stronger_type("character", "unknown") == "character"
    assert stronger_type("vehicle", "object") == "object"  # story types beat custom ones
    assert stronger_type("character", "location") == "character"  # tie: first write stays
    assert merge_keywords("appears_in", "Appears_In, features") == "appears_in, features"
