"""`novelcrew plugin new NAME` writes a package that installs, is listed and passes its tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace


def test_plugin_new_writes_a_working_package(tmp_path: Path, env_tools: SimpleNamespace) -> None:
    BIN, uv, plugins_json = env_tools.bin, env_tools.uv, env_tools.plugins_json
    out = subprocess.run(
        [str(BIN / "novelcrew"), "plugin", "new", "Story Board", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    package = tmp_path / "novelcrew-story-board"
    assert (package / "src" / "novelcrew_story_board" / "plugin.py").is_file()
    assert (
        'story-board = "novelcrew_story_board.plugin"' in (package / "pyproject.toml").read_text()
    )

    again = subprocess.run(
        [str(BIN / "novelcrew"), "plugin", "new", "story-board", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "already exists" in again.stderr

    uv("install", "--no-deps", str(package))
    try:
        row = plugins_json()["story-board"]
        assert row["crews"] == ["story-board"] and row["tools"] == ["story_board_word_count"]
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            capture_output=True,
            text=True,
            cwd=package,
        )
        assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
        assert "3 passed" in tests.stdout
    finally:
        uv("uninstall", "novelcrew-story-board")
    assert "story-board" not in plugins_json()
