"""The scores on hand-made results: perfect is 1.0, and each damage lowers exactly its score."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_fixtures import clone, director_for, perfect_architect, storyboard_for, vell

from novelcrew_eval import CHECKS, METRICS, overall, score

#: Vell Street has no animals: a recall over nothing is n/a, not 1.0
PERFECT = {key: (0 if key == "leaks" else None if key == "animals_recall" else 1.0)
           for key in METRICS}


def _all(result: dict[str, Any]) -> dict[str, Any]:
    story = score(vell(), result)
    return {**story.scores, **story.checks}


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {key for key in before if before[key] != after[key]}


@pytest.fixture
def perfect() -> dict[str, Any]:
    architect = perfect_architect(vell())
    director = director_for(architect)
    return {"architect": architect, "director": director,
            "storyboard": storyboard_for(architect, director, vell().gold)}


def test_a_perfect_result_scores_one_on_every_metric_and_check(perfect: dict[str, Any]) -> None:
    scores = _all(perfect)
    assert {k: scores[k] for k in METRICS} == PERFECT
    assert {k: scores[k] for k in CHECKS} == {k: 1.0 for k in CHECKS}


def test_dropping_a_character_lowers_only_characters_f1(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    damaged["architect"]["characters"] = [
        c for c in damaged["architect"]["characters"] if c["name"] != "Mrs. Halvorsen"]
    before, after = _all(perfect), _all(damaged)
    assert _changed(before, after) == {"characters_f1"}
    assert after["characters_f1"] == pytest.approx(2 * 1 * 0.75 / 1.75)
    assert score(vell(), damaged).details["characters_missed"] == ["Mrs. Halvorsen"]


def test_a_person_listed_twice_under_an_alias_costs_precision(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    damaged["architect"]["characters"].append({"name": "Nonna Rosa", "aliases": ["Rosa"]})
    story = score(vell(), damaged)
    assert story.scores["characters_f1"] == pytest.approx(2 * 0.8 * 1 / 1.8)
    assert story.details["characters_extra"] == ["Nonna Rosa"]


def test_aliases_and_partial_names_are_the_same_person(perfect: dict[str, Any]) -> None:
    renamed = clone(perfect)
    names = {"Rosa Amati": "Rosa", "Theo Lind": "Lind", "Danny": "Daniel",
             "Mrs. Halvorsen": "Mrs Halvorsen"}
    for character in renamed["architect"]["characters"]:
        character["name"], character["aliases"] = names[character["name"]], []
    assert _all(renamed)["characters_f1"] == 1.0


def test_merging_two_scenes_lowers_only_the_boundaries_and_casts(
        perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    scenes = damaged["architect"]["scenes"]
    first, second = scenes[3], scenes[4]  # noon in the kitchen, then closing day in the shop
    same = {"int_ext": first["int_ext"], "day_night": first["day_night"],
            "story_day": first["story_day"], "location": first["location"]}
    second.update(same)  # same sluglines and day, so only the boundary differs
    perfect["architect"]["scenes"][4].update(same)
    first["text"] += second["text"]
    first["span"]["end"] = second["span"]["end"]
    first["dialogue"] += second["dialogue"]
    first["characters"] = sorted(set(first["characters"]) | set(second["characters"]))
    del scenes[4]
    del damaged["director"]["scenes"][4]
    before, after = _all(perfect), _all(damaged)
    # the merged scene also calls the closing day's people to the kitchen at noon
    assert _changed(before, after) == {"scene_boundary_f1", "scene_cast_f1"}
    assert after["scene_boundary_f1"] == pytest.approx(2 * 1 * (5 / 6) / (1 + 5 / 6))


def test_swapping_a_speaker_lowers_only_the_speaker_scores(
    perfect: dict[str, Any],
) -> None:
    damaged = clone(perfect)
    line = damaged["architect"]["scenes"][0]["dialogue"][0]
    assert line["line"] == "You're early"
    line["speaker"] = "Theo Lind"
    before, after = _all(perfect), _all(damaged)
    assert _changed(before, after) == {"dialogue_speaker_accuracy", "dialogue_speaker_recall"}
    assert after["dialogue_speaker_accuracy"] == pytest.approx(17 / 18)
    assert after["dialogue_speaker_recall"] == pytest.approx(17 / 18)


def test_a_line_left_without_a_speaker_costs_recall_not_accuracy(
    perfect: dict[str, Any],
) -> None:
    """Tagging one line in five, all right, scored a perfect accuracy."""
    damaged = clone(perfect)
    line = damaged["architect"]["scenes"][0]["dialogue"][0]
    assert line["line"] == "You're early"
    line["speaker"] = ""
    before, after = _all(perfect), _all(damaged)
    assert _changed(before, after) == {"dialogue_speaker_recall"}
    assert after["dialogue_speaker_recall"] == pytest.approx(17 / 18)
    assert before["dialogue_speaker_recall"] == after["dialogue_speaker_accuracy"] == 1.0


def test_speakers_given_as_character_ids_resolve(perfect: dict[str, Any]) -> None:
    by_id = clone(perfect)
    ids = {c["name"]: c["id"] for c in by_id["architect"]["characters"]}
    for scene in by_id["architect"]["scenes"]:
        scene["characters"] = [ids[name] for name in scene["characters"]]
        for line in scene["dialogue"]:
            line["speaker"] = ids[line["speaker"]]
    assert _all(by_id) == _all(perfect)


def test_int_ext_and_day_night_errors_count_per_gold_scene(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    damaged["architect"]["scenes"][0]["day_night"] = "DAY"
    damaged["architect"]["scenes"][2]["int_ext"] = "INT"
    del damaged["director"], damaged["storyboard"]  # the headings would agree with the damage
    perfect = {"architect": perfect["architect"]}
    assert _changed(_all(perfect), _all(damaged)) == {"int_ext_accuracy", "day_night_accuracy"}
    assert _all(damaged)["int_ext_accuracy"] == pytest.approx(5 / 6)


def test_items_missed_lower_their_recall(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    damaged["architect"]["vehicles"] = []
    damaged["architect"]["objects"] = [o for o in damaged["architect"]["objects"]
                                       if o["name"] != "the wooden spoon"]
    after = _all(damaged)
    assert _changed(_all(perfect), after) == {"vehicles_recall", "props_recall"}
    assert after["vehicles_recall"] == 0.0
    assert after["props_recall"] == pytest.approx(8 / 9)


def test_locations_match_by_normalised_name(perfect: dict[str, Any]) -> None:
    renamed = clone(perfect)
    renamed["architect"]["locations"] = [
        {"name": "Kitchen"}, {"name": "The Shop"}, {"name": "Back Alley behind the bakery"}]
    assert _all(renamed)["locations_f1"] == 1.0
    renamed["architect"]["locations"].append({"name": "Carver Road supermarket"})
    assert _all(renamed)["locations_f1"] == pytest.approx(2 * 0.75 / 1.75)


def test_a_loose_name_does_not_take_a_set_another_names_exactly(perfect: dict[str, Any]) -> None:
    listed = clone(perfect)
    listed["architect"]["locations"] = [
        {"name": "the kitchen door"}, {"name": "the bakery kitchen"}, {"name": "the shop"},
        {"name": "the back alley"}]
    story = score(vell(), listed)
    assert story.scores["locations_f1"] == pytest.approx(2 * 0.75 / 1.75)
    assert story.details["locations_extra"] == ["the kitchen door"]
    assert "locations_missed" not in story.details or not story.details["locations_missed"]


def test_scaffolding_in_any_field_is_a_leak(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    damaged["architect"]["scenes"][1]["summary"] = "Summary: Rosa opens the shop."
    damaged["architect"]["characters"][2]["description"] = "(none given)"
    damaged["director"]["scenes"][0]["shots"][0]["notes"] = "Relationships: none"
    story = score(vell(), damaged)
    assert story.scores["leaks"] == 3
    assert {leak["field"] for leak in story.details["leaks"]} == {
        "scenes[1].summary", "characters[2].description", "scenes[0].shots[0].notes"}


def test_a_story_quoting_scaffolding_words_is_not_a_leak(perfect: dict[str, Any]) -> None:
    quoting = clone(perfect)
    quoting["architect"]["scenes"][0]["text"] = "Summary: a scene text is the story's own words"
    assert _all(quoting)["leaks"] == 0


def test_checks_catch_invented_quotes_ungrounded_names_and_identical_shots(
    perfect: dict[str, Any],
) -> None:
    damaged = clone(perfect)
    damaged["architect"]["scenes"][0]["dialogue"].append(
        {"speaker": "Rosa Amati", "line": "Nobody ever says this."})
    damaged["architect"]["scenes"][0]["characters"].append("Mrs. Halvorsen")  # not in its text
    same = damaged["director"]["scenes"][0]["shots"]
    for scene in damaged["director"]["scenes"]:
        scene["shots"] = same
    checks = score(vell(), damaged).checks
    assert checks["dialogue_verbatim"] == pytest.approx(18 / 19)
    assert checks["scene_grounding"] is not None and checks["scene_grounding"] < 1.0
    assert checks["shot_variety"] == 0.0


def test_scenes_whose_shots_differ_only_in_size_and_lens_vary(perfect: dict[str, Any]) -> None:
    """The director's shots carry ``size`` and ``lens_mm``; both tell patterns apart."""
    varied = clone(perfect)
    first = varied["director"]["scenes"][0]["shots"]
    for i, scene in enumerate(varied["director"]["scenes"]):
        scene["shots"] = [{**shot, "size": ["WS", "CU"][i % 2], "lens_mm": [24, 85][i % 2]}
                          for shot in first]
    assert _all(varied)["shot_variety"] == 1.0
    for scene in varied["director"]["scenes"]:
        scene["shots"] = [dict(shot) for shot in first]
    assert _all(varied)["shot_variety"] == 0.0


