"""Shared fixtures of the core tests."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


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
        info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(
            f"[novelcrew]\n{entry_name or dist} = {module}\n"
        )
        sys.modules.pop(module, None)
        return info

    return make
