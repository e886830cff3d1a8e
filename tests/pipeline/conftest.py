"""Story pipeline tests (architect -> director); their helpers live in ``pipeline_fixtures``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
