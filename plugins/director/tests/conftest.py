"""Fixtures of the director plugin's tests; helpers live in ``director_fixtures``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from director_fixtures import PROJECT, MemoryGraph, story_kg


@pytest.fixture
def graph() -> MemoryGraph:
    """The lighthouse story's graph, as the architect would have written it."""
    g = MemoryGraph()
    g.insert(PROJECT, story_kg())
    g.inserts.clear()
    return g
