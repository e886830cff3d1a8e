"""``/tools``: tools by name, with the plugin that provides each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from novelcrew import introspect
from novelcrew.api.deps import PluginsDep
from novelcrew.api.errors import GUARDED
from novelcrew.api.schemas import ToolPublic

router = APIRouter(prefix="/tools", tags=["plugins"], responses=GUARDED)


@router.get("", response_model=list[ToolPublic], summary="Registered tools")
async def list_tools(plugins: PluginsDep) -> list[dict[str, Any]]:
    return introspect.tool_list(plugins)
