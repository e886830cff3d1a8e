"""A scene's shots against its length on the page: one warning per scene on the plan.

A page of screenplay runs about a minute on screen. Novel Movie generates each shot for its
estimated duration and cuts them in order, so shots that add up to 15 s for a page-and-a-half
scene leave a minute of the story unfilmed, and shots that add up to five minutes pay for film
the scene has no story for. A model's durations are kept as it gives them; outside half to
twice the page length they are a question for the director. The offline stand-in's durations
are placeholders, stretched to the pages by the planner, and never warn.
"""

from __future__ import annotations

from novelcrew_director.models import PlannedScene, PlanWarning
from novelcrew_director.pages import EIGHTHS

__all__ = ["SECONDS_PER_PAGE", "runtime_warning"]

SECONDS_PER_PAGE = 60.0
#: the shots' total against the page length that passes without a word: half to twice
BOUNDS = (0.5, 2.0)


def runtime_warning(scene: PlannedScene) -> PlanWarning | None:
    """A ``screen_time_off_pages`` warning of the scene (``"scene 3: its shots run 15 s,
    under half of its 1 4/8 pages (about 90 s at a minute a page)"``), or None when they run
    half to twice that. It names no shot: the scene's total is off, not one shot."""
    page_seconds = scene.breakdown.page_eighths / EIGHTHS * SECONDS_PER_PAGE
    shots = scene.screen_seconds
    if BOUNDS[0] <= shots / page_seconds <= BOUNDS[1]:  # a sheet has at least 1/8
        return None
    side = "under half" if shots < page_seconds else "over twice"
    unit = "page" if scene.breakdown.page_eighths <= EIGHTHS else "pages"
    return PlanWarning(
        kind="screen_time_off_pages", scene=scene.number, scenes=[scene.number],
        message=f"scene {scene.number}: its shots run {shots:g} s, {side} its "
                f"{scene.breakdown.pages} {unit} (about {page_seconds:.0f} s at a minute a page)")