def test_coverage_that_frames_the_wrong_number_lowers_only_coverage_fit(
    perfect: dict[str, Any],
) -> None:
    damaged = clone(perfect)
    scenes = damaged["director"]["scenes"]
    crowded = next(s for s in scenes if len(s["characters"]) >= 2)
    crowded["shots"][1]["subjects"] = list(crowded["characters"])  # a 'single' on everyone
    lonely = next(s for s in scenes if len(s["characters"]) >= 1 and s is not crowded)
    lonely["shots"][1]["coverage"] = "Two Shot"  # a 'two-shot' of one person
    judged = sum(1 for s in scenes for shot in s["shots"] if shot["coverage"] != "master")
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {"coverage_fit"}
    assert story.checks["coverage_fit"] == pytest.approx(1 - 2 / judged)
    assert len(story.details["coverage_misfits"]) == 2


def test_a_shot_framing_someone_not_in_its_scene_lowers_only_subjects_in_scene(
    perfect: dict[str, Any],
) -> None:
    with_ids = clone(perfect)
    ids = {c["name"]: c["id"] for c in with_ids["architect"]["characters"]}
    for scene in with_ids["director"]["scenes"]:  # subjects as character ids resolve
        for shot in scene["shots"]:
            shot["subjects"] = [ids[name] for name in shot["subjects"]]
    assert _all(with_ids)["subjects_in_scene"] == 1.0
    damaged = clone(with_ids)
    scene = damaged["director"]["scenes"][0]
    stranger = next(c for c in damaged["architect"]["characters"]
                    if c["name"] not in scene["characters"])
    scene["shots"][0]["subjects"].append(stranger["id"])
    total = sum(len(shot["subjects"]) for s in damaged["director"]["scenes"]
                for shot in s["shots"])
    story = score(vell(), damaged)
    assert _changed(_all(with_ids), {**story.scores, **story.checks}) == {"subjects_in_scene"}
    assert story.checks["subjects_in_scene"] == pytest.approx(1 - 1 / total)
    assert story.details["subjects_not_in_scene"] == [f"scene 1 shot 1: {stranger['id']}"]


