"""``/health``: the original server's fields (``status: "healthy"``, service, version, port,
timestamp) plus each dependency; 503 with the reasons when a required part is down, a built-in
plugin failed to load or a crew lacks a required tool. Needs no key."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from novelcrew import introspect
from novelcrew.api.deps import BackendDep, PluginsDep, SettingsDep
from novelcrew.api.errors import PUBLIC
from novelcrew.plugins import Plugins
from novelcrew.specs import Health

router = APIRouter(prefix="/health", tags=["operations"], responses=PUBLIC)

CHECK_TIMEOUT = 5.0


async def _call(check: Callable[[], Any]) -> Any:
    """A plugin's synchronous check runs in a thread: one that blocks on the network must not
    hold the event loop, and every request with it."""
    if inspect.iscoroutinefunction(check):
        return await check()
    result = await asyncio.to_thread(check)
    return await result if inspect.isawaitable(result) else result


async def _checked(check: Callable[[], Any], required: bool) -> Health:
    """Run one check with a timeout; a check that raises or hangs reports ``down``."""
    try:
        result = await asyncio.wait_for(_call(check), CHECK_TIMEOUT)
    except TimeoutError:
        return Health(status="down", required=required,
                      detail=f"no answer within {CHECK_TIMEOUT:.0f}s")
    except Exception as exc:
        return Health(status="down", required=required, detail=f"{type(exc).__name__}: {exc}")
    if not isinstance(result, Health):
        return Health(status="down", required=required,
                      detail=f"the check returned {type(result).__name__}, not Health")
    return result


class HealthReport(BaseModel):
    """``GET /health``: the original server's fields, then what an operator needs."""

    status: Literal["healthy", "degraded", "unhealthy"] = Field(
        description="healthy: every required part is up (200); degraded: a built-in plugin "
        "failed to load or a crew lacks a required tool (503); unhealthy: a required "
        "dependency is down (503).")
    service: str = "novelcrew"
    version: str
    port: int
    timestamp: float = Field(description="Epoch seconds.")
    uptime_seconds: float
    reasons: list[str] = Field(description="Why the status is not healthy, one line each.")
    plugin_errors: dict[str, str] = Field(
        description="Every plugin that failed to load, with its error (a third-party plugin's "
        "failure is shown here without degrading the status).")
    dependencies: dict[str, Health]


def assess(plugins: Plugins, dependencies: dict[str, Health]) -> tuple[str, list[str]]:
    """The overall status word and its reasons."""
    down = [f"{name} is down: {h.detail}".rstrip(": ")
            for name, h in dependencies.items() if h.status == "down" and h.required]
    # a store that cannot write (full disk) degrades the service; a queue without a live
    # worker stays a dependency detail (workers may be starting)
    degraded = [f"{name} is degraded: {h.detail}".rstrip(": ")
                for name, h in dependencies.items()
                if h.status == "degraded" and h.required and h.data.get("writable") is False]
    degraded += introspect.problems(plugins)
    if down:
        return "unhealthy", down + degraded
    return ("degraded", degraded) if degraded else ("healthy", [])


@router.get("", response_model=HealthReport,
            responses={503: {"model": HealthReport,
                             "description": "Degraded or unhealthy; see reasons"}},
            summary="Liveness, the state of each dependency, and why it is not healthy")
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
    status, reasons = assess(plugins, dependencies)
    body = HealthReport(
        status=status,  # type: ignore[arg-type]
        version=str(request.app.version or "unknown"),
        port=settings.port,
        timestamp=time.time(),
        uptime_seconds=round(time.monotonic() - request.app.state.started_at, 3),
        reasons=reasons,
        plugin_errors={info.name: info.error for info in plugins.list() if info.error},
        dependencies=dependencies,
    )
    code = 200 if status == "healthy" else 503
    return JSONResponse(body.model_dump(mode="json"), status_code=code)
