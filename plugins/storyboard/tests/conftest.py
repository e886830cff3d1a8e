"""Fixtures of the storyboard plugin's tests; helpers live in ``storyboard_fixtures``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
