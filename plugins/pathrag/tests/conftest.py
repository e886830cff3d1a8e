"""Fixtures: tools per backend, a real ``novelcrew-pathrag serve`` process per session.

The contract cases run against both backends through the public tool interface: ``embedded``
in-process, ``remote`` over real HTTP against the served contract in a subprocess.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from novelcrew.context import ToolContext
from novelcrew.plugins import load
from novelcrew.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))

from pathrag_helpers import make_settings, serve, stop

from novelcrew_pathrag import reset_backends


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, process = serve(tmp_path_factory.mktemp("served"))
    yield url
    stop(process)


@pytest.fixture(scope="session")
def plain_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The served contract without our extensions: behaves like upstream PathRAG."""
    url, process = serve(tmp_path_factory.mktemp("plain"), "--plain")
    yield url
    stop(process)


@pytest.fixture(scope="session")
def registry() -> Any:
    plugins = load(["pathrag"])
    assert plugins.infos["pathrag"].error is None, plugins.infos["pathrag"].error
    return plugins.registry


ToolFactory = Callable[[str, str | None], Any]


@pytest.fixture(params=["embedded", "remote"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    url = request.getfixturevalue("server_url") if backend_kind == "remote" else None
    return make_settings(tmp_path, url)


@pytest.fixture
def tools(settings: Settings, registry: Any, request: pytest.FixtureRequest) -> ToolFactory:
    """``tools(name, project_id)``: the registered tool built for a job of that project.

    Project ids are unique per test so tests sharing the served process never meet.
    """
    prefix = f"{request.node.name}-{os.getpid()}-{time.monotonic_ns()}"

    def build(name: str, project: str | None) -> Any:
        project_id = None if project is None else f"{prefix}-{project}"
        ctx = ToolContext(settings=settings, project_id=project_id, job_id="job-1")
        return registry.tool(name).factory(ctx)

    return build


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    yield
    reset_backends()
