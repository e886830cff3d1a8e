"""A scene's shots against its length on the page: one warning per scene on the plan; and the
whole plan against the runtime the project aims at.

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
from novelcrew_director.story import TargetRuntime

__all__ = ["RUNTIME_TOLERANCE", "SECONDS_PER_PAGE", "film_runtime_warning", "runtime_warning"]

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


#: how far the plan's screen time may stray from the project's target runtime without a word:
#: within a factor of 1.5 either way (a 12-minute target passes 8 to 18 minutes). Estimated
#: shot durations are rough, and a story may rightly run a little long or short; a plan outside
#: that is another film than the one the project was set up as (a format, a budget, a slot).
RUNTIME_TOLERANCE = 1.5


def film_runtime_warning(screen_seconds: float, target: TargetRuntime) -> PlanWarning | None:
    """A ``runtime_off_target`` warning when the plan's screen time is under the target over
    ``RUNTIME_TOLERANCE`` or over it times that, else None. It names no scene: the whole
    plan is off, and the cure (scenes cut or added, or another target) is the producer's."""
    target_seconds = target.minutes * 60
    if target_seconds / RUNTIME_TOLERANCE <= screen_seconds \
            <= target_seconds * RUNTIME_TOLERANCE:
        return None
    side = "under two thirds of" if screen_seconds < target_seconds else "over 1.5 times"
    whose = ("the project's durationUnit" if target.source == "durationUnit"
             else f"the suggested duration of its format, {target.format}")
    return PlanWarning(
        kind="runtime_off_target",
        message=f"the plan's shots run {_minutes(screen_seconds)}, {side} the project's "
                f"target runtime of {target.minutes:g} min ({whose})")


def _minutes(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:.1f} min"
