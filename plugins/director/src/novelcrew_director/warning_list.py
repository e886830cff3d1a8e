"""The plan's warnings, gathered once as data and given out both ways: the messages
(``ScenePlan.warnings``, what people and older readers read) and ``warning_details``, with the
scenes and shots each concerns flagged on them (``warning_kinds``, where a plan's reader looks).

A warning is recorded where its cause is known, in the order the plan has always given them;
the flags are set once the planned scenes are final. The list itself and the rule for a flag
are core's (``novelcrew.warnings``), shared with every crew that gives warnings this way.
"""

from __future__ import annotations

from collections.abc import Iterable

from novelcrew.warnings import WarningList, kinds_of
from novelcrew_director.models import PlannedScene, PlanWarning, PlanWarningKind


class PlanWarningList(WarningList[PlanWarning]):
    """The plan's warnings in the order they were given; ``resolve`` flags the scenes and
    shots."""

    def add(self, kind: PlanWarningKind, message: str, *, scenes: Iterable[int] = (),
            shots: Iterable[int] = (), characters: Iterable[str] = (),
            locations: Iterable[str] = ()) -> PlanWarning:
        """Record a warning; ``scene`` is set when it concerns exactly one scene."""
        numbers = list(dict.fromkeys(scenes))
        return self.append(PlanWarning(
            kind=kind, message=message, scene=numbers[0] if len(numbers) == 1 else None,
            scenes=numbers, shots=list(shots), characters=list(characters),
            locations=list(locations)))

    def resolve(self, scenes: Iterable[PlannedScene]) -> list[PlanWarning]:
        """Set each planned scene's ``warning_kinds`` (warnings naming it among ``scenes``)
        and each shot's (warnings of its scene naming its number among ``shots``)."""
        for scene in scenes:
            scene.warning_kinds = kinds_of(item for item in self.items
                                           if scene.number in item.scenes)
            for shot in scene.shots:
                shot.warning_kinds = kinds_of(
                    item for item in self.items
                    if item.scene == scene.number and shot.number in item.shots)
        return self.items
