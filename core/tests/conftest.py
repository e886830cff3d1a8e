"""Shared fixtures of the core tests."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

# helpers shared by tests in any folder (a folder without a conftest.py of its own)
sys.path.insert(0, str(Path(__file__).parent / "helpers"))

from nc_plugin_dists import dist_info


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Make an installed-looking distribution (dist-info with entry points) on ``sys.path``.

    importlib.metadata discovers it exactly as it discovers a pip-installed package, so the
    plugin loader sees a real entry point without touching the environment.
    """
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))

    def make(dist: str, module: str, source: str, entry_name: str | None = None) -> Path:
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        sys.modules.pop(module, None)
        return dist_info(root, dist, module, entry_name=entry_name, version="1.2.3")

    return make
