"""The offline stand-in's coverage as a DP would plan it by default for what a scene has."""

from __future__ import annotations

from novelcrew_director.coverage import default_coverage, moves
from novelcrew_director.vocabulary import Angle, Coverage, Movement, ShotSize


def _plan(setups: list) -> list[tuple[ShotSize, Coverage, list[str]]]:
    return [(s.size, s.coverage, s.subjects) for s in setups]


def test_two_people_talking_are_covered_both_ways() -> None:
    setups = default_coverage(["rosa", "theo"], ["theo", "rosa"], exterior=False,
                              new_place=True, talking=True)
    assert _plan(setups) == [
        (ShotSize.WS, Coverage.MASTER, ["theo", "rosa"]),
        (ShotSize.MS, Coverage.OVER_THE_SHOULDER, ["theo", "rosa"]),
        (ShotSize.MS, Coverage.OVER_THE_SHOULDER, ["rosa", "theo"]),
        (ShotSize.CU, Coverage.SINGLE, ["theo"]),
        (ShotSize.CU, Coverage.SINGLE, ["rosa"]),
    ]
    assert {s.angle for s in setups} == {Angle.EYE_LEVEL}  # no angle without a reason


def test_a_line_without_a_known_speaker_still_makes_a_conversation() -> None:
    """The stand-in tags only lines with a speech verb; the rest are still talk."""
    setups = default_coverage(["rosa", "theo"], [], exterior=False, new_place=True,
                              talking=True)
    assert [s.coverage for s in setups].count(Coverage.OVER_THE_SHOULDER) == 2


def test_a_group_gets_a_two_shot_and_singles_speakers_first() -> None:
    setups = default_coverage(["rosa", "theo", "danny", "mrs-h"], ["danny"],
                              exterior=False, new_place=False, prop="crock")
    assert _plan(setups) == [
        (ShotSize.WS, Coverage.MASTER, ["danny", "rosa", "theo", "mrs-h"]),
        (ShotSize.MWS, Coverage.TWO_SHOT, ["danny", "rosa"]),
        (ShotSize.MCU, Coverage.SINGLE, ["danny"]),
        (ShotSize.MCU, Coverage.SINGLE, ["rosa"]),
        (ShotSize.MCU, Coverage.SINGLE, ["theo"]),
        (ShotSize.INSERT, Coverage.INSERT, []),
    ]
    assert setups[-1].notes == "The crock."


def test_the_first_time_outside_somewhere_opens_wide_from_above() -> None:
    first = default_coverage(["ruth"], [], exterior=True, new_place=True, moving=True)
    again = default_coverage(["ruth"], [], exterior=True, new_place=False, moving=True)
    assert (first[0].size, first[0].angle, first[0].movement) == (
        ShotSize.EWS, Angle.HIGH, Movement.PAN)
    assert (again[0].size, again[0].angle) == (ShotSize.WS, Angle.EYE_LEVEL)
    # alone and on the move: a mid shot that tracks with her, then her close-up
    assert _plan(first[1:]) == [(ShotSize.MS, Coverage.SINGLE, ["ruth"]),
                                (ShotSize.CU, Coverage.SINGLE, ["ruth"])]
    assert first[1].movement is Movement.TRACK


def test_a_tense_scene_pushes_in_on_its_last_close_up_only() -> None:
    setups = default_coverage(["a", "b"], ["a", "b"], exterior=False, new_place=True,
                              mood="tense", prop="knife")
    moving = [(s.coverage, s.subjects) for s in setups if s.movement is Movement.PUSH_IN]
    assert moving == [(Coverage.SINGLE, ["b"])]
    assert len(setups) == 6


def test_an_empty_place_is_its_master_and_its_prop() -> None:
    setups = default_coverage([], [], exterior=True, new_place=True, prop="lantern")
    assert _plan(setups) == [(ShotSize.EWS, Coverage.MASTER, []),
                             (ShotSize.INSERT, Coverage.INSERT, [])]


def test_someone_arriving_moves_the_camera() -> None:
    assert moves("Danny came at ten, in a good coat.")
    assert not moves("At noon the shelves were half empty.")
