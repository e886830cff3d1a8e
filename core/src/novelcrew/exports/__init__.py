"""Production exports of a finished job: a Fountain screenplay, CSV sheets, an HTML report.

One function per format turns a job record into bytes; the API route, the CLI and the web UI
all call ``export`` so they give the same file. The exports read the results of the story crews
as plain data (``result["architect"]``, ``result["director"]``, ``result["storyboard"]``) and
take what is there: a job that ran only the architect still has a screenplay, not a shot list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from novelcrew.exports import fountain, report, sheets
from novelcrew.exports._data import ExportUnavailable


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    suffix: str
    description: str
    render: Callable[[dict[str, Any]], str]


FORMATS: dict[str, Format] = {
    f.name: f for f in (
        Format("fountain", "text/plain; charset=utf-8", ".fountain",
               "Screenplay in Fountain: scene headings, action, dialogue with speakers.",
               fountain.render),
        Format("shots.csv", "text/csv; charset=utf-8", ".shots.csv",
               "Shot list: one row per shot.", sheets.shot_list),
        Format("breakdown.csv", "text/csv; charset=utf-8", ".breakdown.csv",
               "Breakdown sheets: one row per scene, one column per category.",
               sheets.breakdown_sheets),
        Format("stripboard.csv", "text/csv; charset=utf-8", ".stripboard.csv",
               "Stripboard: scenes in shooting order, by shooting day.", sheets.stripboard),
        Format("report.html", "text/html; charset=utf-8", ".report.html",
               "Print-ready production report.", report.render),
    )
}


def export(job: dict[str, Any], name: str) -> tuple[Format, bytes]:
    """The export ``name`` of ``job`` (a job record as ``GET /jobs/{id}`` shows it)."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise KeyError(name)
    return fmt, fmt.render(job).encode("utf-8")


__all__ = ["FORMATS", "ExportUnavailable", "Format", "export"]
