"""What the director crew accepts: a project, an optional scene selection, taste and limits.

The same job inputs reach every crew of a chain (``architect,director``), so unknown top-level
fields (``story_text``...) are ignored, while the director's own fields are validated strictly
with messages that say what a valid value looks like.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from novelcrew.jobs import as_project_id
from novelcrew.llm.sampling import MAX_ANSWER_TOKENS, TaskSampling

_RANGE_RE = re.compile(r"^\s*(\d+)\s*(?:-|\u2013|\.\.)\s*(\d+)\s*$")
MAX_SCENE_NUMBER = 10_000
#: what ``scenes`` accepts, as API users see it (validated into sorted numbers)
SCENES_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "examples": ["1-3,5"]},
        {"type": "integer", "minimum": 1},
        {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 1},
                                              {"type": "string"}]}},
        {"type": "null"},
    ],
    "examples": ["1-3,5", [2, "4-6"]],
}


def parse_scene_selection(value: Any) -> list[int] | None:
    """``"1-3,5"``, ``[1, "4-6"]`` or ``3`` -> sorted unique scene numbers; None means all.

    Raises ``ValueError`` with the offending item so the API's 422 names it.
    """
    if value is None:
        return None
    items: list[Any]
    if isinstance(value, bool):
        raise ValueError("scenes must be numbers or ranges like '1-3,5', not a boolean")
    if isinstance(value, int | str):
        items = [value]
    elif isinstance(value, list | tuple | set):
        items = list(value)
    else:
        raise ValueError("scenes must be a list of numbers and/or ranges like '1-3,5'")
    numbers: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"scene {item!r} is not a number")
        if isinstance(item, int):
            numbers.add(_check_number(item))
            continue
        if not isinstance(item, str):
            raise ValueError(f"scene {item!r} is not a number or a range like '1-3'")
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if part.isdigit():
                numbers.add(_check_number(int(part)))
                continue
            match = _RANGE_RE.match(part)
            if not match:
                raise ValueError(f"scene selection {part!r} is not a number or a range like '1-3'")
            low, high = int(match.group(1)), int(match.group(2))
            if low > high:
                raise ValueError(f"scene range {part!r} runs backwards; write '{high}-{low}'")
            _check_number(low)
            _check_number(high)
            numbers.update(range(low, high + 1))
    if not numbers:
        raise ValueError("scenes is empty; leave it out to plan every scene")
    return sorted(numbers)


def _check_number(n: int) -> int:
    if n < 1 or n > MAX_SCENE_NUMBER:
        raise ValueError(f"scene number {n} is out of range (1-{MAX_SCENE_NUMBER})")
    return n


def _str_list(value: Any) -> Any:
    """Accept ``"a, b"`` as well as ``["a", "b"]``."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Preferences(BaseModel):
    """Creative taste; other keys (shared with the architect in a chain) are kept and passed on."""

    model_config = ConfigDict(extra="allow")

    style: str | None = Field(None, description="Visual style, e.g. 'naturalistic handheld'.")
    tone: str | None = Field(None, description="Tone, e.g. 'melancholic', 'tense'.")
    visual_references: list[str] = Field(
        default_factory=list, description="Films, photographers or paintings to echo."
    )

    _split = field_validator("visual_references", mode="before")(_str_list)

    def lines(self) -> list[str]:
        """``Key: value`` lines for a prompt, skipping what is empty."""
        out: list[str] = []
        if self.style:
            out.append(f"Style: {self.style}")
        if self.tone:
            out.append(f"Tone: {self.tone}")
        if self.visual_references:
            out.append(f"Visual references: {', '.join(self.visual_references)}")
        for key, value in (self.model_extra or {}).items():
            if value not in (None, "", [], {}):
                label = key.replace("_", " ").capitalize()
                out.append(f"{label}: {value}")
        return out


BudgetLevel = Literal["low", "medium", "high"]


