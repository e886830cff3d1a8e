"""The FastAPI application: ``create_app(settings, plugins, backend)``.

``uvicorn novelcrew.api.app:create_app --factory`` serves it with settings from the environment.
Nothing here imports crewAI: it loads only when a job runs a crew.
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware import Middleware
from fastapi.middleware.cors import CORSMiddleware

from novelcrew import metrics
from novelcrew.api import errors
from novelcrew.api.auth import PUBLIC_PATHS, KeyChecker
from novelcrew.api.middleware import GuardMiddleware
from novelcrew.api.ratelimit import RateLimiter
from novelcrew.api.routes import compat, crews, health, jobs, stats, tools
from novelcrew.api.routes import metrics as metrics_route
from novelcrew.api.routes import models as models_route
from novelcrew.api.routes import plugins as plugins_route
from novelcrew.backends.base import JobBackend
from novelcrew.plugins import Plugins, get_plugins
from novelcrew.settings import Settings, get_settings

#: the collector's thresholds while the app serves (see the lifespan); Python's are (700, 10, 10)
GC_THRESHOLDS = (50_000, 20, 10)

DESCRIPTION = """novelcrew runs crews of AI agents on stories as background jobs.

Errors are JSON `{"error": {"type", "message", "details"}}`. When the server has API keys
(`NOVELCREW_API_KEYS`), every route but `/health` needs one, sent as `X-API-Key: <key>` or
`Authorization: Bearer <key>`."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("novelcrew")
    except PackageNotFoundError:
        return "0.0.0"


def build_backend(settings: Settings, plugins: Plugins) -> JobBackend:
    """The backend ``settings.job_backend`` names, built by the plugin that registers it."""
    return plugins.registry.backend(settings.job_backend).factory(settings, plugins)


def create_app(settings: Settings | None = None, plugins: Plugins | None = None,
               backend: JobBackend | None = None) -> FastAPI:
    """The novelcrew HTTP API; its lifespan starts and stops the job backend."""
    settings = settings or get_settings()
    plugins = plugins or get_plugins()
    backend = backend or build_backend(settings, plugins)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        installed = metrics.install(plugins)
        await backend.start()
        app.state.started_at = time.monotonic()
        # Everything loaded so far (modules, the app, plugins) lives as long as the server:
        # moved out of the collector's sight, it is no longer traversed by every full
        # collection, which otherwise took 60-85 ms every second under load (bench/api.py).
        # (No collection first: it would cost every start, tests' many apps included, a pass
        # over the whole heap to free what little import-time garbage there is.)
        gc.freeze()
        # A request allocates a few hundred objects that refcounting frees at once; at the
        # default threshold (700) the young generation was scanned every few requests, and
        # its survivors again in the middle one: 7% of the server's time under load.
        # Scanned every 50,000 allocations, the same work finds mostly freed objects: 12-15%
        # more requests per second (bench/api.py), for a few MB more held between scans.
        thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()  # several apps in one process (tests) must not pile up frozen garbage
            await backend.stop()
            if installed:
                metrics.uninstall(plugins)

    keys = KeyChecker(settings.api_keys)
    middleware = []
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware,  # outermost, so preflights and error answers carry CORS headers
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Last-Event-ID"],
            expose_headers=["Retry-After"],
            max_age=600,
        ))
    middleware.append(Middleware(
        GuardMiddleware,
        keys=keys,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        max_body_bytes=settings.max_body_bytes,
    ))
    app = FastAPI(
        title="novelcrew",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        middleware=middleware,
        strict_content_type=False,  # a JSON body without a Content-Type is still JSON
    )
    app.state.settings = settings
    app.state.plugins = plugins
    app.state.backend = backend
    app.state.started_at = time.monotonic()
    app.state.sse_keepalive = jobs.DEFAULT_KEEPALIVE
    errors.install(app)

    guarded = errors.responses(401, 429)
    app.include_router(compat.router, responses=guarded)
    app.include_router(crews.router, responses=guarded)
    app.include_router(jobs.router, responses=guarded)
    app.include_router(plugins_route.router, responses=guarded)
    app.include_router(tools.router, responses=guarded)
    app.include_router(models_route.router, responses=guarded)
    app.include_router(health.router, responses=errors.responses(429))
    app.include_router(stats.router, responses=guarded)
    app.include_router(metrics_route.router, responses=guarded)
    _describe_security(app, keys.enabled)
    return app


def _describe_security(app: FastAPI, required: bool) -> None:
    """Add the API key schemes to the OpenAPI document (required on all but ``/health``)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {})
        components["securitySchemes"] = {
            "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "BearerAuth": {"type": "http", "scheme": "bearer"},
        }
        if required:
            for path, operations in schema.get("paths", {}).items():
                if path in PUBLIC_PATHS:
                    continue
                for operation in operations.values():
                    operation["security"] = [{"ApiKeyHeader": []}, {"BearerAuth": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
