"""The architect crew's boundaries: what it takes, what each chunk yields, what it returns.

``ArchitectInput`` is the job's input; ``ChunkAnalysis`` is what the Story Structure Analyst
answers for one piece of the story; ``StorySynthesis`` is the short overview written from the
merged analysis; ``StoryAnalysis`` is the crew's output, stored on the job and read by the
director crew and Novel Movie. ``ChunkScene`` is a scene as a model reports it (with its first
and last words); ``Scene`` is the grounded scene of the result (with its text and span). Field
descriptions double as the JSON schema shown to API users (``GET /crews/architect``), so they
say what a good value looks like.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from novelcrew.llm.sampling import MAX_ANSWER_TOKENS, TaskSampling, whole_number


def _text_list(value: Any) -> Any:
    """Accept a single string where a list of strings is expected (models do this)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if value is None:
        return []
    return value


# input ---------------------------------------------------------------------------------------
class Preferences(BaseModel):
    """Hints from the author or the app; every field is optional and free text."""

    model_config = ConfigDict(extra="allow")

    genre: str | None = Field(None, description="Genre the author has in mind, e.g. 'noir'.")
    tone: str | None = Field(None, description="Intended tone, e.g. 'bittersweet, quiet'.")
    style: str | None = Field(None, description="Visual or narrative style hints.")
    target_audience: str | None = Field(None, description="Who the film is for.")
    notes: str | None = Field(None, description="Anything else the analysts should know.")

    def as_prompt(self) -> str:
        """One line per given hint, for the prompt; 'none given' when empty."""
        items = {k: v for k, v in self.model_dump().items() if v not in (None, "", [], {})}
        if not items:
            return "none given"
        return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in items.items())


class TaskOptions(TaskSampling):
    """One task's sampling in a job's ``config.tasks``."""

    max_tokens: int | None = Field(
        None, ge=256, le=MAX_ANSWER_TOKENS, strict=True,
        description="room for the answer: below 256 a chunk's scene list cannot fit")