def test_a_character_on_screen_with_only_a_name_lowers_only_looks_described(
    perfect: dict[str, Any],
) -> None:
    damaged = clone(perfect)
    board = damaged["storyboard"]
    on_screen = {cid for scene in board["scenes"] for shot in scene["shots"]
                 for cid in shot["subjects"]}
    bare = next(c for c in board["bible"]["characters"] if c["id"] in on_screen)
    bare.update(hair={"value": ""}, age_range={"value": "", "stated": False, "evidence": ""},
                phrase=bare["name"])
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {"looks_described"}
    assert story.checks["looks_described"] == pytest.approx(1 - 1 / len(on_screen))
    assert story.details["looks_missing"] == [bare["name"]]
    bare["distinguishing_features"] = [{"value": "a burn scar across the left hand"}]
    assert _all(damaged)["looks_described"] == 1.0  # a feature is a look


def _look(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in board["bible"]["characters"] if c["name"] == name)


def test_a_strangers_look_marked_stated_lowers_only_looks_precision(
    perfect: dict[str, Any],
) -> None:
    damaged = clone(perfect)
    rosa = _look(damaged["storyboard"], "Rosa Amati")  # the story never says how she looks
    rosa["build"] = {"value": "long-armed", "stated": True,
                     "evidence": "He was nineteen, long-armed and careful"}  # Theo's
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {"looks_precision"}
    assert story.scores["looks_precision"] == pytest.approx(3 / 4)
    assert story.details["looks_wrong"] == ["Rosa Amati: long-armed"]
    rosa["build"]["stated"] = False  # an inferred look is not held to the story's words
    assert _all(damaged)["looks_precision"] == 1.0


