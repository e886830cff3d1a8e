"""Gold annotations: what a careful reader marks in a story, to score an analysis against.

A gold file is YAML (format in ``examples/gold/README.md``); ``load_gold`` validates it with the
models below and checks it against its story, so a gold file that drifts from its text (a
``starts_with`` or a dialogue ``line`` no longer found verbatim, scenes out of order) fails
loudly instead of scoring every model as wrong. A character's ``looks`` are held to the same
standard: each must be found in the story, so a look is what the words say, not an impression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from novelcrew_eval.matching import quote_normalise

__all__ = [
    "Gold",
    "GoldCharacter",
    "GoldError",
    "GoldItem",
    "GoldLine",
    "GoldScene",
    "LoadedGold",
    "load_gold",
]

Role = Literal["protagonist", "antagonist", "deuteragonist", "supporting", "minor"]
IntExt = Literal["INT", "EXT", "INT/EXT"]
DayNight = Literal["DAY", "NIGHT", "DAWN", "DUSK"]


class GoldError(ValueError):
    """A gold file that cannot be used: invalid YAML, schema, or out of step with its story."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GoldCharacter(_Strict):
    """A named character; any of ``name`` or ``aliases`` in a result is the same person."""

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    role: Role = "supporting"
    looks: list[Annotated[str, Field(min_length=2)]] = Field(
        default_factory=list,
        description="What the story's words say this person looks like (age, build, skin, hair, "
                    "eyes, features), each a short phrase found in the story; no clothing.")

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


class GoldItem(_Strict):
    """A location, prop, vehicle or animal; written as a plain string when it has no aliases."""

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


def _items(value: object) -> object:
    if isinstance(value, list):
        return [{"name": v} if isinstance(v, str) else v for v in value]
    return value


class GoldScene(_Strict):
    """One scene: it starts where ``starts_with`` is found (after the previous scene's start)."""

    starts_with: str = Field(min_length=8, description="The scene's first words, verbatim.")
    int_ext: IntExt
    day_night: DayNight
    location: str = Field(min_length=1, description="A name (or alias) from `locations`.")
    characters: list[str] = Field(
        default_factory=list, description="Names (or aliases) from `characters`, present on screen."
    )
    story_day: int | None = Field(None, ge=1, description="Which day of the story, from 1.")


class GoldLine(_Strict):
    """A line of dialogue, verbatim, and who says it."""

    line: str = Field(min_length=2)
    speaker: str = Field(min_length=1)


class Gold(_Strict):
    """One story's gold annotation."""

    story: str = Field(description="Path of the story file, relative to the gold file.")
    title: str | None = None
    characters: list[GoldCharacter] = Field(min_length=1)
    locations: list[GoldItem] = Field(min_length=1)
    scenes: list[GoldScene] = Field(min_length=1)
    props: list[GoldItem] = Field(default_factory=list)
    vehicles: list[GoldItem] = Field(default_factory=list)
    animals: list[GoldItem] = Field(default_factory=list)
    dialogue: list[GoldLine] = Field(default_factory=list)
    notes: str = ""

    _as_items = field_validator("locations", "props", "vehicles", "animals", mode="before")(
        _items
    )

    def character(self, name: str) -> GoldCharacter | None:
        """The character ``name`` (a name or an alias, exactly as written here) refers to."""
        for character in self.characters:
            if name in character.names:
                return character
        return None

    def location(self, name: str) -> GoldItem | None:
        for location in self.locations:
            if name in location.names:
                return location
        return None

    @model_validator(mode="after")
    def _references(self) -> Gold:
        problems: list[str] = []
        seen: dict[str, str] = {}
        for character in self.characters:
            for name in character.names:
                if name in seen and seen[name] != character.name:
                    problems.append(
                        f"name {name!r} belongs to both {seen[name]!r} and {character.name!r}"
                    )
                seen[name] = character.name
        for number, scene in enumerate(self.scenes, 1):
            if self.location(scene.location) is None:
                problems.append(f"scene {number}: location {scene.location!r} not in locations")
            problems.extend(
                f"scene {number}: character {name!r} not in characters"
                for name in scene.characters
                if self.character(name) is None
            )
        problems.extend(
            f"dialogue {line.line!r}: speaker {line.speaker!r} not in characters"
            for line in self.dialogue
            if self.character(line.speaker) is None
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self


@dataclass(frozen=True)
class LoadedGold:
    """A validated gold annotation with its story text and where each scene starts."""

    path: Path
    gold: Gold
    story_path: Path
    text: str
    scene_starts: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.path.stem


def _check_looks(path: Path, gold: Gold, text: str) -> None:
    """Every look is found in the story (any case, any spacing, straight or curly quotes).

    A look the story does not state would score a model that stays with the text as wrong.
    """
    story = quote_normalise(text).lower()
    missing = [f"{character.name}: {look!r}" for character in gold.characters
               for look in character.looks if quote_normalise(look).lower() not in story]
    if missing:
        raise GoldError(f"{path}: looks not found in {gold.story}: " + "; ".join(missing))


def load_gold(path: str | Path) -> LoadedGold:
    """Read, validate and check a gold file against its story; ``GoldError`` says what is wrong."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GoldError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise GoldError(f"{path}: not valid YAML: {exc}") from exc
    try:
        gold = Gold.model_validate(raw)
    except ValidationError as exc:
        raise GoldError(f"{path}: not a valid gold file:\n{exc}") from exc
    story_path = (path.parent / gold.story).resolve()
    try:
        text = story_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldError(f"{path}: story {gold.story} cannot be read: {exc}") from exc
    starts: list[int] = []
    position = 0
    for number, scene in enumerate(gold.scenes, 1):
        found = text.find(scene.starts_with, position)
        if found < 0:
            where = "anywhere" if text.find(scene.starts_with) < 0 else "after the previous scene"
            raise GoldError(
                f"{path}: scene {number}: starts_with {scene.starts_with!r} not found {where} "
                f"in {gold.story}"
            )
        starts.append(found)
        position = found + 1
    missing = [line.line for line in gold.dialogue if line.line not in text]
    if missing:
        raise GoldError(
            f"{path}: dialogue not found verbatim in {gold.story}: "
            + "; ".join(repr(m) for m in missing)
        )
    _check_looks(path, gold, text)
    return LoadedGold(path=path, gold=gold, story_path=story_path, text=text,
                      scene_starts=tuple(starts))
