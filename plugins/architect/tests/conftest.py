"""Fixtures of the architect tests; data and helpers live in ``architect_fixtures``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from architect_fixtures import RecordingGraph


@pytest.fixture
def graph() -> RecordingGraph:
    return RecordingGraph()
