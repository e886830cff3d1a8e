"""Shots whose framing contradicts itself or the scene: one warning per scene on the plan.

A model's coverage and subjects are kept as it gives them, since it may read the scene better
than the analysis did; but a "single" on four people, a "two-shot" of one, or a shot of
someone the scene does not have is a question for the first AD, and the storyboard builds its
pictures from these subjects. The offline stand-in's framing follows its cast and never warns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from novelcrew_director.models import PlannedScene, PlanWarning
from novelcrew_director.vocabulary import Coverage

__all__ = ["framing_warning"]

#: how many people a coverage frames (fewest, most); a master or a cutaway may frame anyone
FRAMES = {Coverage.SINGLE: (1, 1), Coverage.TWO_SHOT: (2, 2),
          Coverage.OVER_THE_SHOULDER: (1, 2), Coverage.INSERT: (0, 1)}
_PEOPLE = {Coverage.SINGLE: "one person", Coverage.TWO_SHOT: "two people",
           Coverage.OVER_THE_SHOULDER: "one or two people", Coverage.INSERT: "at most one"}


def framing_warning(scene: PlannedScene, in_scene: Iterable[str],
                    name: Callable[[str], str]) -> PlanWarning | None:
    """A ``framing`` warning, ``"scene 3: shot 2 is a single on 3 people (...); ..."`` with
    the shots it names and the ids of anyone framed who is not in the scene, or None when all
    fit.

    ``in_scene`` holds the ids of everyone the scene has by either the analysis or the
    director's breakdown; ``name`` turns an id into the name a reader knows.
    """
    present = set(in_scene)
    problems: list[str] = []
    shots: list[int] = []
    strangers_ids: list[str] = []
    for shot in scene.shots:
        before = len(problems)
        coverage = shot.coverage
        if coverage is not None and coverage in FRAMES:
            bounds, count = FRAMES[coverage], len(shot.subjects)
            if count == 0 and bounds[0] > 0:
                problems.append(f"shot {shot.number} is a {coverage.value} that names nobody "
                                "in frame")
            elif not bounds[0] <= count <= bounds[1]:
                who = ", ".join(name(s) for s in shot.subjects)
                people = "person" if count == 1 else "people"
                problems.append(f"shot {shot.number} is a {coverage.value} on {count} {people} "
                                f"({who}); it frames {_PEOPLE[coverage]}")
        strangers = [s for s in shot.subjects if s not in present]
        if strangers:
            problems.append(f"shot {shot.number} frames {', '.join(map(name, strangers))}, "
                            "not in the scene's cast")
            strangers_ids.extend(s for s in strangers if s not in strangers_ids)
        if len(problems) > before:
            shots.append(shot.number)
    if not problems:
        return None
    return PlanWarning(kind="framing", scene=scene.number, scenes=[scene.number], shots=shots,
                       characters=strangers_ids,
                       message=f"scene {scene.number}: " + "; ".join(problems))
