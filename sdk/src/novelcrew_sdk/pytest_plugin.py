"""pytest fixtures for novelcrew plugins (auto-loaded when novelcrew-sdk is installed).

- ``novelcrew_settings``: settings with a private data dir and the offline model.
- ``novelcrew_plugins``: a factory, ``novelcrew_plugins(*modules, entry_points=..., llm=...)``.
- ``novelcrew_run``: an async factory, ``await novelcrew_run(plugins, "architect", inputs)``
  returning ``(job, events)``; when the plugins carry a scripted LLM it answers every agent.
- ``novelcrew_client``: an async factory giving an ``httpx.AsyncClient`` on the real app, with
  the chosen plugins and an inline backend over an in-memory store; ``store=`` serves the jobs
  of a ``MemoryStore`` you fill (``novelcrew_run(..., store=store)``, or ``store.create(job)``).

At start it sets crewAI's environment (``novelcrew.crewai.env.prepare``, storage in a temporary
folder) before any test imports crewAI, as the runner does in a server.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from novelcrew.crewai.env import prepare
from novelcrew_sdk.testing import make_plugins, make_settings, run_job

_crewai_dir = ""


def pytest_configure(config: pytest.Config) -> None:
    """crewAI warns about its own deprecated attributes whenever a crew runs (not about anything
    a plugin wrote); hide those, and only those, so a plugin's tests run quietly without each
    author adding a warnings filter."""
    for category in ("DeprecationWarning", "PendingDeprecationWarning"):
        config.addinivalue_line("filterwarnings", f"ignore::{category}:crewai.*")
    # crewAI's environment before any test or fixture imports crewAI (as the runner does in a
    # server): crewAI decides about tracing at import, and 1.12 would ask about traces after
    # every crew of the session
    global _crewai_dir
    _crewai_dir = tempfile.mkdtemp(prefix="novelcrew-tests-")
    prepare(_crewai_dir)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _crewai_dir:
        shutil.rmtree(_crewai_dir, ignore_errors=True)


@pytest.fixture
def novelcrew_settings(tmp_path: Path) -> Any:
    return make_settings(tmp_path / "novelcrew-data")


@pytest.fixture
def novelcrew_plugins() -> Callable[..., Any]:
    return make_plugins


def _scripted_default(plugins: Any, settings: Any) -> Any:
    """A scripted LLM passed to ``novelcrew_plugins(llm=...)`` answers every agent: the one rule
    ``novelcrew_run`` and ``novelcrew_client`` share."""
    scripted = "scripted" in plugins.registry.models
    return settings.model_copy(update={"default_model": "scripted"} if scripted else {})


@pytest.fixture
def novelcrew_run(novelcrew_settings: Any) -> Callable[..., Any]:
    async def _run(plugins: Any, crews: Any, inputs: Any = None, **kwargs: Any) -> Any:
        if "settings" not in kwargs:
            kwargs["settings"] = _scripted_default(plugins, novelcrew_settings)
        return await run_job(plugins, crews, inputs, **kwargs)

    return _run


@asynccontextmanager
async def app_client(plugins: Any, settings: Any, backend: Any = None,
                     store: Any = None) -> AsyncIterator[Any]:
    """An httpx client on ``create_app`` with its lifespan running: on ``backend``, else an
    inline backend over ``store`` (a fresh ``MemoryStore`` when none is given)."""
    import httpx

    from novelcrew.api.app import create_app

    if backend is not None and store is not None:
        raise TypeError("app_client takes a backend or a store, not both")
    if backend is None:
        from novelcrew.backends.inline import InlineBackend
        from novelcrew.backends.memory import MemoryStore

        backend = InlineBackend(plugins, settings,
                                store=store if store is not None else MemoryStore())
    app = create_app(settings=settings, plugins=plugins, backend=backend)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://novelcrew.test")
        await stack.enter_async_context(client)
        yield client


@pytest.fixture
def novelcrew_client(novelcrew_settings: Any) -> Callable[..., Any]:
    def _client(plugins: Any, settings: Any = None, backend: Any = None,
                store: Any = None) -> Any:
        return app_client(plugins, settings or _scripted_default(plugins, novelcrew_settings),
                          backend, store)

    return _client
