"""The architect crew's boundaries: what it takes, what each chunk yields, what it returns.

``ArchitectInput`` is the job's input; ``ChunkAnalysis`` is what the Story Structure Analyst
answers for one piece of the story; ``StorySynthesis`` is the short overview written from the
merged analysis; ``StoryAnalysis`` is the crew's output, stored on the job and read by the
director crew and Novel Movie. Field descriptions double as the JSON schema shown to models and
to API users (``GET /crews/architect``), so they say what a good value looks like.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    language: str = Field(
        "English", description="Language the analysis is written in (names stay as written)."
    )

    @field_validator("preferences", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


# shared pieces -------------------------------------------------------------------------------
class CharacterRelationship(BaseModel):
    """How one character stands to another."""

    to: str = Field(description="The other character's name, as used in `characters`.")
    kind: str = Field(description="One or two words: sister, rival, employer, lover, ...")
    description: str = Field("", description="One sentence: how the relationship shows.")


class Character(BaseModel):
    """One person (or being) in the story, however many names it goes by."""

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

    name: str = Field(description="Short, reusable name, e.g. 'Harbour Café'.")
    description: str = Field("", description="What it is and looks like.")
    atmosphere: str = Field("", description="Mood of the place: light, sound, feel.")


class KeyObject(BaseModel):
    """An object the story turns on (a letter, a key, a violin)."""

    name: str
    description: str = ""
    significance: str = Field("", description="Why it matters to the plot or a character.")


class Scene(BaseModel):
    """One scene: continuous action in one place and time."""

    number: int = Field(description="Position in story order, starting at 1.")
    summary: str = Field(description="One or two sentences: what happens.")
    location: str = Field("", description="Name of the location, as in `locations`.")
    time_of_day: str = Field("", description="DAY, NIGHT, DAWN, DUSK, ... or empty if unknown.")
    characters: list[str] = Field(
        default_factory=list, description="Names of the characters present, as in `characters`."
    )
    emotional_beat: str = Field("", description="The feeling the scene lands on.")
    purpose: str = Field("", description="What the scene does for the story.")
    dialogue: list[str] = Field(
        default_factory=list, description="Up to three notable lines, quoted exactly."
    )
    objects: list[str] = Field(
        default_factory=list, description="Key objects that appear, as in `objects`."
    )

    _lists = field_validator("characters", "dialogue", "objects", mode="before")(_text_list)


# per chunk -----------------------------------------------------------------------------------
def compact_schema(node: Any) -> Any:
    """A JSON schema without titles and descriptions (the task prompt explains every field).

    crewAI pastes the output schema into every prompt; for the per-chunk model the generated
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
        return compact_schema(super().model_json_schema(*args, **kwargs))  # type: ignore[no-any-return]

    characters: list[Character] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)
    objects: list[KeyObject] = Field(default_factory=list)
    scenes: list[Scene] = Field(
        default_factory=list, description="Scenes of this chunk in order, numbered from 1."
    )
    themes: list[str] = Field(default_factory=list, description="Themes this part touches.")

    _themes = field_validator("themes", mode="before")(_text_list)


class StorySynthesis(BaseModel):
    """The overview written from the merged analysis (never from the story text again)."""

    title: str = Field(description="The story's title.")
    logline: str = Field(description="One sentence: protagonist, goal, obstacle, stakes.")
    genre: str = Field(description="Primary genre, optionally with a sub-genre.")
    tone: str = Field(description="Two or three words for the tone.")
    themes: list[str] = Field(description="Three to six themes, most central first.")

    _themes = field_validator("themes", mode="before")(_text_list)


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
        description="What was written to the knowledge graph: chunks, entities, relationships.",
    )
