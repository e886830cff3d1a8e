"""docs/quality.md's offline table is the stored baseline CI holds the stand-in to.

The table once showed figures three changes old while the baseline file moved on; a reader
comparing a real model against it would have compared against the wrong floor.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["characters_f1", "locations_f1", "scene_boundary_f1", "int_ext_accuracy",
        "day_night_accuracy", "scene_location_accuracy", "story_day_accuracy", "scene_cast_f1",
        "props_recall", "vehicles_recall", "animals_recall", "dialogue_speaker_accuracy",
        "dialogue_speaker_recall", "looks_precision", "looks_recall", "leaks",
        "dialogue_verbatim", "scene_grounding", "shot_variety", "coverage_fit",
        "subjects_in_scene", "screen_time_fits_pages", "looks_described", "outfits_by_day",
        "names_not_ids", "light_fits_time"]


def _cell(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    assert isinstance(value, float)
    return f"{value:.2f}"


def _table_rows() -> dict[str, list[str]]:
    doc = (ROOT / "docs" / "quality.md").read_text()
    section = doc[doc.index("## The offline baseline"):]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*(\*\*overall\*\*|[a-z0-9-]+)\s*\|", line)
        if match and not line.startswith(("| story", "|---")):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[match.group(1).strip("*")] = cells[2:]
    return rows


def test_the_offline_table_matches_the_stored_baseline() -> None:
    baseline = json.loads((ROOT / "examples/gold/baselines/offline.json").read_text())
    rows = _table_rows()
    assert set(rows) == set(baseline["stories"]) | {"overall"}
    for name, scores in baseline["stories"].items():
        assert rows[name] == [_cell(scores.get(k)) for k in KEYS], name
    assert rows["overall"] == [_cell(baseline["overall"].get(k)) for k in KEYS]
