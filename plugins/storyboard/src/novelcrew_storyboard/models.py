"""The storyboard's output: a visual bible with stable ids, and generation-ready shots.

Everything a media generator needs is here and nothing it would have to guess: every character
and location has one fixed ``phrase`` that is pasted verbatim into every prompt it appears in,
each shot says who is in frame by bible id, and a shot longer than the generator's clip length
is split into continuous clips that share its image prompt and seed.

``offline`` and ``ready_for_media_generation`` are explicit so a workflow observer (Novel
Movie's ``media-generation`` step) never has to infer them: material made by the offline
stand-in is never ready.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from novelcrew.warnings import check_messages, kinds_of


class Trait(BaseModel):
    """One visual attribute, flagged as stated by the story or inferred."""

    model_config = ConfigDict(extra="ignore")

    value: str = Field("", description="A short noun phrase, e.g. 'grey-streaked dark hair'.")
    stated: bool = Field(
        False, description="True only when the story's own words say it (see `evidence`).")
    evidence: str = Field(
        "", description="The story's words that state it; empty for an inferred trait.")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, str | int | float):
            return {"value": str(data)}
        return data


class CharacterLook(BaseModel):
    """A character as every image of them must show them."""

    id: str = Field(description="Stable id (the architect's character id, a slug).")
    name: str
    role: str = ""
    gender: Trait = Field(
        default_factory=Trait,
        description="How they present on screen ('woman', 'boy', ...): a name tells an image "
        "model nothing of it. Empty from the offline stand-in.")
    age_range: Trait = Field(default_factory=Trait)
    build: Trait = Field(default_factory=Trait)
    skin: Trait = Field(default_factory=Trait)
    hair: Trait = Field(default_factory=Trait)
    eyes: Trait = Field(default_factory=Trait)
    distinguishing_features: list[Trait] = Field(default_factory=list)
    wardrobe: dict[str, str] = Field(
        default_factory=dict,
        description="Outfit per story day ('1', '2', ...) and a 'default' outfit.")
    voice: Trait = Field(default_factory=Trait, description="For voice casting and TTS.")
    phrase: str = Field(description="The fixed wording used for this character in every prompt.")
    reference_prompt: str = Field(description="Prompt for a character reference sheet.")

    def outfit(self, story_day: str | None) -> str:
        """The outfit for ``story_day``, else the default one."""
        if story_day and self.wardrobe.get(story_day):
            return self.wardrobe[story_day]
        return self.wardrobe.get("default", "")


class LocationLook(BaseModel):
    """A location as every image of it must show it."""

    id: str = Field(description="Stable id (the architect's location id, a slug).")
    name: str
    look: str = Field("", description="What the place looks like: architecture, materials.")
    atmosphere: str = ""
    time_of_day: dict[str, str] = Field(
        default_factory=dict, description="Look per DAY / NIGHT / DAWN / DUSK it appears at.")
    set_pieces: list[str] = Field(default_factory=list, description="Key set pieces.")
    phrase: str = Field(description="The fixed wording used for this location in every prompt.")
    reference_prompt: str = ""


class StyleGuide(BaseModel):
    """The project's look; its fragments end every prompt."""

    aspect_ratio: str = "16:9"
    era: str = ""
    genre: str = ""
    tone: str = ""
    mood: str = ""
    style: str = ""
    style_description: str = Field(
        "", description="What the project's movie style looks like (Payload's `movieStyle`), "
        "when the style is the project's.")
    palette: list[str] = Field(default_factory=list)
    lighting_style: str = ""
    film_look: str = Field("", description="Lens and film look, e.g. 'anamorphic, 35mm grain'.")
    fragments: list[str] = Field(
        default_factory=list, description="Reference prompt fragments appended to every prompt.")
    negative: list[str] = Field(default_factory=list,
                                description="Terms every negative prompt has.")
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Where each field came from: payload, inputs, plan, model or default.")


class VisualBible(BaseModel):
    """Characters, locations and the style guide, each with a stable id."""

    characters: list[CharacterLook] = Field(default_factory=list)
    locations: list[LocationLook] = Field(default_factory=list)
    style: StyleGuide = Field(default_factory=StyleGuide)

    def character(self, cid: str) -> CharacterLook | None:
        return next((c for c in self.characters if c.id == cid), None)

    def location(self, lid: str | None) -> LocationLook | None:
        return next((loc for loc in self.locations if loc.id == lid), None)