class Constraints(BaseModel):
    """Production limits the plan must respect."""

    model_config = ConfigDict(extra="forbid")

    budget_level: BudgetLevel = Field("medium", description="low, medium or high.")
    shooting_days: int | None = Field(None, ge=1, le=1000, description="Days available to shoot.")
    locations_available: list[str] = Field(
        default_factory=list, description="Locations the production can use; empty means any."
    )
    pages_per_day: float = Field(5.0, gt=0, le=30,
                                 description="Most script pages a shooting day holds.")
    hours_per_day: float = Field(10.0, gt=0, le=20,
                                 description="Camera hours in a shooting day.")

    _split = field_validator("locations_available", mode="before")(_str_list)

    @field_validator("budget_level", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower()
        return value

    def lines(self) -> list[str]:
        out = [f"Budget level: {self.budget_level}"]
        if self.shooting_days:
            out.append(f"Shooting days available: {self.shooting_days}")
        if self.locations_available:
            out.append(f"Locations available: {', '.join(self.locations_available)}")
        return out


class TaskOptions(TaskSampling):
    """One task's sampling in a job's ``config.tasks``."""

    max_tokens: int | None = Field(
        None, ge=256, le=MAX_ANSWER_TOKENS, strict=True, description="room for the answer: "
        "below 256 a scene's breakdown or shot list cannot fit")


class DirectorOptions(TaskOptions):
    """The job ``config`` keys the director's tasks take (core applies them, the most
    specific winning: ``novelcrew.llm.sampling``), checked when the job is submitted (422
    naming the field) instead of failing the job once it runs. Other keys pass: a chain of
    crews shares one config."""

    tasks: dict[str, TaskOptions] = Field(
        default_factory=dict, description="per task (scene_breakdown, shot_list)")

    @field_validator("tasks", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


class DirectorInput(BaseModel):
    """Inputs of the ``director`` crew."""

    model_config = ConfigDict(extra="ignore")

    project_id: str | None = Field(
        None,
        description="The project whose knowledge graph holds the story. Required unless the "
        "job chains the architect crew first.",
    )
    scenes: Annotated[list[int] | None, WithJsonSchema(SCENES_SCHEMA)] = Field(
        None,
        description="Scenes to plan: numbers and/or ranges such as '1-3,5'. Default: all.",
    )
    preferences: Preferences = Field(default_factory=Preferences)
    constraints: Constraints = Field(default_factory=Constraints)
    max_parallel_scenes: int | None = Field(
        None, ge=1, le=1000, description="Scenes planned at the same time (default: twice "
        "the model's concurrency limit, NOVELCREW_MODEL_CONCURRENCY, which bounds the calls)."
    )
    max_attempts: int = Field(
        3, ge=1, le=5,
        description="Attempts per scene before it is reported in failed_scenes (a rejected "
        "answer is retried with the validation error fed back).",
    )
    write_back: bool = Field(True, description="Write shots back to the knowledge graph.")
    language: str | None = Field(
        None, description="The story's language (default: the architect's, else English); "
        "the plan's text is written in it.")
    prompt_budget: float = Field(
        1.5, ge=0.5, le=20,
        description="Most characters all of the director's prompts may total, as a multiple "
        "of the planned scenes' text; when the prompts would exceed it, each scene's text is "
        "trimmed in proportion (opening and ending kept, with a note).")
    scene_text_chars: int = Field(
        20_000, ge=500, le=200_000,
        description="Most characters of a scene's text a prompt carries; longer scenes keep "
        "their opening and ending, with a note.")
    previous: dict[str, Any] = Field(
        default_factory=dict, description="Earlier stages' outputs (filled in by a chain)."
    )

    _project_id = field_validator("project_id", mode="before")(as_project_id)

    @field_validator("scenes", mode="before")
    @classmethod
    def _scenes(cls, value: Any) -> Any:
        return parse_scene_selection(value)

    @field_validator("preferences", "constraints", mode="before")
    @classmethod
    def _none_is_default(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _needs_a_story(self) -> DirectorInput:
        if self.project_id is None and "architect" not in self.previous:
            raise ValueError(
                "project_id is required: the director reads the story from that project's "
                "knowledge graph (or chain it after the architect crew: 'architect,director')"
            )
        return self