class ArchitectConfig(TaskOptions):
    """The job ``config`` keys the architect reads, checked when the job is submitted (422
    naming the field) instead of failing the job once it runs. Other keys pass: a chain of
    crews shares one config."""

    tasks: dict[str, TaskOptions] = Field(
        default_factory=dict, description="per task (analyse_chunk, synthesise_story)")
    chunk_tokens: int | None = Field(
        None, ge=1, strict=True, description="analyse in pieces of at most this many tokens")
    keep_graph_versions: int | None = Field(
        None, ge=0, strict=True, description="earlier analyses kept archived in the graph")

    @field_validator("tasks", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    _whole_counts = field_validator("chunk_tokens", "keep_graph_versions",
                                    mode="before")(whole_number)


class ArchitectInput(BaseModel):
    """What the architect crew takes.

    Give ``story_text``, or a ``project_id`` whose story Novel Movie's Payload holds (when the
    payload plugin is installed and configured).
    """

    story_text: str | None = Field(
        None, description="The story itself, plain text or Markdown; chapter headings help."
    )
    project_id: str | None = Field(
        None, description="Novel Movie project id; its story is read from Payload when "
        "story_text is absent. Also scopes the knowledge graph."
    )
    title: str | None = Field(
        None, description="The story's title; taken from the first line when absent."
    )
    preferences: Preferences = Field(
        default_factory=Preferences, description="Genre, tone and style hints."
    )
    language: str | None = Field(
        None, description="Language the analysis is written in (names stay as written); "
        "default: the language the story is written in."
    )

    @field_validator("preferences", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("story_text")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        """A blank story is refused when the job is submitted (422), not queued to fail."""
        if value is not None and not value.strip():
            raise PydanticCustomError(
                "story_empty", "the story is empty: send its text, or leave story_text "
                "out to read the project's story from Payload")
        return value

    @model_validator(mode="after")
    def _a_story_to_read(self) -> ArchitectInput:
        """Without text and without a project there is nothing to read: 422 at submission.
        (Whether Payload holds the project's story is known only when the job runs.)"""
        if self.story_text is None and not self.project_id:
            raise PydanticCustomError(
                "story_missing", "send story_text, or a project_id whose story Novel "
                "Movie's Payload holds")
        return self


# shared pieces -------------------------------------------------------------------------------
IntExt = Literal["INT", "EXT", "INT/EXT"]
DayNight = Literal["DAY", "NIGHT", "DAWN", "DUSK"]

_INT_EXT = {"INT": "INT", "INTERIOR": "INT", "INSIDE": "INT", "EXT": "EXT", "EXTERIOR": "EXT",
            "OUTSIDE": "EXT", "INT/EXT": "INT/EXT", "EXT/INT": "INT/EXT", "I/E": "INT/EXT"}
_DAY_NIGHT = {"DAY": "DAY", "MORNING": "DAY", "NOON": "DAY", "MIDDAY": "DAY",
              "AFTERNOON": "DAY", "DAYTIME": "DAY", "NIGHT": "NIGHT", "MIDNIGHT": "NIGHT",
              "LATE NIGHT": "NIGHT", "NIGHTTIME": "NIGHT", "DAWN": "DAWN", "SUNRISE": "DAWN",
              "DAYBREAK": "DAWN", "FIRST LIGHT": "DAWN", "DUSK": "DUSK", "EVENING": "DUSK",
              "SUNSET": "DUSK", "TWILIGHT": "DUSK", "SUNDOWN": "DUSK"}


def int_ext_of(value: Any) -> str | None:
    """``INT``/``EXT``/``INT/EXT`` from what a model wrote ("interior", "Ext."), else None."""
    if not isinstance(value, str):
        return None
    key = " ".join(value.upper().replace(".", " ").replace("-", " ").split())
    return _INT_EXT.get(key.replace(" / ", "/").replace(" ", "/") if "/" in key else key)


def day_night_of(value: Any) -> str | None:
    """``DAY``/``NIGHT``/``DAWN``/``DUSK`` from what a model wrote ("morning" is DAY,
    "evening" DUSK), else None."""
    if not isinstance(value, str):
        return None
    return _DAY_NIGHT.get(" ".join(value.upper().replace(".", " ").split()))


def slug(text: str) -> str:
    """A stable id from a name: ``Dr. Maya Okafor`` -> ``dr-maya-okafor``."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:60] or "unnamed"


class CharacterRelationship(BaseModel):
    """How one character stands to another."""

    to: str = Field(description="The other character's name, as used in `characters`.")
    kind: str = Field(description="One or two words: sister, rival, employer, lover, ...")
    description: str = Field("", description="One sentence: how the relationship shows.")


class Character(BaseModel):
    """One person (or being) in the story, however many names it goes by."""

    id: str = Field("", description="Stable slug of the name, e.g. 'maya-okafor'; unique in "
                    "the analysis (set in Python after merging).")
    name: str = Field(description="The fullest name the story uses, e.g. 'Dr. Maya Okafor'.")
    aliases: list[str] = Field(
        default_factory=list, description="Other names, nicknames, titles used for them."
    )
    role: str = Field(
        "supporting", description="protagonist, antagonist, deuteragonist, supporting or minor."
    )
    description: str = Field("", description="Who they are: age, look, job, manner.")
    arc: str = Field("", description="How they change (or refuse to) over the story.")
    relationships: list[CharacterRelationship] = Field(default_factory=list)

    _aliases = field_validator("aliases", mode="before")(_text_list)


class Location(BaseModel):
    """A place where scenes happen."""

    id: str = Field("", description="Stable slug of the name, e.g. 'harbour-cafe'.")
    name: str = Field(description="Short, reusable name, e.g. 'Harbour Café'.")
    aliases: list[str] = Field(default_factory=list,
                               description="Other names the story uses for the place.")
    description: str = Field("", description="What it is and looks like.")
    atmosphere: str = Field("", description="Mood of the place: light, sound, feel.")

    _aliases = field_validator("aliases", mode="before")(_text_list)


class KeyObject(BaseModel):
    """An object the story turns on (a letter, a key, a violin)."""

    name: str
    description: str = ""
    significance: str = Field("", description="Why it matters to the plot or a character.")


class DialogueLine(BaseModel):
    """One spoken line, verbatim from the story, with who says it."""

    speaker: str = Field("", description="The speaker's name as in `characters` (the "
                         "character's name in the result); empty when the text does not say.")
    line: str = Field(description="The words spoken, exactly as written (without the quote "
                      "marks).")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        # models sometimes answer a bare string, or "Name: line"
        if isinstance(value, str):
            speaker, sep, line = value.partition(": ")
            if sep and len(speaker.split()) <= 4 and speaker[:1].isupper():
                return {"speaker": speaker.strip(), "line": line.strip()}
            return {"speaker": "", "line": value}
        return value


def _dialogue_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        return [value]
    return value


class ChunkScene(BaseModel):
    """One scene as the Story Structure Analyst reports it for one part of the story."""

    number: int = Field(description="Position within this part, starting at 1.")
    opening: str = Field("", description="The scene's first 6-10 words, copied exactly.")
    closing: str = Field("", description="The scene's last 6-10 words, copied exactly.")
    continues_previous: bool = Field(
        False, description="True when the scene began before this part (in the previous "
        "context) and carries on here without a change of place or time.")
    summary: str = Field(description="One or two sentences: what happens.")
    location: str = Field("", description="Name of the location, as in `locations`.")
    int_ext: IntExt | None = Field(None, description="INT, EXT or INT/EXT.")
    day_night: DayNight | None = Field(None, description="DAY, NIGHT, DAWN or DUSK.")
    new_day: bool = Field(False, description="True when the scene happens on a later day "
                          "than the scene before it.")
    characters: list[str] = Field(default_factory=list)
    emotional_beat: str = ""
    purpose: str = ""
    dialogue: list[DialogueLine] = Field(default_factory=list)
    objects: list[str] = Field(default_factory=list)

    _lists = field_validator("characters", "objects", mode="before")(_text_list)
    _dialogue = field_validator("dialogue", mode="before")(_dialogue_list)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        # "Interior", "ext.", "morning", "evening": mapped to the enums (unknown words: null);
        # ``time_of_day`` (the earlier schema) still means day/night
        if isinstance(value, dict):
            when = value.get("day_night") or value.get("time_of_day")
            value = {**value, "int_ext": int_ext_of(value.get("int_ext")),
                     "day_night": day_night_of(when)}
        return value


class Span(BaseModel):
    """Where a scene's text lies in the story: ``story[start:end]`` (character offsets into
    the story as analysed: Unix newlines, trailing spaces and extra blank lines removed)."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Scene(BaseModel):
    """One scene: continuous action in one place and time, with its own text."""

    id: str = Field("", description="Stable id in story order: s001, s002, ...")
    number: int = Field(description="Position in story order, starting at 1.")
    text: str = Field("", description="The scene's exact source text (story[span.start:"
                      "span.end]).")
    span: Span = Field(default_factory=lambda: Span(start=0, end=0),
                       description="Character offsets of the scene's text in the story.")
    summary: str = Field(description="One or two sentences: what happens.")
    location: str = Field("", description="Name of the location, as in `locations`.")
    location_id: str | None = Field(None, description="The location's id.")
    int_ext: IntExt | None = Field(None, description="INT, EXT or INT/EXT; null if unknown.")
    day_night: DayNight | None = Field(None, description="DAY, NIGHT, DAWN or DUSK; null if "
                                       "the text does not say.")
    story_day: int = Field(1, ge=1, description="Day of the story the scene happens on: 1, "
                           "2, ... (counted from the scenes' 'later day' marks).")
    time_of_day: str = Field("", description="Same as day_night ('' if unknown); kept for "
                             "older readers.")
    characters: list[str] = Field(
        default_factory=list, description="Names of the characters present, as in `characters`."
    )
    character_ids: list[str] = Field(default_factory=list,
                                     description="Ids of the characters present.")
    emotional_beat: str = Field("", description="The feeling the scene lands on.")
    purpose: str = Field("", description="What the scene does for the story.")
    dialogue: list[DialogueLine] = Field(
        default_factory=list, description="Every line spoken in the scene, in order, verbatim, "
        "with its speaker."
    )
    objects: list[str] = Field(
        default_factory=list, description="Key objects that appear, as in `objects`."
    )
    located: bool = Field(True, description="False when the model's opening words were not "
                          "found in the text and the span was inferred from its neighbours.")

    _lists = field_validator("characters", "objects", mode="before")(_text_list)
    _dialogue = field_validator("dialogue", mode="before")(_dialogue_list)


# per chunk -----------------------------------------------------------------------------------
def compact_schema(node: Any) -> Any:
    """A JSON schema without titles and descriptions (the task prompt explains every field).

    Every task states its output schema in the prompt; for the per-chunk model the generated
    titles and descriptions would cost about a thousand tokens a chunk and say nothing the
    task text does not.
    """
    if isinstance(node, list):
        return [compact_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "description") and not isinstance(value, dict):
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: compact_schema(sub) for name, sub in value.items()}
        else:
            out[key] = compact_schema(value)
    return out