class Clip(BaseModel):
    """One image-to-video generation of a shot, at most ``clip_seconds`` long.

    Consecutive clips join by ``continues_from``; their prompts hold only what to show.
    """

    index: int = Field(ge=1, description="1-based position of the clip in its shot.")
    start_seconds: float = Field(ge=0, description="Where the clip starts within its shot.")
    duration_seconds: float = Field(gt=0, description="Length to generate (or trim to).")
    image_prompt: str = Field(description="The shot's image prompt (the first clip's frame).")
    motion_prompt: str = Field(description="The shot's motion prompt.")
    seed_hint: int = Field(description="The shot's seed, shared by all its clips.")
    continues_from: int | None = Field(
        None, ge=1,
        description="The index of the clip whose last frame is this clip's start frame; "
        "null for a shot's first clip, which starts from an image made from `image_prompt`.")


#: what a storyboard warning is about (``StoryboardWarning.kind``); the package README lists
#: them. Shot-level kinds are flagged on the shots they concern (``StoryboardShot.warning_kinds``)
WarningKind = Literal[
    "not_in_frame",       # a person the shot's words name is not among its subjects
    "time_of_day_clash",  # the shot's words or light paint another time than its scene's
    "no_usable_answer",   # a model answer was unusable twice: the plan's own words are used
    "graph_read_failed",  # the knowledge graph could not be read
    "graph_write_failed",  # the storyboard could not be written to the knowledge graph
    "payload_read_failed",  # the Payload project (style defaults) could not be read
]
WARNING_KINDS: tuple[str, ...] = get_args(WarningKind)


class StoryboardWarning(BaseModel):
    """One "check before generating" note as data, so the media step can skip or flag exactly
    the shots it concerns without reading English. ``message`` is the same text as the
    storyboard's ``warnings`` entry at the same position."""

    kind: WarningKind = Field(description="What the warning is about: not_in_frame, "
                              "time_of_day_clash, no_usable_answer, graph_read_failed, "
                              "graph_write_failed or payload_read_failed.")
    scene: int | None = Field(
        None, description="The scene number it concerns; null when it is not one scene's "
        "(a look used in several scenes, the style guide, a graph or Payload outage).")
    shots: list[int] = Field(
        default_factory=list, description="Shot numbers within `scene` (`shots[].number`).")
    shot_ids: list[str] = Field(
        default_factory=list, description="Every shot it concerns, by stable id "
        "(`scenes[].shots[].id`), in any scene: each of them lists `kind` in its "
        "`warning_kinds`.")
    characters: list[str] = Field(
        default_factory=list, description="Character ids it concerns (the analysis's ids): "
        "the person named but not in frame (who may be in no frame at all, so not in the "
        "bible), or those whose look fell back to the plan's words.")
    locations: list[str] = Field(
        default_factory=list,
        description="Location ids whose look fell back to the plan's words.")
    message: str = Field(description="The warning in words, as in `warnings`.")


class StoryboardShot(BaseModel):
    """One shot, ready for an image and a video model."""

    id: str = Field(description="Stable id: the scene id and the shot number, e.g. 's001-sh02'.")
    scene_id: str
    scene_number: int
    number: int
    size: str = Field("", description="EWS, WS, MWS, MS, MCU, CU, ECU or INSERT.")
    angle: str = Field("", description="eye level, high, low, overhead, dutch, POV or "
                       "ground level (a plan's own word is kept).")
    movement: str = Field("", description="static, pan, tilt, push in, pull out, track, "
                          "crane, handheld, zoom or arc (a plan's own word is kept).")
    support: str = Field("", description="What carries the camera: sticks, dolly, slider, "
                         "crane, steadicam, handheld or drone.")
    lens_mm: float | None = Field(None, description="Focal length, full-frame equivalent.")
    coverage: str = Field("", description="master, single, two-shot, over-the-shoulder, "
                          "insert or cutaway.")
    subjects: list[str] = Field(
        default_factory=list,
        description="Character ids in frame (`bible.characters[].id`): the reference images "
        "to attach. The first is the one the shot is on.")
    location_id: str | None = Field(
        None, description="The setting's id (`bible.locations[].id`), for its reference image.")
    day_night: str = Field("", description="DAY, NIGHT, DAWN or DUSK: the scene's time.")
    story_day: str | None = Field(None, description="The story day; picks the wardrobe.")
    action: str = Field("", description="What happens in the shot (the model's words).")
    composition: str = Field("", description="How it is framed (the model's words).")
    image_prompt: str = Field(
        description="For a text-to-image model: the shot's frame, whole on its own (who, "
        "doing what, where, when, light, lens, style).")
    motion_prompt: str = Field(
        description="For an image-to-video model given that frame: the camera move and the "
        "action.")
    negative_prompt: str = Field(description="Comma-separated terms to keep out of the frame.")
    duration_seconds: float = Field(gt=0, description="The shot's planned length on screen.")
    aspect_ratio: str = Field(description="Frame aspect ratio, e.g. '16:9'.")
    seed_hint: int = Field(description="A stable seed: the same on every re-run of the shot.")
    clips: list[Clip] = Field(
        min_length=1, description="The generations that make the shot, in order; their "
        "durations add up to the shot's.")
    warning_kinds: list[WarningKind] = Field(
        default_factory=list,
        description="The kinds of the storyboard's `warning_details` that concern this shot "
        "(its id is in their `shot_ids`): check these before generating it; empty when none.")

    @model_validator(mode="after")
    def _clips_cover_the_shot(self) -> StoryboardShot:
        total = sum(clip.duration_seconds for clip in self.clips)
        if abs(total - self.duration_seconds) > 0.05:
            raise ValueError(f"shot {self.id}: clips last {total}s, the shot "
                             f"{self.duration_seconds}s")
        return self


