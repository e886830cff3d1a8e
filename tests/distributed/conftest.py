"""A real cluster for the distributed tests: redis-server, API instances and workers, each a
subprocess on free loopback ports; everything is stopped at the end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CORE_TESTS = HERE.parents[1] / "core" / "tests"
# the cluster, the redis-server helper and the test crews
sys.path[:0] = [str(HERE), str(CORE_TESTS / "helpers"), str(CORE_TESTS / "arq")]

from nc_cluster import Cluster  # noqa: E402
from nc_redis_server import redis_server  # noqa: E402


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def cluster(redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(redis_url, tmp_path)
    try:
        yield c
    finally:
        c.stop()
