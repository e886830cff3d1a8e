"""``/crews``: the crews loaded plugins provide, with their input and output JSON schemas."""

from __future__ import annotations

from fastapi import APIRouter

from novelcrew import introspect
from novelcrew.api.deps import PluginsDep
from novelcrew.api.errors import GUARDED, responses
from novelcrew.api.schemas import CrewDetail, CrewPublic

router = APIRouter(prefix="/crews", tags=["crews"], responses=GUARDED)


@router.get("", response_model=list[CrewPublic], summary="List crews")
async def list_crews(plugins: PluginsDep) -> list[dict]:
    return introspect.crew_list(plugins)


@router.get("/{name}", response_model=CrewDetail, responses=responses(404, 422),
            summary="One crew, with its input and output JSON schemas")
async def get_crew(name: str, plugins: PluginsDep) -> dict:
    return introspect.crew_info(plugins, name, schemas=True)  # CrewNotFound: 404
