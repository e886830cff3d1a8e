"""Production exports from a job record: a Fountain file a screenplay parser reads back, CSV
sheets with the columns scheduling programs import, a self-contained HTML report."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from typing import Any

import pytest
from export_fixtures import job
from screenplain.parsers import fountain as fountain_parser
from screenplain.types import Action, Dialog, Slug

from novelcrew import Export, ExportUnavailable
from novelcrew_exports import FORMATS
from novelcrew_exports.sheets import BREAKDOWN_COLUMNS, SHOT_COLUMNS, STRIP_COLUMNS, eighths


def export(job: dict[str, Any], name: str) -> tuple[Export, bytes]:
    """The format ``name`` and the file it makes of ``job``, as the API serves it."""
    fmt = FORMATS[name]
    return fmt, fmt.file(job)


def test_fountain_reads_back_as_a_screenplay_with_every_scene_and_speaker() -> None:
    _, body = export(job(), "fountain")
    play = fountain_parser.parse(io.StringIO(body.decode()))
    assert play.title_page["Title"] == ["The Last Shift"]
    slugs = [str(p.line) for p in play.paragraphs if isinstance(p, Slug)]
    assert slugs == ["INT. THE KITCHEN - NIGHT", "EXT. THE ALLEY - DAY"]
    dialog = [(str(p.character), " ".join(str(line) for line in p.blocks[0][1:] or [])
               if False else str(p.blocks[-1][1])) for p in play.paragraphs
              if isinstance(p, Dialog)]
    assert [speaker for speaker, _ in dialog] == ["ROSA AMATI", "THEO LIND", "DANNY"]
    assert "Is that the crock?" in dialog[2][1]
    action = " ".join(str(line) for p in play.paragraphs if isinstance(p, Action)
                      for line in p.lines)
    assert "switched on the ovens" in action and "Nobody answered him." in action
    assert "said" not in action.split("ovens.")[1].split("Theo shrugged")[0]  # tag dropped


def test_fountain_writes_lines_as_a_script_does() -> None:
    """A line that ran into its tag ends in a full stop, not the prose's comma; a speaker's
    lines with nothing between them are one speech, not a cue repeated."""
    record = job()
    scene = record["result"]["architect"]["scenes"][0]
    scene["text"] = ('"You know they\'re going to run," Clare said.\n\n'
                     '"They\'ve never run," Tuck said. "Not once in eleven years."\n\n'
                     'He turned away. "Forty," he said.')
    scene["dialogue"] = [{"speaker": "Clare", "line": "You know they're going to run,"},
                         {"speaker": "Tuck", "line": "They've never run,"},
                         {"speaker": "Tuck", "line": "Not once in eleven years."},
                         {"speaker": "Tuck", "line": "Forty,"}]
    play = fountain_parser.parse(io.StringIO(export(record, "fountain")[1].decode()))
    first = play.paragraphs[:play.paragraphs.index(next(
        p for p in play.paragraphs[1:] if isinstance(p, Slug)))]
    said = [(str(p.character), " ".join(str(b[1]) for b in p.blocks)) for p in first
            if isinstance(p, Dialog)]
    assert said == [("CLARE", "You know they're going to run."),
                    ("TUCK", "They've never run. Not once in eleven years."),
                    ("TUCK", "Forty.")]  # action between: a new speech


def test_fountain_forces_action_that_would_read_as_a_heading_or_cue() -> None:
    record = job()
    record["result"]["architect"]["scenes"][1]["text"] = "EXT. THE PIER was closed.\n\nSTOP"
    record["result"]["architect"]["scenes"][1]["dialogue"] = []
    _, body = export(record, "fountain")
    play = fountain_parser.parse(io.StringIO(body.decode()))
    assert [str(p.line) for p in play.paragraphs if isinstance(p, Slug)] == [
        "INT. THE KITCHEN - NIGHT", "EXT. THE ALLEY - DAY"]


def test_offline_results_say_so_in_every_human_format() -> None:
    record = job(models_used=["offline"])
    assert b"offline stand-in" in export(record, "fountain")[1]
    assert b"Offline stand-in" in export(record, "report.html")[1]


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_shot_list_has_one_row_per_shot_with_the_dp_columns() -> None:
    fmt, body = export(job(), "shots.csv")
    assert fmt.media_type.startswith("text/csv")
    rows = _rows(body)
    assert list(rows[0]) == SHOT_COLUMNS
    assert [(r["scene"], r["shot"], r["size"], r["lens_mm"]) for r in rows] == [
        ("1", "1", "WS", "24"), ("1", "2", "CU", "85"), ("2", "1", "EWS", "18")]
    assert rows[0]["subjects"] == "Rosa Amati" and rows[0]["coverage"] == "master"


def test_breakdown_sheet_has_every_category_and_page_eighths() -> None:
    rows = _rows(export(job(), "breakdown.csv")[1])
    assert list(rows[0]) == BREAKDOWN_COLUMNS
    first, second = rows
    assert first["pages"] == "1 3/8" and second["pages"] == "3/8"
    # people by name, as a first AD reads the sheet
    assert first["cast"] == "Rosa Amati; Theo Lind" and first["props"] == "crock; key"
    assert first["wardrobe"] == "Rosa Amati: apron"
    assert first["continuity"] == "flour on Rosa's sleeve"
    assert (second["int_ext"], second["day_night"], second["vehicles"], second["animals"]) == (
        "EXT", "DAY", "bicycle", "a cat")


def test_stripboard_follows_the_schedule_not_story_order() -> None:
    rows = _rows(export(job(), "stripboard.csv")[1])
    assert list(rows[0]) == STRIP_COLUMNS
    assert [(r["day"], r["scene"], r["heading"]) for r in rows] == [
        ("1", "2", "EXT. THE ALLEY - DAY"), ("2", "1", "INT. THE KITCHEN - NIGHT")]
    # by name: from the analysis's cast, or the scene that names someone who is not in it
    assert [r["cast"] for r in rows] == ["Danny", "Rosa Amati; Theo Lind"]


def test_the_report_is_self_contained_and_escapes_story_text() -> None:
    html = export(job(), "report.html")[1].decode()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "&lt;b&gt;70&lt;/b&gt;" in html  # a story's markup is text
    for needle in ("The Last Shift", "INT. THE KITCHEN - NIGHT", "Stripboard"):
        assert needle in html


def test_the_report_names_people_and_closes_each_shooting_day() -> None:
    """A printed report is read by the crew: people by name (numbered as the day out of days
    numbers them), whose wardrobe it is, and each day's pages, hours and company moves."""
    record = job()
    director = record["result"]["director"]
    director["scenes"][0]["breakdown"]["wardrobe"] = [
        {"item": "apron", "character": "rosa-amati", "suggested": False},
        {"item": "bicycle clips", "character": "theo-lind", "suggested": True}]
    director["schedule"] = {
        "days": [{"day": 1, "pages": "1 6/8", "hours": 8.5, "company_moves": 1, "strips": [
            {"scene": 1, "cast": ["theo-lind", "rosa-amati"], "pages": "1 3/8", "hours": 5.0,
             "part": "1/2"},
            {"scene": 2, "cast": ["danny"], "pages": "3/8", "hours": 3.5}]}],
        "day_out_of_days": [
            {"cast_number": 1, "character_id": "rosa-amati", "name": "Rosa Amati",
             "codes": ["SWF"]},
            {"cast_number": 2, "character_id": "theo-lind", "name": "Theo Lind",
             "codes": ["SWF"]}]}
    record["result"]["storyboard"] = {"bible": {"characters": [
        {"id": "danny", "name": "Danny Amati"}]}, "scenes": [{"number": 1, "shots": [
            {"id": "s001-sh01", "subjects": ["rosa-amati", "danny"], "image_prompt": "x"}]}]}
    html = export(record, "report.html")[1].decode()
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    assert "rosa-amati" not in text and "theo-lind" not in text
    assert "1 (1/2) INT. THE KITCHEN - NIGHT 1 3/8 5.0 1 Rosa Amati, 2 Theo Lind" in text
    assert "End of day 1 1 6/8 8.5 1 company move" in text
    assert "cast Rosa Amati; Theo Lind" in text  # the breakdown sheet
    assert "wardrobe Rosa Amati: apron; Theo Lind: bicycle clips*" in text
    assert "* suggested by the model" in text
    assert "s001-sh01 Rosa Amati, Danny Amati" in text  # who is in frame, by the bible
    # a line as a script has it, not with the prose's comma before its tag
    assert "Rosa Amati : \u201cYou're early.\u201d" in text


