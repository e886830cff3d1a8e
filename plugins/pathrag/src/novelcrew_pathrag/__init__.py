"""novelcrew's knowledge graph plugin: PathRAG-style story graphs, embedded or remote.

The public face is small: the data models, the backend choice, and the errors. Tools reach
crews through the registry by name (``kg_query``...), never by import.
"""

from novelcrew_pathrag.backends.base import GraphBackend, backend_for, reset_backends
from novelcrew_pathrag.errors import GraphRequestError, GraphUnavailable
from novelcrew_pathrag.models import (
    Chunk,
    ChunkHit,
    CustomKG,
    DeleteResult,
    Entity,
    EntityHit,
    InsertCounts,
    QueryRequest,
    QueryResult,
    Relationship,
    RelationshipHit,
)
from novelcrew_pathrag.scope import DEFAULT_SCOPE, scope_for

__all__ = [
    "DEFAULT_SCOPE",
    "Chunk",
    "ChunkHit",
    "CustomKG",
    "DeleteResult",
    "Entity",
    "EntityHit",
    "GraphBackend",
    "GraphRequestError",
    "GraphUnavailable",
    "InsertCounts",
    "QueryRequest",
    "QueryResult",
    "Relationship",
    "RelationshipHit",
    "backend_for",
    "reset_backends",
    "scope_for",
]