def test_dropping_a_stated_look_lowers_only_looks_recall(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    theo = _look(damaged["storyboard"], "Theo Lind")
    theo["distinguishing_features"] = [
        f for f in theo["distinguishing_features"] if f["value"] != "long-armed"]
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {"looks_recall"}
    assert story.scores["looks_recall"] == pytest.approx(2 / 3)
    assert story.details["gold_looks_missed"] == ["Theo Lind: long-armed"]
    theo["build"] = {"value": "long-armed, rangy", "stated": False}  # inferred still counts
    assert _all(damaged)["looks_recall"] == 1.0


def test_a_look_matches_by_its_content_words_or_its_evidence(perfect: dict[str, Any]) -> None:
    board = clone(perfect)
    danny = _look(board["storyboard"], "Danny")
    danny["name"] = "the son"  # known by the architect's character his id is
    danny["distinguishing_features"] = [
        {"value": "he was forty", "stated": True, "evidence": ""},  # pronoun and "was" aside
        {"value": "about forty years old", "stated": True, "evidence": ""},
        {"value": "late thirties", "stated": True, "evidence": "He was forty and tired"}]
    assert _all(board)["looks_precision"] == 1.0
    danny["distinguishing_features"][2]["evidence"] = ""
    story = score(vell(), board)
    assert story.scores["looks_precision"] == pytest.approx(4 / 5)
    assert story.details["looks_wrong"] == ["the son: late thirties"]


def test_a_hair_or_eyes_colour_is_read_with_its_noun(perfect: dict[str, Any]) -> None:
    loaded = vell()
    theo = loaded.gold.character("Theo Lind")
    grey_eyed = theo.model_copy(update={"looks": ["grey eyes"]})  # type: ignore[union-attr]
    gold = loaded.gold.model_copy(update={"characters": [
        grey_eyed if c is theo else c for c in loaded.gold.characters]})
    board = clone(perfect)
    look = _look(board["storyboard"], "Theo Lind")
    look["distinguishing_features"] = []
    look["eyes"] = {"value": "grey", "stated": True, "evidence": ""}
    look["hair"] = {"value": "grey", "stated": True, "evidence": ""}  # grey hair is not his
    story = score(replace(loaded, gold=gold), board)
    assert story.scores["looks_precision"] == pytest.approx(2 / 3)  # Danny's forty is right
    assert story.details["looks_wrong"] == ["Theo Lind: grey hair"]
    assert story.scores["looks_recall"] == 1.0


def test_a_day_without_an_outfit_lowers_only_outfits_by_day(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect)
    board = damaged["storyboard"]
    pairs = {(cid, shot["story_day"]) for scene in board["scenes"] for shot in scene["shots"]
             for cid in shot["subjects"]}
    days = sorted({day for _, day in pairs})
    assert len(days) >= 2  # Vell Street runs over more than one story day
    cid = next(c for c, d in pairs if d == days[0] and (c, days[1]) in pairs)
    look = next(c for c in board["bible"]["characters"] if c["id"] == cid)
    look["wardrobe"] = {days[1]: "a grey overcoat"}  # dressed on the second day only
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {"outfits_by_day"}
    missing = sum(1 for c, d in pairs if c == cid and d != days[1])
    assert story.checks["outfits_by_day"] == pytest.approx(1 - missing / len(pairs))
    assert f"{look['name']} (day {days[0]})" in story.details["outfits_missing"]


def test_an_id_where_a_name_belongs_lowers_only_names_not_ids(perfect: dict[str, Any]) -> None:
    """A continuity note and a prompt that say "rosa-amati" (a plan once wrote its computed
    notes so) name nobody to a first AD or an image model."""
    damaged = clone(perfect)
    damaged["director"]["scenes"][1]["breakdown"] = {
        "continuity": ["from scene 1: rosa-amati in the same wardrobe and makeup/hair"]}
    damaged["director"]["warnings"] = ["scene 3: Rosa Amati is framed alone"]  # a name: fine
    shot = damaged["storyboard"]["scenes"][0]["shots"][0]
    shot["image_prompt"] = "medium shot of rosa-amati at the ovens"
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {"names_not_ids"}
    texts = 2 + sum(len(s["shots"]) for s in damaged["storyboard"]["scenes"])
    assert story.checks["names_not_ids"] == pytest.approx(1 - 2 / texts)
    assert story.details["ids_read_by_people"] == [
        "scene 2 continuity: rosa-amati", f"{shot['id']} image_prompt: rosa-amati"]


def test_shots_that_cannot_fill_their_pages_lower_only_screen_time_fits_pages(
        perfect: dict[str, Any]) -> None:
    """Novel Movie films each shot for its duration: 10 s of shots for a page leaves fifty
    seconds of the scene unfilmed. Half to twice a minute a page passes."""
    damaged = clone(perfect)
    plan = damaged["director"]["scenes"]
    for scene, (eighths, seconds) in zip(plan, [(8, 5), (8, 30), (8, 120), (4, 61), (2, 10),
                                                (1, 4)], strict=True):
        scene["breakdown"] = {"page_eighths": eighths}
        for shot in scene["shots"]:
            shot["estimated_duration_seconds"] = seconds / len(scene["shots"])
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {
        "screen_time_fits_pages"}
    assert story.checks["screen_time_fits_pages"] == pytest.approx(4 / 6)
    assert story.details["screen_time_off_pages"] == [
        "scene 1: 5 s of shots for 60 s of pages", "scene 4: 61 s of shots for 30 s of pages"]
    for scene in damaged["architect"]["scenes"]:
        scene.pop("text")  # without its text a plan counts pages from its shots: not judged
    assert score(vell(), damaged).checks["screen_time_fits_pages"] is None


def test_a_scene_set_in_the_wrong_place_lowers_only_scene_location_accuracy(
        perfect: dict[str, Any]) -> None:
    """The heading's place is what a first AD groups shooting days by: a scene in the back
    alley headed "the bakery kitchen" is scheduled with the wrong company move."""
    assert _all(perfect)["scene_location_accuracy"] == 1.0
    damaged = clone(perfect)
    scenes = damaged["architect"]["scenes"]
    scenes[2]["location"] = "the shop"  # gold: the back alley
    scenes[3]["location"] = ""  # no place at all is no better
    scenes[4]["location"] = "Halvorsen's shop"  # gold "the shop": word containment
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {
        "scene_location_accuracy"}
    assert story.scores["scene_location_accuracy"] == pytest.approx(1 - 2 / len(scenes))
    assert story.details["scene_locations_wrong"] == [
        "scene 3: the shop (gold: the back alley)", "scene 4: - (gold: the bakery kitchen)"]
    for scene in scenes:
        scene["location"] = ""
    del damaged["director"], damaged["storyboard"]  # their headings would name the places
    assert score(vell(), damaged).scores["scene_location_accuracy"] is None


def test_a_shot_lit_for_the_other_time_lowers_only_light_fits_time(
        perfect: dict[str, Any]) -> None:
    """A night scene under "harsh midday sun", a day shot "in moonlight": a DP has two answers
    and an image model paints one at random. A negated word and day-for-night are no clash."""
    damaged = clone(perfect)
    plan = {s["number"]: s for s in damaged["director"]["scenes"]}
    assert plan[1]["heading"].endswith("NIGHT") and plan[3]["heading"].endswith("DAY")
    plan[1]["shots"][0]["lighting"] = "harsh midday sun through the skylight"
    plan[1]["shots"][1]["lighting"] = "no daylight yet, day-for-night grade"
    plan[3]["shots"][0]["lighting"] = "sunlight on the bins"  # a day shot in the sun: fine
    board = {s["number"]: s for s in damaged["storyboard"]["scenes"]}
    board[4]["shots"][0]["image_prompt"] = "close-up of Rosa Amati, flour in moonlight"
    story = score(vell(), damaged)
    assert _changed(_all(perfect), {**story.scores, **story.checks}) == {"light_fits_time"}
    judged = sum(1 for n in plan if plan[n]["heading"].endswith(("DAY", "NIGHT"))) + 3 + sum(
        len(s["shots"]) for s in board.values() if s["shots"][0]["day_night"] in ("DAY", "NIGHT"))
    assert story.checks["light_fits_time"] == pytest.approx(1 - 2 / judged)
    assert story.details["light_against_time"] == [
        "scene 1 shot 1 lighting (NIGHT): midday",
        f"{board[4]['shots'][0]['id']} prompts (DAY): moonlight"]


def test_without_a_storyboard_its_checks_are_not_applicable(perfect: dict[str, Any]) -> None:
    plain = clone(perfect)
    del plain["storyboard"]
    story = score(vell(), plain)
    assert story.checks["looks_described"] is None and story.checks["outfits_by_day"] is None
    assert story.checks["light_fits_time"] == 1.0  # the plan's lighting is still judged
    assert story.scores["looks_precision"] is None and story.scores["looks_recall"] is None


def test_todays_result_shape_scores_what_it_carries(perfect: dict[str, Any]) -> None:
    """``time_of_day`` and plain-string dialogue, no text, span, int_ext: n/a, not zero."""
    old = clone(perfect["architect"])
    for scene in old["scenes"]:
        scene["time_of_day"] = scene.pop("day_night")
        for key in ("int_ext", "text", "span", "story_day"):
            scene.pop(key)
        scene["dialogue"] = [line["line"] for line in scene["dialogue"]]
    for character in old["characters"]:
        character.pop("id")
    story = score(vell(), old)
    assert story.scores["scene_boundary_f1"] is None
    assert story.scores["int_ext_accuracy"] is None
    assert story.scores["dialogue_speaker_accuracy"] is None
    assert story.scores["day_night_accuracy"] == 1.0  # aligned by order: same count of scenes
    assert story.scores["characters_f1"] == 1.0
    assert story.checks["dialogue_verbatim"] == 1.0
    assert story.checks["scene_grounding"] is None


def test_a_job_record_is_read_like_its_result(perfect: dict[str, Any]) -> None:
    job = {"id": "j1", "crews": ["architect", "director"], "status": "succeeded",
           "result": perfect}
    assert _all(job) == _all(perfect)


def test_overall_is_the_mean_of_what_each_story_has(perfect: dict[str, Any]) -> None:
    good = score(vell(), perfect)
    worse = clone(perfect)
    worse["architect"]["characters"] = worse["architect"]["characters"][:2]
    worse["architect"]["scenes"][0]["summary"] = "Story: leaked"
    bad = score(vell(), worse)
    total = overall([good, bad])
    assert total["characters_f1"] == pytest.approx((1.0 + 2 * 0.5 / 1.5) / 2, abs=1e-4)
    assert total["leaks"] == 1


def test_scene_text_places_a_scene_even_when_spans_count_a_normalised_copy(
    perfect: dict[str, Any],
) -> None:
    shifted = clone(perfect)
    for scene in shifted["architect"]["scenes"]:
        scene["span"] = {"start": scene["span"]["start"] - 25, "end": scene["span"]["end"] - 25}
        scene["text"] = " ".join(scene["text"].split())  # whitespace as a crew may collapse it
    assert _all(shifted) == _all(perfect)


def test_spans_alone_place_scenes(perfect: dict[str, Any]) -> None:
    spans_only = clone(perfect)
    for scene in spans_only["architect"]["scenes"]:
        del scene["text"]
    scores = _all(spans_only)
    assert scores["scene_boundary_f1"] == 1.0
    assert scores["scene_grounding"] is None  # no text to look names up in


def test_an_empty_int_ext_or_day_night_is_wrong_not_missing(perfect: dict[str, Any]) -> None:
    unsure = clone(perfect["architect"])
    for scene in unsure["scenes"]:
        scene["int_ext"] = None
        scene["day_night"] = None
    scores = _all(unsure)
    assert scores["int_ext_accuracy"] == 0.0 and scores["day_night_accuracy"] == 0.0


def test_a_missed_day_break_costs_one_story_day_answer(perfect: dict[str, Any]) -> None:
    damaged = clone(perfect["architect"])
    for scene in damaged["scenes"]:
        scene["story_day"] = 1  # never notices that Friday is a later day
    before, after = _all({"architect": perfect["architect"]}), _all(damaged)
    assert _changed(before, after) == {"story_day_accuracy"}
    assert after["story_day_accuracy"] == pytest.approx(4 / 5)


def test_scene_cast_counts_who_is_called_for_each_scene(perfect: dict[str, Any]) -> None:
    """Someone only talked about in a scene is an actor called for nothing; someone left out
    is a scene shot without them. Both cost the call sheet, and nothing scored them."""
    assert _all(perfect)["scene_cast_f1"] == 1.0
    missing, talked_of = clone(perfect), clone(perfect)
    scene = missing["architect"]["scenes"][0]
    assert scene["characters"] == ["Rosa Amati", "Theo Lind"]
    scene["characters"] = ["Rosa Amati"]
    talked_of["architect"]["scenes"][0]["characters"].append("Danny")
    for damaged in (missing, talked_of):
        story = score(vell(), damaged)
        # 15 people on screen over the six scenes: one left out (14 of 15 found) or one
        # extra (15 of 16 called right) is an F1 of 28/29 or 30/31
        assert story.scores["scene_cast_f1"] == pytest.approx(
            28 / 29 if damaged is missing else 30 / 31)
        assert story.details["scene_casts_wrong"] == [
            "scene 1: -Theo Lind" if damaged is missing else "scene 1: +Danny"]
