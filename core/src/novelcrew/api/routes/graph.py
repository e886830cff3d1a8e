"""``/projects/{id}/graph``: a project's knowledge graph as nodes and links, for the web UI.

The core holds no graph: it asks the tool registered as ``kg_graph`` (the pathrag plugin's),
built for the project like any job's tool, so another graph plugin can stand in for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from novelcrew.api.deps import BackendDep, PluginsDep, SettingsDep, TenantDep
from novelcrew.api.errors import GUARDED, responses
from novelcrew.context import ToolContext
from novelcrew.errors import BackendUnavailable, NotFound

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


@router.get("/{project_id}/graph", response_model=GraphPublic,
            responses=responses(404, 422, 503),
            summary="A project's knowledge graph: entities and their relationships")
async def project_graph(project_id: str, plugins: PluginsDep, settings: SettingsDep,
                        backend: BackendDep, tenant: TenantDep) -> GraphPublic:
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
    try:
        # building a tool may import crewAI: off the event loop
        tool = await asyncio.to_thread(registered.spec.factory, ctx)
        data: Any = await tool.acall()
    except NotImplementedError as exc:
        raise BackendUnavailable(str(exc) or "this knowledge graph cannot list its contents",
                                 {"tool": GRAPH_TOOL}) from None
    if hasattr(data, "model_dump"):
        data = data.model_dump()
    return GraphPublic(project_id=project_id, entities=data.get("entities", []),
                       relationships=data.get("relationships", []))
