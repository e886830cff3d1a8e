"""What the storyboard crew takes, and its settings (env prefix ``NOVELCREW_STORYBOARD_``).

In a chain (``architect,director,storyboard``) the analysis and the plan arrive in
``previous``. Alone, pass an earlier job's result as ``previous`` (``{"architect": ...,
"director": ...}``), or just a ``project_id`` whose knowledge graph holds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from novelcrew.jobs import as_project_id
from novelcrew.settings import PluginSettings

ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:2", "2:1", "2.39:1", "1.85:1", "21:9")


class StoryboardSettings(PluginSettings):
    """Operator defaults (``NOVELCREW_STORYBOARD_*`` or ``[plugin_config.storyboard]`` in
    novelcrew.toml); a job's inputs win over them."""

    plugin: ClassVar[str] = "storyboard"
    model_config = PluginSettings.config_for("storyboard")

    #: at least a second: no video model makes a shorter clip, and 0.01 s split one demo's
    #: 270 s into 27,010 clips (an 18 MB job record) without a word
    clip_seconds: float = Field(5.0, ge=1, le=120,
                                description="The video generator's longest clip, in seconds.")
    aspect_ratio: str = "16:9"
    #: units boarded at once (none: twice the model's concurrency limit, which bounds the calls)
    max_parallel: int | None = Field(None, ge=1, le=1000)
    #: a folder holding an edited ``agents.yaml`` and/or ``tasks.yaml``
    config_dir: Path | None = None

    @field_validator("aspect_ratio")
    @classmethod
    def _aspect(cls, value: str) -> str:
        return check_aspect(value)


def check_aspect(value: str) -> str:
    if value not in ASPECT_RATIOS:
        raise ValueError(f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}")
    return value


class StyleHints(BaseModel):
    """Style wishes; any given here win over Payload's project fields and the model."""

    model_config = ConfigDict(extra="ignore")

    genre: str | None = None
    tone: str | None = None
    mood: str | None = None
    style: str | None = None
    era: str | None = None
    palette: list[str] | None = None
    lighting_style: str | None = None
    film_look: str | None = None

    @field_validator("palette", mode="before")
    @classmethod
    def _palette(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class StoryboardInput(BaseModel):
    """Inputs of the ``storyboard`` crew."""

    model_config = ConfigDict(extra="ignore")

    project_id: str | None = Field(
        None, description="The project: scopes the knowledge graph and Payload. Required "
        "unless the analysis and the plan are given in `previous`.")
    clip_seconds: float | None = Field(
        None, ge=1, le=120, description="Longest generator clip in seconds, 1 to 120 (default "
        "5, or NOVELCREW_STORYBOARD_CLIP_SECONDS); longer shots are split into continuous "
        "clips.")
    aspect_ratio: str | None = Field(
        None, description="Frame aspect ratio, e.g. '16:9' (default from the settings).")
    style: StyleHints = Field(default_factory=StyleHints)
    max_parallel: int | None = Field(
        None, ge=1, le=1000, description="Model calls running at the same time (default: "
        "twice the model's concurrency limit, NOVELCREW_MODEL_CONCURRENCY, which bounds them).")
    write_back: bool = Field(True, description="Write the bible and shots to the graph.")
    previous: dict[str, Any] = Field(
        default_factory=dict, description="Earlier stages' outputs (a chain fills it in), or "
        "an earlier job's result: {'architect': ..., 'director': ...}.")

    _project_id = field_validator("project_id", mode="before")(as_project_id)

    @field_validator("aspect_ratio")
    @classmethod
    def _aspect(cls, value: str | None) -> str | None:
        return None if value is None else check_aspect(value)

    @field_validator("style", "previous", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _needs_a_plan(self) -> StoryboardInput:
        if self.project_id is None and "director" not in self.previous:
            raise ValueError(
                "project_id is required: the storyboard reads the plan from that project's "
                "knowledge graph (or chain it after the director: "
                "'architect,director,storyboard', or pass an earlier job's result as "
                "previous)")
        return self