def test_the_report_shows_each_storyboard_warning_and_the_shots_to_check() -> None:
    message = ("scene 1: Theo Lind is named in shot 2 but not in frame, so no reference image "
               "goes with the prompt: check before generating")
    record = job()
    shot = {"subjects": ["rosa-amati"], "image_prompt": "x", "duration_seconds": 3}
    record["result"]["storyboard"] = {
        "bible": {"characters": []}, "warnings": [message],
        "warning_details": [{"kind": "not_in_frame", "scene": 1, "shots": [2],
                             "shot_ids": ["s001-sh02"], "message": message}],
        "scenes": [{"number": 1, "shots": [
            {**shot, "id": "s001-sh01", "warning_kinds": []},
            {**shot, "id": "s001-sh02", "warning_kinds": ["not_in_frame"]}]}]}
    html = export(record, "report.html")[1].decode()
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    assert f"Check before generating not in frame : {message}" in text
    assert "Shot In frame Image prompt Motion prompt Sec Check" in text
    assert "s001-sh01 Rosa Amati x 3 s001-sh02 Rosa Amati x 3 not in frame" in text
    # a storyboard without warnings keeps its table as it was
    for s in record["result"]["storyboard"]["scenes"][0]["shots"]:
        s["warning_kinds"] = []
    record["result"]["storyboard"].update(warnings=[], warning_details=[])
    html = export(record, "report.html")[1].decode()
    assert "Check" not in html