class ChunkAnalysis(BaseModel):
    """What the Story Structure Analyst answers for one chunk of the story."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema: dict[str, Any] = compact_schema(super().model_json_schema(*args, **kwargs))
        for name in ("Character", "Location"):  # ids are given in Python, after merging
            schema.get("$defs", {}).get(name, {}).get("properties", {}).pop("id", None)
        return schema

    characters: list[Character] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)
    objects: list[KeyObject] = Field(default_factory=list)
    scenes: list[ChunkScene] = Field(
        default_factory=list, description="Scenes of this chunk in order, numbered from 1."
    )
    themes: list[str] = Field(default_factory=list, description="Themes this part touches.")
    story_language: str = Field("", description="The language the story text is written in.")

    _themes = field_validator("themes", mode="before")(_text_list)


class SameAs(BaseModel):
    """Two names in the merged lists that mean one character (or one place)."""

    name: str
    same_as: str


class StorySynthesis(BaseModel):
    """The overview written from the merged analysis (never from the story text again)."""

    title: str = Field(description="The story's title.")
    logline: str = Field(description="One sentence: protagonist, goal, obstacle, stakes.")
    genre: str = Field(description="Primary genre, optionally with a sub-genre.")
    tone: str = Field(description="Two or three words for the tone.")
    themes: list[str] = Field(description="Three to six themes, most central first.")
    protagonist: str = Field("", description="The one main character's name, as listed; '' "
                             "when the story is an ensemble.")
    ensemble: bool = Field(False, description="True only when several characters share the "
                           "lead equally.")
    same_as: list[SameAs] = Field(default_factory=list, description="Listed names that mean "
                                  "the same character or place.")

    _themes = field_validator("themes", mode="before")(_text_list)

    @field_validator("same_as", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if value is None:
            return []
        out = []
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                item = {"name": item[0], "same_as": item[1]}
            out.append(item)
        return out


# output --------------------------------------------------------------------------------------
class AnalysisStatistics(BaseModel):
    """How much work the analysis took."""

    words: int = Field(description="Words in the story.")
    characters_in_text: int = Field(description="Characters (letters, spaces) in the story.")
    chunks: int = Field(description="Pieces the story was split into for analysis.")
    model_calls: int = Field(description="Model calls made by this crew.")
    prompt_tokens_estimate: int = Field(
        description="Estimated tokens of every prompt sent (about four characters a token)."
    )
    story_tokens_estimate: int = Field(description="Estimated tokens of the story itself.")
    retries: int = Field(0, description="Chunk analyses repeated after a malformed answer.")


class ModelInfo(BaseModel):
    """Which model(s) produced the analysis, and what that means for trusting it."""

    ids: list[str] = Field(description="Model ids that answered, e.g. 'offline'.")
    offline: bool = Field(description="True when the deterministic offline stand-in was used.")
    note: str = Field("", description="Caveat to show next to the analysis.")


class StoryAnalysis(BaseModel):
    """The architect crew's output: the story's structure, ready for planning a film."""

    title: str
    language: str = Field("English", description="Language the analysis is written in (the "
                          "director writes its plan in it too): the job's, else the story's.")
    story_language: str = Field("", description="The language the story is written in, as "
                                "the analysts reported it ('' when they did not say).")
    version: int = Field(1, ge=1, description="This project's analysis version: each analysis "
                         "replaces the previous one in the knowledge graph.")
    logline: str = ""
    genre: str = ""
    tone: str = ""
    themes: list[str] = Field(default_factory=list)
    characters: list[Character] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)
    objects: list[KeyObject] = Field(default_factory=list, description="Key objects.")
    scenes: list[Scene] = Field(default_factory=list, description="All scenes in story order.")
    statistics: AnalysisStatistics
    model: ModelInfo
    graph: dict[str, int] = Field(
        default_factory=dict,
        description="What was written to the knowledge graph: chunks, entities, relationships "
        "(and queued_writes: writes waiting in the graph's outbox while its service is away; "
        "empty when the graph could not be written, which a warning event explains).",
    )
