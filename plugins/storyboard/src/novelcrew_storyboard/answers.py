"""What the agents answer, parsed leniently (models drift) and checked against the story.

The Visual Development Artist describes characters, locations and the style; the Storyboard
Artist writes, per shot, only the action and the composition. Neither writes a prompt: prompts
are assembled in ``prompts.py`` from these pieces. A trait the model calls ``stated`` stays
stated only when its evidence is found in the material the model was shown.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from novelcrew_storyboard.models import Trait

M = TypeVar("M", bound=BaseModel)
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)
MAX_PHRASE = 240


class AnswerRejected(Exception):
    """An answer did not parse; the message is what the agent is told on the retry."""


def clean(value: Any, limit: int = MAX_PHRASE) -> str:
    """One line of plain words: no braces, no line breaks, bounded length."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ", ".join(clean(v, limit) for v in value)
    words = " ".join(re.sub(r"[{}\[\]<>`]", " ", str(value)).split()).strip(" ,;.")
    return words[:limit].rsplit(" ", 1)[0] if len(words) > limit else words


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in re.split(r";|\n", value) if p.strip()]
    return value


class CharacterAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    gender: Trait = Field(default_factory=Trait)
    age_range: Trait = Field(default_factory=Trait)
    build: Trait = Field(default_factory=Trait)
    skin: Trait = Field(default_factory=Trait)
    hair: Trait = Field(default_factory=Trait)
    eyes: Trait = Field(default_factory=Trait)
    distinguishing_features: list[Trait] = Field(default_factory=list)
    wardrobe: dict[str, str] = Field(default_factory=dict)
    voice: Trait = Field(default_factory=Trait)

    _features = field_validator("distinguishing_features", mode="before")(_as_list)

    @field_validator("wardrobe", mode="before")
    @classmethod
    def _wardrobe(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"default": value}
        if isinstance(value, list):
            return {"default": ", ".join(str(v) for v in value)}
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items() if v}
        return {}


class CharactersAnswer(BaseModel):
    characters: list[CharacterAnswer] = Field(min_length=1)


class LocationAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    look: str = ""
    time_of_day: dict[str, str] = Field(default_factory=dict)
    set_pieces: list[str] = Field(default_factory=list)

    _pieces = field_validator("set_pieces", mode="before")(_as_list)

    @field_validator("time_of_day", mode="before")
    @classmethod
    def _variants(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k).upper(): clean(v) for k, v in value.items() if v}
        return {}


class LocationsAnswer(BaseModel):
    locations: list[LocationAnswer] = Field(min_length=1)


class StyleAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    era: str = ""
    palette: list[str] = Field(default_factory=list)
    lighting_style: str = ""
    film_look: str = ""
    fragments: list[str] = Field(default_factory=list)

    _lists = field_validator("palette", "fragments", mode="before")(_as_list)


class ShotAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    number: int
    action: str = ""
    composition: str = ""


class ShotsAnswer(BaseModel):
    shots: list[ShotAnswer] = Field(min_length=1)


def _candidates(raw: str) -> list[str]:
    text = raw.split("Final Answer:", 1)[-1]
    out = [text.strip(), *(m.strip() for m in _FENCE_RE.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        out.append(text[start:end + 1])
    return out


def parse(raw: str, model: type[M]) -> M:
    """``model`` from an agent's raw answer: bare JSON, fenced JSON or JSON inside prose."""
    problem = "the answer was not a JSON object"
    for candidate in _candidates(raw or ""):
        try:
            data = json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            continue
        if isinstance(data, list) and len(model.model_fields) == 1:
            data = {next(iter(model.model_fields)): data}
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                for e in exc.errors()[:5])
    raise AnswerRejected(problem)


def verify(trait: Trait, material: str) -> Trait:
    """The trait, cleaned; ``stated`` only when its evidence occurs in ``material``."""
    value = clean(trait.value)
    evidence = clean(trait.evidence, 400)
    norm = " ".join(material.lower().split())
    stated = bool(trait.stated and evidence and evidence.lower() in norm)
    return Trait(value=value, stated=stated, evidence=evidence if stated else "")
