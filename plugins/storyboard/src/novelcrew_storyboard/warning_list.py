"""The storyboard's warnings, gathered once as data and given out both ways: the messages
(``Storyboard.warnings``, what people and older readers read) and ``warning_details`` with the
shots each concerns flagged on the shots themselves (what the media step reads).

A warning is recorded where its cause is known (a unit's failure before any shot exists, a
clash while assembling); which shots it concerns is resolved once the board is assembled, so
a look that fell back to the plan's words flags every shot that shows that person or place.
The list itself is core's (``novelcrew.warnings``), shared with every crew that gives warnings
this way.
"""

from __future__ import annotations

from collections.abc import Iterable

from novelcrew.warnings import WarningList
from novelcrew_storyboard.models import (
    StoryboardScene,
    StoryboardShot,
    StoryboardWarning,
    WarningKind,
)


class StoryboardWarningList(WarningList[StoryboardWarning]):
    """The storyboard's warnings in the order they were given; ``resolve`` ties them to the
    assembled shots."""

    def add(self, kind: WarningKind, message: str, *, scene: int | None = None,
            shots: Iterable[int] = (), characters: Iterable[str] = (),
            locations: Iterable[str] = ()) -> StoryboardWarning:
        return self.append(StoryboardWarning(
            kind=kind, message=message, scene=scene, shots=list(shots),
            characters=list(characters), locations=list(locations)))

    def resolve(self, scenes: list[StoryboardScene]) -> list[StoryboardWarning]:
        """Fill each warning's ``shot_ids`` (a scene's shots it names, or every shot showing
        a character or location it names) and each shot's ``warning_kinds``."""
        for item in self.items:
            item.shot_ids = []
            for scene in scenes:
                for shot in scene.shots:
                    if _concerns(item, scene.number, shot):
                        item.shot_ids.append(shot.id)
                        if item.kind not in shot.warning_kinds:
                            shot.warning_kinds.append(item.kind)
        return self.items


def _concerns(item: StoryboardWarning, scene: int, shot: StoryboardShot) -> bool:
    """One scene's warning concerns the shots it numbers; a look's, every shot showing it."""
    if item.scene is not None:
        return item.scene == scene and shot.number in item.shots
    return bool(set(item.characters) & set(shot.subjects)) \
        or shot.location_id in item.locations
