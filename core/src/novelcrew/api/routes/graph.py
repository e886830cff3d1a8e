"""``/projects/{id}/graph``: a project's knowledge graph as nodes and links, for the web UI.

The core holds no graph: it asks the tool registered as ``kg_graph`` (the pathrag plugin's),
built for the project like any job's tool, so another graph plugin can stand in for it. The
graph plugin caps a listing (pathrag: the 300 most-linked entities by default): the answer says
when it was cut and how big the whole graph is, and ``max_entities``/``max_links`` ask for more,
passed to the tool as its own arguments (the tool, not the core, knows its bounds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, ValidationError

from novelcrew.api.deps import (
    BackendDep,
    PluginsDep,
    SettingsDep,
    TenantDep,
    one_value_per_query_parameter,
)
from novelcrew.api.errors import GUARDED, responses
from novelcrew.context import ToolContext
from novelcrew.crewai import env
from novelcrew.errors import BackendUnavailable, InvalidInput, NotFound

GRAPH_TOOL = "kg_graph"

router = APIRouter(prefix="/projects", tags=["graph"], responses=GUARDED)


class GraphEntity(BaseModel):
    name: str
    type: str = ""
    description: str = ""


class GraphRelationship(BaseModel):
    source: str
    target: str
    description: str = ""
    keywords: str = ""
    weight: float | None = None


class GraphPublic(BaseModel):
    project_id: str
    entities: list[GraphEntity] = Field(default_factory=list)
    relationships: list[GraphRelationship] = Field(default_factory=list)
    truncated: bool = Field(
        False, description="True when the graph plugin's caps cut the listing short: "
        "`entities` are then the most linked, and `max_entities` asks for more.")
    total_entities: int | None = Field(
        None, description="Entities in the whole graph, before the caps (null when the graph "
        "plugin does not say).")
    total_relationships: int | None = Field(
        None, description="Relationships in the whole graph, before the caps (null when the "
        "graph plugin does not say).")


def _build(factory: Callable[[ToolContext], Any], ctx: ToolContext) -> Any:
    """The graph tool, built as a job's tools are: crewAI's environment set first (crewAI
    reads it once, at import; the Graph page may be a fresh server's first request), and
    under crewAI's import lock (a job's warm-up may be importing it in another thread)."""
    env.prepare(ctx.settings.data_dir)
    with env.IMPORT_LOCK:
        return factory(ctx)


@router.get("/{project_id}/graph", response_model=GraphPublic,
            responses=responses(404, 422, 503),
            dependencies=[Depends(one_value_per_query_parameter)],
            summary="A project's knowledge graph: entities and their relationships")
async def project_graph(project_id: str, plugins: PluginsDep, settings: SettingsDep,
                        backend: BackendDep, tenant: TenantDep,
                        max_entities: Annotated[int | None, Query(
                            ge=1, description="Entities to list, the most linked first (the "
                            "graph plugin's default when absent; pathrag: 300, at most 5000)."
                        )] = None,
                        max_links: Annotated[int | None, Query(
                            ge=0, description="Relationships to list among them (pathrag: 2000 "
                            "by default, at most 50000).")] = None) -> GraphPublic:
    if tenant is not None and (await backend.list(project_id=project_id, tenant=tenant,
                                                  limit=1))[1] == 0:
        # a tenant sees the graphs of the projects its own jobs worked on
        raise NotFound(f"no job of this API key's tenant names project {project_id!r}",
                       {"project_id": project_id})
    registered = plugins.registry.tools.get(GRAPH_TOOL)
    if registered is None:
        raise NotFound(f"no loaded plugin registers the {GRAPH_TOOL!r} tool (install or "
                          "enable novelcrew-pathrag)", {"tool": GRAPH_TOOL})
    ctx = ToolContext(settings=settings, project_id=project_id)
    caps = {key: value for key, value in (("max_entities", max_entities),
                                          ("max_links", max_links)) if value is not None}
    try:
        # building a tool may import crewAI: off the event loop
        tool = await asyncio.to_thread(_build, registered.spec.factory, ctx)
        data: Any = await tool.acall(**caps)
    except ValidationError as exc:
        # the tool's own bounds on its caps (the core does not know them)
        # (the answer's message names each parameter and its problem: api/errors.py)
        raise InvalidInput("the graph cannot be listed with these caps", {
            "tool": GRAPH_TOOL, "errors": [
                {"loc": ["query", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()]}) from None
    except NotImplementedError as exc:
        raise BackendUnavailable(str(exc) or "this knowledge graph cannot list its contents",
                                 {"tool": GRAPH_TOOL}) from None
    if hasattr(data, "model_dump"):
        data = data.model_dump()
    return GraphPublic(project_id=project_id, entities=data.get("entities", []),
                       relationships=data.get("relationships", []),
                       truncated=bool(data.get("truncated", False)),
                       total_entities=data.get("total_entities"),
                       total_relationships=data.get("total_relationships"))
