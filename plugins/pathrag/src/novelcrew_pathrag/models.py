"""The knowledge graph's data at every boundary: tool arguments, backend calls, results.

Input field names are the upstream PathRAG ones (``entity_name``, ``src_id``, ``source_id``...)
so a custom KG built for the Novel Movie service passes through unchanged; results use the
short names fixed in docs/architecture.md (``name``, ``src``, ``tgt``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The token budget is counted as characters / CHARS_PER_TOKEN (no tokenizer dependency).
CHARS_PER_TOKEN = 4


class Chunk(BaseModel):
    """A piece of source text; entities cite it through ``source_id``."""

    model_config = ConfigDict(extra="ignore")

    content: str
    source_id: str = ""


class Entity(BaseModel):
    """A node: a character, location, object, scene, theme or shot (or any other type)."""

    model_config = ConfigDict(extra="ignore")

    entity_name: str = Field(min_length=1)
    entity_type: str = "unknown"
    description: str = ""
    source_id: str = ""

    @field_validator("entity_name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("entity_name must not be blank")
        return value

    @field_validator("entity_type")
    @classmethod
    def _lower_type(cls, value: str) -> str:
        return value.strip().lower() or "unknown"


class Relationship(BaseModel):
    """A directed edge ``src_id -> tgt_id``; path search treats it as undirected."""

    model_config = ConfigDict(extra="ignore")

    src_id: str = Field(min_length=1)
    tgt_id: str = Field(min_length=1)
    description: str = ""
    keywords: str = ""
    weight: float = 1.0
    source_id: str = ""

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> Any:
        if isinstance(value, list | tuple | set):
            return ", ".join(str(item).strip() for item in value if str(item).strip())
        return "" if value is None else value

    @field_validator("src_id", "tgt_id")
    @classmethod
    def _strip_ids(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("relationship endpoints must not be blank")
        return value


class CustomKG(BaseModel):
    """A whole graph fragment, as ``/insert_custom_kg`` takes it."""

    model_config = ConfigDict(extra="ignore")

    chunks: list[Chunk] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    relationships: list[Relationship] = Field(default_factory=list)


class InsertCounts(BaseModel):
    """How much an insert carried (what was sent, merged or new)."""

    documents: int = 0
    chunks: int = 0
    entities: int = 0
    relationships: int = 0
    #: the service was unavailable: the write waits in the outbox, to be replayed
    queued: bool = False


class QueryRequest(BaseModel):
    """A retrieval request against one project's graph."""

    query: str = Field(min_length=1)
    top_k: int = Field(20, ge=1, le=200)
    max_tokens: int = Field(4000, ge=50, le=100_000)
    entity_types: list[str] | None = None

    @field_validator("entity_types")
    @classmethod
    def _lower_types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [item.strip().lower() for item in value if item.strip()]
        return cleaned or None


class EntityHit(BaseModel):
    name: str
    type: str
    description: str
    score: float


class RelationshipHit(BaseModel):
    src: str
    tgt: str
    description: str
    keywords: str
    weight: float


class ChunkHit(BaseModel):
    content: str
    source_id: str


class QueryResult(BaseModel):
    """Ranked retrieval within the token budget, structured and as one ``context`` string."""

    entities: list[EntityHit] = Field(default_factory=list)
    relationships: list[RelationshipHit] = Field(default_factory=list)
    paths: list[list[str]] = Field(default_factory=list)
    chunks: list[ChunkHit] = Field(default_factory=list)
    context: str = ""


class DeleteResult(BaseModel):
    deleted: bool
    queued: bool = False


class GraphVersion(BaseModel):
    """A new analysis version of a project's graph: the previous one archived or removed."""

    version: int = Field(description="The version now being written (1, 2, ...).")
    replaced: bool = Field(True, description="False when the backend cannot replace a "
                           "project's graph (upstream PathRAG): the new analysis is merged "
                           "into the old one.")
    archived: list[int] = Field(default_factory=list, description="Versions archived now.")
    removed: list[int] = Field(default_factory=list, description="Versions deleted now.")
    queued: bool = Field(False, description="The service was unavailable: the new version "
                         "waits in the outbox (version 0: not known yet).")
    note: str = ""


class GraphEntity(BaseModel):
    name: str
    type: str = ""
    description: str = ""


class GraphLink(BaseModel):
    source: str = Field(description="The source entity's name.")
    target: str = Field(description="The target entity's name.")
    description: str = ""
    keywords: str = ""
    weight: float = 1.0


class GraphListing(BaseModel):
    """A project's whole graph (capped), for people to look at: the web UI draws it."""

    entities: list[GraphEntity] = Field(default_factory=list)
    relationships: list[GraphLink] = Field(default_factory=list)
    truncated: bool = Field(False, description="True when the caps cut the listing short.")
    total_entities: int | None = Field(
        None, description="Entities in the whole graph, before the caps (None: not known).")
    total_relationships: int | None = Field(
        None, description="Relationships in the whole graph, before the caps (None: not known).")
