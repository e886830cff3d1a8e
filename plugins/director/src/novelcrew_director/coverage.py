"""The offline stand-in's shot list: the coverage a DP plans by default for what a scene has.

The stand-in extracts; it cannot stage a scene. Its shot sizes came in the same order in every
scene (EWS, WS, MWS, MS, MCU, CU, the angle swinging high and low for no reason), so a demo's
five scenes had one shot list. Here the setups follow the analysis's facts the way standard
coverage does:
- a wide master of everyone, an extreme wide from above the first time the story is outside
  somewhere (the place before the people), panning with someone arriving;
- two people talking get over-the-shoulders both ways and a close-up each; a group, a
  two-shot of the first pair to speak and a single on each speaker; one person, a mid shot
  (tracking if they move) and a close-up;
- an insert of a prop the scene names, when there is room;
- eye level throughout, and a slow push-in on the last close-up of a tense or sad scene.
A real model's shot list is kept as it gives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from novelcrew_director.vocabulary import Angle, Coverage, Movement, ShotSize

__all__ = ["Setup", "default_coverage", "moves"]

#: the most setups the stand-in plans for one scene
MOST = 6
#: seconds each kind of setup runs before the plan stretches them to the scene's pages: the
#: master plays the whole scene, a single one exchange, an insert a beat
SECONDS = {Coverage.MASTER: 20.0, Coverage.TWO_SHOT: 12.0, Coverage.OVER_THE_SHOULDER: 12.0,
           Coverage.SINGLE: 8.0, Coverage.INSERT: 3.0}
#: moods whose last close-up the camera moves in on
_CLOSING_IN = frozenset({"tense", "melancholic", "sad", "fearful", "grief"})
#: someone arriving, leaving or crossing the frame in a scene's first lines
_MOVING = re.compile(r"\b(?:came|comes|walked|walks|arrived|arrives|drove|drives|ran|runs|rode|"
                     r"crossed|climbed|hurried|strode|wheeled|cycled|stepped)\b", re.I)


@dataclass(frozen=True)
class Setup:
    """One camera setup: what it frames and how; ``seconds`` before stretching to the page."""

    size: ShotSize
    coverage: Coverage
    subjects: list[str] = field(default_factory=list)
    angle: Angle = Angle.EYE_LEVEL
    movement: Movement = Movement.STATIC
    notes: str = ""

    @property
    def seconds(self) -> float:
        return SECONDS.get(self.coverage, 8.0)


def moves(opening: str) -> bool:
    """Whether a scene's opening has someone on the move ("Danny came at ten")."""
    return bool(_MOVING.search(opening))


def default_coverage(cast: list[str], speakers: list[str], *, exterior: bool, new_place: bool,
                     talking: bool = False, moving: bool = False, mood: str = "",
                     prop: str | None = None) -> list[Setup]:
    """The setups for a scene with ``cast`` (ids, lead first) of whom ``speakers`` are known
    to talk (in order of their first line; a line may have no known speaker, so ``talking``
    says whether anyone does); ``new_place`` when no earlier scene was there."""
    speakers = [s for s in dict.fromkeys(speakers) if s in cast]
    talking = talking or bool(speakers)
    people = [*speakers, *(c for c in cast if c not in speakers)]
    if exterior and new_place:  # the place first: where are we, then who is there
        master = Setup(ShotSize.EWS, Coverage.MASTER, list(people), Angle.HIGH,
                       Movement.PAN if moving else Movement.STATIC)
    else:
        master = Setup(ShotSize.WS, Coverage.MASTER, list(people),
                       movement=Movement.PAN if moving and new_place else Movement.STATIC)
    setups = [master]
    if len(people) == 1:
        one = people[0]
        setups += [Setup(ShotSize.MS, Coverage.SINGLE, [one],
                         movement=Movement.TRACK if moving else Movement.STATIC),
                   Setup(ShotSize.CU, Coverage.SINGLE, [one])]
    elif talking and len(people) == 2:  # a two-hander: the conversation both ways
        a, b = people
        setups += [Setup(ShotSize.MS, Coverage.OVER_THE_SHOULDER, [a, b]),
                   Setup(ShotSize.MS, Coverage.OVER_THE_SHOULDER, [b, a]),
                   Setup(ShotSize.CU, Coverage.SINGLE, [a]),
                   Setup(ShotSize.CU, Coverage.SINGLE, [b])]
    elif people:
        setups.append(Setup(ShotSize.MWS, Coverage.TWO_SHOT, people[:2]))
        for person in people[:3]:  # who speaks first, then who listens
            setups.append(Setup(ShotSize.MCU, Coverage.SINGLE, [person]))
    if prop and len(setups) < MOST:
        setups.append(Setup(ShotSize.INSERT, Coverage.INSERT, notes=f"The {prop}."))
    setups = setups[:MOST]
    if mood.lower() in _CLOSING_IN:
        last = max((i for i, s in enumerate(setups) if s.coverage is Coverage.SINGLE),
                   default=None)
        if last is not None:
            setups[last] = replace(setups[last], movement=Movement.PUSH_IN)
    return setups