def test_the_report_shows_the_plan_s_warnings_and_the_scenes_and_shots_to_check() -> None:
    """A first AD printing the report sees the plan's warnings, each led by its kind, and on
    each scene's page what to check and in which shots (a printed page travels alone)."""
    framing = "scene 1: shot 2 is a single that names nobody in frame"
    days = "the schedule needs 2 shooting days but 1 are available"
    record = job()
    plan = record["result"]["director"]
    plan["warnings"] = [framing, days]
    plan["warning_details"] = [
        {"kind": "framing", "scene": 1, "scenes": [1], "shots": [2], "message": framing},
        {"kind": "schedule_over_days", "scene": None, "scenes": [], "shots": [],
         "message": days}]
    plan["scenes"][0]["warning_kinds"] = ["framing"]
    for shot, kinds in zip(plan["scenes"][0]["shots"], ([], ["framing"]), strict=True):
        shot["warning_kinds"] = kinds
    html = export(record, "report.html")[1].decode()
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))
    assert (f"Check in the plan framing : {framing} schedule over days : {days}") in text
    page_1 = text.split("1. INT. THE KITCHEN - NIGHT")[-1].split("2. EXT. THE ALLEY")[0]
    assert "Check: framing" in page_1
    assert "Subjects Sec Notes Check" in page_1
    assert re.search(r"2 CU 85 Theo Lind 3 framing", page_1), page_1
    page_2 = text.split("2. EXT. THE ALLEY - DAY")[-1]
    assert "Check:" not in page_2.split("Storyboard")[0]
    # a plan without warnings (or made before they were data) keeps its pages as they were
    older = job()
    older["result"]["director"]["warnings"] = [days]
    html = export(older, "report.html")[1].decode()
    assert "Check:" not in html and "<th>Check</th>" not in html
    assert f"<li>{days}</li>" in html


def test_a_format_without_its_crew_is_unavailable() -> None:
    record = job()
    del record["result"]["director"]
    for name in ("shots.csv", "stripboard.csv"):
        with pytest.raises(ExportUnavailable):
            export(record, name)
    assert export(record, "fountain")[1]  # the architect alone makes a screenplay
    with pytest.raises(ExportUnavailable):
        export({"id": "x", "result": {}}, "fountain")


def test_eighths_are_written_as_on_a_breakdown() -> None:
    assert [eighths(n) for n in (1, 8, 9, 16, 0)] == ["1/8", "1", "1 1/8", "2", "0"]


def test_every_format_has_a_distinct_suffix() -> None:
    assert len({f.suffix for f in FORMATS.values()}) == len(FORMATS)


def test_a_stand_in_report_says_so_on_every_scene_page_and_links_each_scene() -> None:
    """Printed, each scene starts a page that may travel alone: each says it is the stand-in's.
    On screen, a contents list leads to every scene, and a phone gets a viewport."""
    html = export(job(models_used=["offline"]), "report.html")[1].decode()
    sections = re.findall(r'<section class="scene" id="([^"]+)">(.*?)</section>', html, re.S)
    assert [anchor for anchor, _ in sections] == ["scene-1", "scene-2"]
    assert all("Offline stand-in output" in body for _, body in sections)
    assert re.findall(r"<a href='#(scene-\d+)'>", html) == ["scene-1", "scene-2"]
    assert "offline stand-in report</title>" in html and "name='viewport'" in html
    plain = export(job(), "report.html")[1].decode()
    assert "Offline stand-in" not in plain and "production report</title>" in plain
