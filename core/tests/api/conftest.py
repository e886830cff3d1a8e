import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import apicrews
from nc_api import AppClient, make_settings

from novelcrew.api.app import create_app


@pytest.fixture
def plugins() -> Any:
    apicrews.GATES.clear()
    apicrews.PROBE_HEALTH.update(status="ok", required=False)
    return apicrews.load_plugins()


@pytest.fixture
async def make_client(tmp_path: Path, plugins: Any) -> AsyncIterator[AppClient]:
    """``await make_client(**settings)``: an httpx client on a started app (inline backend)."""
    opened: list[tuple[Any, httpx.AsyncClient]] = []

    async def make(**overrides: Any) -> httpx.AsyncClient:
        settings = make_settings(tmp_path, **overrides)
        app = create_app(settings, plugins)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://testserver")
        client.app = app  # type: ignore[attr-defined]
        opened.append((lifespan, client))
        return client

    yield make
    for gate in apicrews.GATES.values():
        gate.set()
    for lifespan, client in reversed(opened):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def client(make_client: AppClient) -> httpx.AsyncClient:
    return await make_client()

