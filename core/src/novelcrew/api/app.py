"""The FastAPI application: ``create_app(settings, plugins, backend)``.

``uvicorn novelcrew.api.app:create_app --factory`` serves it with settings from the environment.
Nothing here imports crewAI: it loads only when a job runs a crew.

Each resource's router is included with the dependencies that guard it (``api/auth.py``): an
API key on every route but ``/health`` when the server has keys, and the rate limit everywhere.
The interactive docs (``/docs``, ``/redoc``) are served with their scripts and styles from the
``fastapi-offline`` package, so they work on a host without internet; they and
``/openapi.json`` need no key (the document holds no data, and a browser sends no key).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import Depends, FastAPI
from fastapi.middleware import Middleware
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel

from novelcrew import __version__, metrics
from novelcrew.api import errors, idempotency
from novelcrew.api.auth import ApiKeys, limit_by_client, require_key
from novelcrew.api.deadlines import RequestDeadlines
from novelcrew.api.middleware import BodySizeLimit, RequestLog
from novelcrew.api.ratelimit import RateLimit
from novelcrew.api.routes import compat, crews, exports, graph, health, jobs, stats, tools, ui
from novelcrew.api.routes import metrics as metrics_route
from novelcrew.api.routes import models as models_route
from novelcrew.api.routes import plugins as plugins_route
from novelcrew.api.schemas import JobPublic
from novelcrew.backends.base import JobBackend
from novelcrew.errors import describe_error
from novelcrew.plugins import Plugins, get_plugins
from novelcrew.settings import Settings, SettingsError, get_settings

DESCRIPTION = """novelcrew runs crews of AI agents on stories as background jobs.

Errors are JSON `{"error": {"type", "message", "details"}}`. When the server has API keys
(`NOVELCREW_API_KEYS`), every route but `/health` needs one, sent as `X-API-Key: <key>` or
`Authorization: Bearer <key>`."""

_log = structlog.get_logger("novelcrew.api")

#: where the docs' scripts and styles are served from
DOCS_STATIC = "/docs-static"


#: the models whose examples show ``null`` fields (a job not finished yet, no error): FastAPI
#: encodes its document without ``None`` values, which would drop them from the examples
EXAMPLES_WITH_NULLS: tuple[type[BaseModel], ...] = (
    errors.ErrorResponse, errors.CompatError, JobPublic, compat.ExecuteResponse,
    compat.StatusResponse)


def keep_example_nulls(app: FastAPI) -> None:
    """Make ``app.openapi()`` (FastAPI's documented hook for extending the document) put the
    examples of ``EXAMPLES_WITH_NULLS`` back as their models give them, nulls included."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)
            components = document.get("components", {}).get("schemas", {})
            for model in EXAMPLES_WITH_NULLS:
                extra = model.model_config.get("json_schema_extra")
                if isinstance(extra, dict) and "examples" in extra \
                        and model.__name__ in components:
                    components[model.__name__]["examples"] = extra["examples"]
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def build_backend(settings: Settings, plugins: Plugins) -> JobBackend:
    """The backend ``settings.job_backend`` names, built by the plugin that registers it.

    A name no plugin registers is a bad setting (``SettingsError``: ``novelcrew serve``
    stops with one line naming the variable, exit 2), not an outage: backends come from
    plugins, so the settings model cannot check the name itself."""
    if settings.job_backend not in plugins.registry.backends:
        known = ", ".join(sorted(plugins.registry.backends)) or "none"
        raise SettingsError(f"bad setting NOVELCREW_JOB_BACKEND={settings.job_backend!r}: "
                            f"no loaded plugin registers that job backend; known: {known}")
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
        try:
            await backend.start()
        except Exception as exc:
            # said once, plainly: uvicorn follows it with the traceback and its own
            # "Application startup failed"; ``novelcrew serve`` ends with this line (exit 3)
            app.state.start_error = (f"the {settings.job_backend} job backend could not "
                                     f"start: {type(exc).__name__}: {describe_error(exc)}")
            _log.error("backend_start_failed", backend=settings.job_backend,
                       error_type=type(exc).__name__, error=describe_error(exc))
            if installed:
                metrics.uninstall(plugins)
            raise
        app.state.started_at = time.monotonic()
        metrics.API_PROCESSES.inc()
        try:
            yield
        finally:
            metrics.API_PROCESSES.dec()
            await backend.stop()
            if installed:
                metrics.uninstall(plugins)

    middleware = []
    if settings.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware,  # outermost, so preflights and error answers carry CORS headers
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Last-Event-ID",
                           idempotency.HEADER],
            expose_headers=["Retry-After", idempotency.REPLAYED_HEADER],
            max_age=600,
        ))
    middleware.append(Middleware(RequestLog))
    middleware.append(Middleware(RequestDeadlines, body_timeout=settings.body_timeout_seconds))
    middleware.append(Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes))
    app = FastAPIOffline(
        title="novelcrew",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        middleware=middleware,
        strict_content_type=False,  # a JSON body without a Content-Type is still JSON
        static_url=DOCS_STATIC,
    )
    app.state.settings = settings
    app.state.plugins = plugins
    app.state.backend = backend
    app.state.api_keys = ApiKeys(settings.api_keys)
    app.state.rate_limit = RateLimit.from_settings(settings)
    app.state.started_at = time.monotonic()
    app.state.start_error = None
    #: ``serve --workers N`` sets it in each process: /metrics sums every process's files
    app.state.metrics_dir = None
    app.state.sse_keepalive = jobs.DEFAULT_KEEPALIVE
    errors.install(app)
    keep_example_nulls(app)

    limited = [Depends(limit_by_client)] if app.state.rate_limit.enabled else []
    guard: list[Any] = [Depends(require_key)] if app.state.api_keys.enabled else limited
    for router in (compat.router, crews.router, jobs.router, plugins_route.router,
                   tools.router, models_route.router, stats.router, metrics_route.router,
                   exports.router, exports.formats_router, graph.router):
        app.include_router(router, dependencies=guard)
    app.include_router(health.router, dependencies=limited)
    app.include_router(ui.router, dependencies=limited)  # the page holds no data: no key
    ui.mount(app)
    return app
