"""Fixtures of the exports plugin's tests; the sample job lives in ``export_fixtures``.

The folder is appended to ``sys.path`` (not put first), so other packages' tests that import
their own ``conftest`` in the same run still find theirs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).parent))
