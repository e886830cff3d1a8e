"""Shots against the page: half to twice a minute a page passes without a word; the whole
plan against the project's target runtime: within 1.5 times either way."""

from __future__ import annotations

from typing import Any

import pytest

from novelcrew_director.models import BreakdownSheet, PlannedScene, Shot
from novelcrew_director.reading import target_runtime
from novelcrew_director.runtime import film_runtime_warning, runtime_warning
from novelcrew_director.story import TargetRuntime


def _scene(eighths: int, *durations: float) -> PlannedScene:
    return PlannedScene(
        number=3, heading="INT. BAKERY - NIGHT", summary="-",
        breakdown=BreakdownSheet(page_eighths=eighths, pages="1 4/8" if eighths == 12 else "1"),
        shots=[Shot(number=i, size="MS", estimated_duration_seconds=d)
               for i, d in enumerate(durations, 1)])


@pytest.mark.parametrize(("durations", "warned"), [
    ((5, 10), "scene 3: its shots run 15 s, under half its 1 4/8 pages (about 90 s at a "
              "minute a page)"),
    ((45,), None), ((90,), None), ((180,), None),  # half, the page's length, twice
    ((100, 100), "scene 3: its shots run 200 s, over twice its 1 4/8 pages (about 90 s at a "
                 "minute a page)"),
])
def test_a_scene_s_shots_run_half_to_twice_its_pages(durations: tuple[float, ...],
                                                     warned: str | None) -> None:
    warning = runtime_warning(_scene(12, *durations))
    assert (warning.message if warning else None) == warned
    if warning:  # the scene's total is off, not one shot
        assert (warning.kind, warning.scene, warning.scenes, warning.shots) == (
            "screen_time_off_pages", 3, [3], [])


def test_one_page_is_a_page() -> None:
    warning = runtime_warning(_scene(8, 10))
    assert warning is not None and warning.message == (
        "scene 3: its shots run 10 s, under half its 1 page (about 60 s at a minute a page)")


TWELVE = TargetRuntime(minutes=12, source="durationUnit", format="Short Film")


@pytest.mark.parametrize(("seconds", "warned"), [
    (479, "the plan's shots run 8.0 min, under two thirds of the project's target runtime of "
          "12 min (the project's durationUnit)"),
    (480, None), (720, None), (1080, None),  # two thirds, the target, 1.5 times
    (1081, "the plan's shots run 18.0 min, over 1.5 times the project's target runtime of "
           "12 min (the project's durationUnit)"),
    (40, "the plan's shots run 40 s, under two thirds of the project's target runtime of "
         "12 min (the project's durationUnit)"),
])
def test_the_plan_runs_within_one_and_a_half_times_the_projects_target(
        seconds: float, warned: str | None) -> None:
    warning = film_runtime_warning(seconds, TWELVE)
    assert (warning.message if warning else None) == warned
    if warning:  # the whole plan is off: no scene or shot to flag
        assert warning.kind == "runtime_off_target"
        assert (warning.scene, warning.scenes, warning.shots) == (None, [], [])


@pytest.mark.parametrize(("doc", "target"), [
    ({"durationUnit": 12, "movieFormat": {"name": "Short Film", "suggestedDuration": 15}},
     TWELVE),
    ({"durationUnit": None, "movieFormat": {"name": "Short Film", "suggestedDuration": 15}},
     TargetRuntime(minutes=15, source="movieFormat", format="Short Film")),
    ({"durationUnit": 0, "movieFormat": {"name": "Feature Film", "suggestedDuration": 90}},
     TargetRuntime(minutes=90, source="movieFormat", format="Feature Film")),
    ({"durationUnit": True, "movieFormat": 3}, None),  # a flag and an unresolved id: no target
    ({"name": "made before the fields existed"}, None),
])
def test_the_target_is_the_projects_runtime_else_its_formats(
        doc: dict[str, Any], target: TargetRuntime | None) -> None:
    assert target_runtime(doc) == target
