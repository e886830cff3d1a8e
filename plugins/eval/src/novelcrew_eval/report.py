"""Showing scores (rich tables, JSON) and holding them to stored minimums."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from novelcrew_eval.score import CHECKS, LOWER_IS_BETTER, METRICS, StoryScore, overall

__all__ = ["as_json", "check_minimums", "judge_overall", "minimums_of", "render"]

_NOTES = {
    "characters_f1": ("characters_missed", "characters_extra"),
    "locations_f1": ("locations_missed", "locations_extra"),
    "scene_boundary_f1": ("scenes_gold", "scenes_result", "scene_boundary"),
    "scene_location_accuracy": ("scene_locations_wrong",),
    "props_recall": ("props_missed",),
    "vehicles_recall": ("vehicles_missed",),
    "animals_recall": ("animals_missed",),
    "dialogue_speaker_accuracy": ("dialogue_coverage", "dialogue", "speakers_wrong"),
    "dialogue_speaker_recall": (),
    "scene_cast_f1": ("scene_casts_wrong",),
    "looks_precision": ("looks_wrong",),
    "looks_recall": ("gold_looks_missed",),
    "leaks": ("leaks",),
    "dialogue_verbatim": ("dialogue_not_in_story",),
    "scene_grounding": ("not_in_scene_text",),
    "shot_variety": ("shot_patterns_distinct",),
    "coverage_fit": ("coverage_misfits",),
    "subjects_in_scene": ("subjects_not_in_scene",),
    "screen_time_fits_pages": ("screen_time_off_pages",),
    "looks_described": ("looks_missing",),
    "outfits_by_day": ("outfits_missing",),
    "names_not_ids": ("ids_read_by_people",),
    "light_fits_time": ("light_against_time",),
}


def _value(value: Any, key: str) -> str:
    if value is None:
        return "[dim]n/a[/]"
    if key in LOWER_IS_BETTER:
        return f"[red]{value}[/]" if value else "[green]0[/]"
    colour = "green" if value >= 0.8 else "yellow" if value >= 0.5 else "red"
    return f"[{colour}]{value:.2f}[/]"


def _note(details: Mapping[str, Any], key: str) -> str:
    parts = []
    for name in _NOTES.get(key, ()):
        if name not in details:
            continue
        value = details[name]
        if name == "leaks":
            value = [f"{leak['field']}: {leak['value'][:40]!r}" for leak in value[:2]]
        if isinstance(value, list):
            if not value:
                continue
            shown = ", ".join(str(v) for v in value[:4]) + (" ..." if len(value) > 4 else "")
            parts.append(f"{name.split('_', 1)[-1]}: {shown}")
        else:
            parts.append(f"{name}: {value}")
    return "; ".join(parts)


def render(stories: Sequence[StoryScore], console: Console, *, title: str = "") -> None:
    """One table per story (score and what was missed), then the overall means."""
    for story in stories:
        table = Table(title=f"{story.story}", title_justify="left", expand=False)
        table.add_column("score")
        table.add_column("value", justify="right")
        table.add_column("notes", overflow="fold", max_width=80)
        for key in METRICS:
            table.add_row(key, _value(story.scores.get(key), key), _note(story.details, key))
        for key in CHECKS:
            table.add_row(f"[italic]{key}[/]", _value(story.checks.get(key), key),
                          _note(story.details, key))
        if story.judge is not None:
            table.add_row("[bold]judge_score[/] (1-5)", _judge_value(story.judge),
                          _judge_note(story.judge))
        console.print(table)
    totals = overall(stories)
    table = Table(title=title or f"overall ({len(stories)} stories)", title_justify="left")
    table.add_column("score")
    table.add_column("value", justify="right")
    for key in (*METRICS, *CHECKS):
        table.add_row(key, _value(totals[key], key))
    judged = judge_overall(stories)
    if judged:
        table.add_row("[bold]judge_score[/] (1-5)", _judge_value({"mean_score":
                                                                  judged["judge_score"]}))
        if judged["judge_a_wins"] + judged["judge_b_wins"] + judged["judge_ties"]:
            table.add_row("judge A/B/tie", f"{judged['judge_a_wins']}/{judged['judge_b_wins']}"
                          f"/{judged['judge_ties']}")
    console.print(table)


def _judge_value(report: Mapping[str, Any]) -> str:
    mean = report.get("mean_score")
    return "[dim]n/a[/]" if mean is None else f"{mean:.2f}"


def _judge_note(report: Mapping[str, Any]) -> str:
    note = f"grounded: {report.get('grounded_share', 0):.0%} of scenes"
    if report.get("a_wins") or report.get("b_wins") or report.get("ties"):
        note += f"; A/B/tie: {report['a_wins']}/{report['b_wins']}/{report['ties']}"
    return note + f"; model {report.get('model', '?')}"


def judge_overall(stories: Sequence[StoryScore]) -> dict[str, Any]:
    """The judge's summary over the stories it judged (empty without ``--judge``)."""
    reports = [s.judge for s in stories if s.judge is not None]
    if not reports:
        return {}
    means = [r["mean_score"] for r in reports if r.get("mean_score") is not None]
    return {
        "judge_score": round(sum(means) / len(means), 3) if means else None,
        "judge_a_wins": sum(r.get("a_wins", 0) for r in reports),
        "judge_b_wins": sum(r.get("b_wins", 0) for r in reports),
        "judge_ties": sum(r.get("ties", 0) for r in reports),
    }


def as_json(stories: Sequence[StoryScore]) -> dict[str, Any]:
    """``{"stories": [...], "overall": {...}}``; each story's ``details`` name its model."""
    return {"stories": [s.as_dict() for s in stories],
            "overall": {**overall(stories), **judge_overall(stories)}}


def minimums_of(stories: Sequence[StoryScore], model: str | None = None) -> dict[str, Any]:
    """Today's scores as a minimums file: what later runs must not fall below.

    Scores are rounded down to two decimals (``leaks`` is kept as is), so a figure printed in
    a table is a figure the next run may equal without failing.
    """
    def kept(values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (v if k in LOWER_IS_BETTER else math.floor(v * 100 + 1e-6) / 100)
                for k, v in values.items() if v is not None}

    return {
        **({"model": model} if model else {}),
        "overall": kept(overall(stories)),
        "stories": {s.story: kept({**s.scores, **s.checks}) for s in stories},
    }


def check_minimums(stories: Sequence[StoryScore], path: Path) -> list[str]:
    """What fell below the figures stored in ``path`` (``leaks``: what rose above them)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read minimum scores {path}: {exc}") from exc
    if not isinstance(stored, dict):
        raise ValueError(f"{path}: expected {{'overall': {{...}}, 'stories': {{...}}}}")
    got: dict[str, Mapping[str, Any]] = {"overall": overall(stories)}
    for story in stories:
        got[story.story] = {**story.scores, **story.checks}
    wanted: list[tuple[str, Mapping[str, Any]]] = [("overall", stored.get("overall") or {})]
    wanted += list((stored.get("stories") or {}).items())
    failures: list[str] = []
    for where, limits in wanted:
        if where not in got:
            continue  # a story not evaluated this time
        for key, limit in limits.items():
            value = got[where].get(key)
            if key in LOWER_IS_BETTER:
                if value is not None and value > limit:
                    failures.append(f"{where}: {key} {value} > {limit}")
            elif value is None or value < limit - 1e-9:
                shown = "n/a" if value is None else f"{value:.4f}"
                failures.append(f"{where}: {key} {shown} < {limit}")
    return failures
