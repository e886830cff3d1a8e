"""Entry point of the pathrag plugin: the knowledge graph tools (no crewAI import here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from novelcrew.hookspecs import hookimpl
from novelcrew.specs import Health, Tool
from novelcrew_pathrag.settings import PathragSettings

__all__ = ["PathragSettings", "register_tools"]

if TYPE_CHECKING:
    from novelcrew.context import ToolContext
    from novelcrew.settings import Settings

DESCRIPTIONS = {
    "kg_insert_custom_kg": "Insert chunks, entities and relationships (upstream PathRAG field "
    "names) into the project's knowledge graph; re-inserts merge.",
    "kg_insert_documents": "Index plain documents in the project's knowledge graph.",
    "kg_query": "Query the project's knowledge graph: entities, relationships, relational "
    "paths and source chunks, ranked, within a token budget.",
    "kg_delete_entity": "Delete an entity (and its relationships) from the project's graph.",
    "kg_graph": "List the project's graph (entities and relationships, capped) for people: "
    "the web UI's graph view reads it.",
    "kg_new_version": "Start a new analysis version of the project's graph: the current "
    "content is archived or deleted, so a new analysis replaces it and queries see only it.",
}


def build_tool(name: str, ctx: ToolContext) -> Any:
    """A crewAI tool ``name`` bound to the backend from settings and the job's project."""
    from novelcrew_pathrag.backends.base import backend_for
    from novelcrew_pathrag.scope import scope_for
    from novelcrew_pathrag.tools import build

    return build(name, backend_for(ctx.settings), scope_for(ctx.project_id))


async def health(settings: Settings) -> Health:
    """The backend in use (embedded path or remote URL) and whether it answers."""
    from novelcrew_pathrag.backends.base import backend_for

    try:
        backend = backend_for(settings)
    except Exception as exc:  # a health check reports; it never raises
        return Health(status="down", detail=f"knowledge graph: {exc}")
    return await backend.health()


def _factory(name: str) -> Any:
    return lambda ctx: build_tool(name, ctx)


@hookimpl
def register_tools(register: Any) -> None:
    for name, description in DESCRIPTIONS.items():
        register(Tool(
            name=name, description=description, factory=_factory(name),
            health=health if name == "kg_query" else None,
        ))
