"""Production exports of a finished job: a Fountain screenplay, CSV sheets, an HTML report.

Each format is an ``Export`` this plugin registers (``register_exports``); the API route, the
CLI and the web UI of the core serve them, so they give the same file. The exports read the
results of the story crews as plain data (``result["architect"]``, ``result["director"]``,
``result["storyboard"]``) and take what is there: a job that ran only the architect still has
a screenplay, not a shot list. No other plugin is imported.
"""

from __future__ import annotations

from novelcrew import Export
from novelcrew_exports import fountain, report, sheets

FORMATS: dict[str, Export] = {
    f.name: f for f in (
        Export("fountain", "text/plain; charset=utf-8", ".fountain",
               "Screenplay in Fountain: scene headings, action, dialogue with speakers.",
               fountain.render, label="Screenplay (.fountain)"),
        Export("shots.csv", "text/csv; charset=utf-8", ".shots.csv",
               "Shot list: one row per shot.", sheets.shot_list, label="Shot list (CSV)"),
        Export("breakdown.csv", "text/csv; charset=utf-8", ".breakdown.csv",
               "Breakdown sheets: one row per scene, one column per category.",
               sheets.breakdown_sheets, label="Breakdown (CSV)"),
        Export("stripboard.csv", "text/csv; charset=utf-8", ".stripboard.csv",
               "Stripboard: scenes in shooting order, by shooting day.", sheets.stripboard,
               label="Stripboard (CSV)"),
        Export("report.html", "text/html; charset=utf-8", ".report.html",
               "Print-ready production report.", report.render,
               label="Production report (HTML)"),
    )
}

__all__ = ["FORMATS"]
