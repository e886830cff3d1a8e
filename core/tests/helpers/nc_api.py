"""For tests of the HTTP API: settings for a test app, and the type of the ``make_client``
fixture.

Test modules import these from here, not from ``conftest``: several test folders have a
``conftest.py``, and which one ``import conftest`` finds depends on the folders a run collects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from novelcrew.settings import Settings


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    overrides.setdefault("rate_limit_per_minute", 0)
    overrides.setdefault("data_dir", tmp_path / "data")
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


AppClient = Callable[..., Any]
