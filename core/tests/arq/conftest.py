"""Fixtures of the arq backend tests: a real redis-server per session, a key root per test."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "backends"))  # the shared store contract tests

from redis_server import redis_server  # noqa: E402


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def root() -> str:
    """A key root (and queue name) of its own for each test."""
    return f"t{uuid.uuid4().hex[:10]}"
