"""``/models``: the model providers, by the prefix of a model id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from novelcrew import introspect
from novelcrew.api.deps import PluginsDep
from novelcrew.api.errors import GUARDED
from novelcrew.api.schemas import ModelPublic

router = APIRouter(prefix="/models", tags=["plugins"], responses=GUARDED)


@router.get("", response_model=list[ModelPublic], summary="Registered model providers")
async def list_models(plugins: PluginsDep) -> list[dict[str, Any]]:
    return introspect.model_list(plugins)