class StoryboardScene(BaseModel):
    id: str
    number: int
    heading: str = ""
    location_id: str | None = None
    day_night: str = ""
    story_day: str | None = None
    duration_seconds: float = Field(
        0.0, ge=0, description="The scene's length on screen: the sum of its shots' lengths.")
    shots: list[StoryboardShot] = Field(default_factory=list)


class ModelInfo(BaseModel):
    """Which model wrote which part; the offline stand-in says so."""

    models: dict[str, str] = Field(default_factory=dict, description="agent role -> model id")
    offline: bool = Field(False, description="True when a role of this crew ran on the offline "
                          "stand-in (the storyboard's own `offline` also counts its plan's).")
    note: str | None = None


class Totals(BaseModel):
    scenes: int = 0
    shots: int = 0
    clips: int = 0
    seconds: float = 0.0


class Storyboard(BaseModel):
    """The storyboard crew's output (``result["storyboard"]``)."""

    project_id: str | None = None
    title: str | None = None
    language: str = "English"
    bible: VisualBible = Field(default_factory=VisualBible)
    scenes: list[StoryboardScene] = Field(default_factory=list)
    clip_seconds: float = Field(5.0, gt=0)
    totals: Totals = Field(default_factory=Totals)
    offline: bool = Field(
        False, description="True when any part was made by the offline stand-in model.")
    ready_for_media_generation: bool = Field(
        False, description="True only when shots exist and no part came from the offline "
        "stand-in: the one flag Novel Movie's media-generation step should check.")
    note: str | None = None
    sources: dict[str, str] = Field(
        default_factory=dict, description="Where the analysis and the plan were read from.")
    graph: dict[str, int] = Field(default_factory=dict, description="What the graph received.")
    warnings: list[str] = Field(
        default_factory=list,
        description="Notes to check before generating, in words (advisory: they do not make "
        "the storyboard unready).")
    warning_details: list[StoryboardWarning] = Field(
        default_factory=list,
        description="The same warnings as data, one per `warnings` entry in the same order: "
        "kind, scene, shots, characters, locations. Empty in a result made before it existed.")
    model: ModelInfo = Field(default_factory=ModelInfo)

    @field_validator("project_id", mode="before")
    @classmethod
    def _project_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _flags_agree(self) -> Storyboard:
        shots = [shot for scene in self.scenes for shot in scene.shots]
        expected = bool(shots) and not self.offline
        if self.ready_for_media_generation != expected:
            raise ValueError("ready_for_media_generation must be true exactly when shots exist "
                             "and the storyboard is not offline")
        if self.totals.shots != len(shots):
            raise ValueError(f"totals say {self.totals.shots} shots, the scenes hold {len(shots)}")
        check_messages(self.warnings, self.warning_details)
        for shot in shots:
            kinds = kinds_of(w for w in self.warning_details if shot.id in w.shot_ids)
            if shot.warning_kinds != kinds:
                raise ValueError(f"shot {shot.id}: warning_kinds {shot.warning_kinds} are not "
                                 f"the kinds of the warnings that list it ({kinds})")
        return self
