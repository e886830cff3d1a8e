"""Shots against the page: half to twice a minute a page passes without a word."""

from __future__ import annotations

import pytest

from novelcrew_director.models import BreakdownSheet, PlannedScene, Shot
from novelcrew_director.runtime import runtime_warning


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
