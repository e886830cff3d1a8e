"""The FastAPI application: ``create_app(settings, plugins, backend)``.

``uvicorn novelcrew.api.app:create_app --factory`` serves it with settings from the environment.
Nothing here imports crewAI: it loads only when a job runs a crew.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware import Middleware
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig

from novelcrew import metrics
from novelcrew.api import errors
from novelcrew.api.auth import PUBLIC_PATHS, KeyChecker
from novelcrew.api.middleware import GuardMiddleware
from novelcrew.api.ratelimit import RateLimiter
from novelcrew.api.routes import compat, crews, exports, graph, health, jobs, stats, tools, ui
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


def fastapi_telemetry() -> TelemetryConfig | None:
    """FastAPI's own OpenTelemetry spans and metrics: on (FastAPI's default) when a provider
    is set up before the app is made (``opentelemetry-instrument``, an SDK provider set in
    code) or FastAPI is to set one up (``FASTAPI_OTEL_AUTO_CONFIGURE=true``), else off.

    By default FastAPI asks at every request whether a global provider has appeared since:
    13 µs of each submission (bench/api.py), in every server without OpenTelemetry."""
    from opentelemetry import _logs, metrics, trace

    if os.getenv("FASTAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true":
        return None
    providers = (trace.get_tracer_provider(), metrics.get_meter_provider(),
                 _logs.get_logger_provider())
    if any(not type(provider).__name__.lstrip("_").startswith("Proxy")
           for provider in providers):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


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
        telemetry=fastapi_telemetry(),
    )
    app.state.settings = settings
    app.state.plugins = plugins
    app.state.backend = backend
    app.state.started_at = time.monotonic()
    app.state.sse_keepalive = jobs.DEFAULT_KEEPALIVE
    errors.install(app)

    _add_routes(app, compat.router, crews.router, jobs.router, plugins_route.router,
                tools.router, models_route.router, health.router, stats.router,
                metrics_route.router, exports.router, graph.router, ui.router)
    ui.mount(app)
    _describe_security(app, keys.enabled)
    return app


def _add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Add the routers' routes to the app itself, in order, ahead of the docs' routes.

    A request is matched against the app's routes one by one, so the API's come first (the
    four docs routes cost a submission 18 µs). And since FastAPI 0.165, ``include_router``
    keeps a router behind a matcher that matches every request twice (to pick the router,
    then its route) with its own per-request scope bookkeeping: 58 µs of each submission, a
    tenth of its CPU. (Both measured in bench/api.py's way, switched on and off in one
    process.) The routers carry all an inclusion would add (prefix, tags, the guard's error
    responses), so the routes and the OpenAPI document are the same as included ones.
    """
    app.router.routes[:0] = [route for router in routers for route in router.routes]


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
