"""Packages installed into the environment with pip appear, run, fail safely and disappear."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

LOGLINE = Path(__file__).resolve().parents[2] / "examples" / "logline-crew"
BROKEN = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "broken-plugin"


@pytest.fixture
def installed(env_tools: SimpleNamespace) -> Iterator[None]:
    # a wheel (not editable): exactly what a third party's `pip install` leaves behind
    env_tools.uv("install", "--no-deps", str(LOGLINE), str(BROKEN))
    try:
        yield
    finally:
        env_tools.uv("uninstall", "novelcrew-logline", "novelcrew-broken")


def test_third_party_and_broken_plugins_installed_then_uninstalled(
    installed: None, env_tools: SimpleNamespace
) -> None:
    rows = env_tools.plugins_json()
    assert rows["logline"]["crews"] == ["logline"]
    assert rows["logline"]["version"] == "0.1.0"
    assert rows["logline"]["error"] is None
    error = rows["broken"]["error"]
    assert error.startswith("RuntimeError: novelcrew-broken is broken on purpose (at "), error
    assert error.endswith("novelcrew_broken/plugin.py:3, in <module>)"), error  # its line
    assert rows["broken"]["crews"] == []
    # everything else keeps working next to the broken one
    for name in ("architect", "director", "pathrag", "payload"):
        assert rows[name]["error"] is None, rows[name]

    # the installed package's own tests (SDK fixtures, scripted LLM, contract check) pass
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(LOGLINE / "tests")],
        capture_output=True,
        text=True,
        cwd=LOGLINE,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]


def test_uninstalled_plugins_are_gone(env_tools: SimpleNamespace) -> None:
    rows = env_tools.plugins_json()
    assert "logline" not in rows and "broken" not in rows
