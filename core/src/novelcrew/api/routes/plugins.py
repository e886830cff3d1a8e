"""``/plugins``: the same listing as ``novelcrew plugins --json`` (one function feeds both)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from novelcrew import introspect
from novelcrew.api.deps import PluginsDep
from novelcrew.api.errors import GUARDED
from novelcrew.api.schemas import PluginPublic

router = APIRouter(prefix="/plugins", tags=["plugins"], responses=GUARDED)


@router.get("", response_model=list[PluginPublic],
            summary="Installed plugins: hooks, crews, tools, models and load errors")
async def list_plugins(plugins: PluginsDep) -> list[dict[str, Any]]:
    return introspect.plugin_list(plugins)
