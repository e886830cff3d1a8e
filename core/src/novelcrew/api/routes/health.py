"""``/health``: liveness plus each dependency; 503 when a required one is down. Needs no key."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from novelcrew.api.deps import BackendDep, PluginsDep, SettingsDep
from novelcrew.api.errors import PUBLIC
from novelcrew.api.schemas import HealthPublic
from novelcrew.specs import Health

router = APIRouter(prefix="/health", tags=["operations"], responses=PUBLIC)

CHECK_TIMEOUT = 5.0


async def _checked(check: Callable[[], Any], required: bool) -> Health:
    """Run one check with a timeout; a check that raises or hangs reports ``down``."""
    try:
        result = check()
        if inspect.isawaitable(result):
            result = await asyncio.wait_for(result, CHECK_TIMEOUT)
    except TimeoutError:
        return Health(status="down", required=required,
                      detail=f"no answer within {CHECK_TIMEOUT:.0f}s")
    except Exception as exc:
        return Health(status="down", required=required, detail=f"{type(exc).__name__}: {exc}")
    if not isinstance(result, Health):
        return Health(status="down", required=required,
                      detail=f"the check returned {type(result).__name__}, not Health")
    return result


def overall(dependencies: dict[str, Health]) -> str:
    if any(h.status == "down" and h.required for h in dependencies.values()):
        return "down"
    if any(h.status in ("down", "degraded") for h in dependencies.values()):
        return "degraded"
    return "ok"


@router.get("", response_model=HealthPublic,
            responses={503: {"model": HealthPublic,
                             "description": "A required dependency is down"}},
            summary="Liveness and the state of each dependency")
async def health(request: Request, backend: BackendDep, plugins: PluginsDep,
                 settings: SettingsDep) -> Any:
    checks: dict[str, Awaitable[Health]] = {"backend": _checked(backend.health, True)}
    registry = plugins.registry
    for name, tool in sorted(registry.tools.items()):
        if tool.spec.health is not None:
            checks[f"tool:{name}"] = _checked(partial(tool.spec.health, settings), False)
    for name, model in sorted(registry.models.items()):
        if model.spec.health is not None:
            checks[f"model:{name}"] = _checked(partial(model.spec.health, settings), False)
    results = await asyncio.gather(*checks.values())
    dependencies = dict(zip(checks, results, strict=True))
    body = HealthPublic(
        status=overall(dependencies),  # type: ignore[arg-type]
        version=request.app.version,
        uptime_seconds=round(time.monotonic() - request.app.state.started_at, 3),
        dependencies=dependencies,
    )
    code = 503 if body.status == "down" else 200
    return JSONResponse(body.model_dump(mode="json"), status_code=code)
