"""Hardening tests: real ``novelcrew serve`` processes under faults (full disk, SIGTERM).

Their crews (``hardcrews``) load through ``NOVELCREW_PLUGIN_MODULES``; helpers live in
``hardening_helpers``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs to fill up (these tests run as root, as the machine's test runner does)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
