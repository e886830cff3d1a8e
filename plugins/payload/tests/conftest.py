"""Fixtures: a real Payload 3 server (Node, SQLite) started by the suite on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from novelcrew.settings import Settings, get_settings
from novelcrew_payload import PayloadClient, PayloadConfig
from novelcrew_payload.outage import forget_outages
from novelcrew_payload.testing import PayloadServer
from novelcrew_sdk import make_settings

FAST_RETRIES = {
    "NOVELCREW_PAYLOAD_TIMEOUT_SECONDS": "5",
    "NOVELCREW_PAYLOAD_BACKOFF_SECONDS": "0.05",
    "NOVELCREW_PAYLOAD_MAX_BACKOFF_SECONDS": "0.4",
    "NOVELCREW_PAYLOAD_UPDATE_BUDGET_SECONDS": "2",
}


@pytest.fixture(autouse=True)
def _fresh_outage_memory() -> Iterator[None]:
    forget_outages()
    yield
    forget_outages()


@pytest.fixture(scope="session")
def payload_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PayloadServer]:
    """One server for the session, seeded with a user, two projects and a story."""
    server = PayloadServer(data_dir=tmp_path_factory.mktemp("payload-db")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def crewai_imported(tmp_path_factory: pytest.TempPathFactory) -> None:
    """crewAI imported ahead (tools are crewAI tools), so timed sections do not pay for it."""
    from novelcrew.crewai.env import prepare

    prepare(tmp_path_factory.mktemp("crewai"))
    import crewai.tools  # noqa: F401


@pytest.fixture
def own_payload_server(tmp_path: Path) -> Iterator[PayloadServer]:
    """A server of this test's own, for tests that stop or freeze it."""
    server = PayloadServer(data_dir=tmp_path / "payload-db").start()
    yield server
    server.stop()


def env_for(server: PayloadServer, api_key: str | None = None) -> dict[str, str]:
    return {
        "NOVELCREW_PAYLOAD_URL": server.url,
        "NOVELCREW_PAYLOAD_API_KEY": api_key or server.api_key,
        **FAST_RETRIES,
    }


@pytest.fixture
def payload_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                ) -> Iterator[Callable[..., Settings]]:
    """Point the process settings (what the observer reads) at a server; returns them."""

    def apply(server: PayloadServer, api_key: str | None = None,
              **extra: str) -> Settings:
        values = {**env_for(server, api_key), "NOVELCREW_DATA_DIR": str(tmp_path / "data"),
                  "NOVELCREW_MODEL": "offline", **extra}
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return get_settings()

    for name in ("NOVEL_MOVIE_API_URL", "NOVEL_MOVIE_API_KEY", "NOVELCREW_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    yield apply
    get_settings.cache_clear()


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Settings naming a server explicitly (tools and health get settings passed in)."""

    def make(server: PayloadServer | None, api_key: str | None = None, **extra: Any) -> Settings:
        values: dict[str, Any] = {"url": None, "api_key": None}
        if server is not None:
            values = {"url": server.url, "api_key": api_key or server.api_key}
        values.update(extra)
        return make_settings(tmp_path / "novelcrew-data", plugin_config={"payload": values})

    return make


def make_config(server: PayloadServer, api_key: str | None = None, **extra: Any
                ) -> PayloadConfig:
    values: dict[str, Any] = {"backoff_seconds": 0.05, "max_backoff_seconds": 0.2, **extra}
    return PayloadConfig(url=server.url, api_key=api_key or server.api_key, **values)


@pytest.fixture
def client_config() -> Callable[..., PayloadConfig]:
    """``client_config(server, api_key=None, **fields)``: a fast-retrying client config."""
    return make_config


@pytest.fixture
async def payload(payload_server: PayloadServer) -> AsyncIterator[PayloadClient]:
    """A client with the seeded API key."""
    async with PayloadClient(make_config(payload_server)) as client:
        yield client


@pytest.fixture
def new_project(payload: PayloadClient) -> Callable[..., Any]:
    """Create a fresh project (tests that change a project use their own)."""

    async def create(**data: Any) -> dict[str, Any]:
        return await payload.create("projects", {"name": "A test project", **data})

    return create
