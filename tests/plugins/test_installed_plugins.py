"""Packages installed into the environment with pip appear, run, fail safely and disappear."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOGLINE = ROOT / "examples" / "logline-crew"
BROKEN = ROOT / "tests" / "fixtures" / "broken-plugin"
BIN = Path(sys.executable).parent


def uv(*args: str) -> None:
    exe = shutil.which("uv") or str(BIN / "uv")
    subprocess.run(
        [exe, "pip", *args, "--python", sys.executable], check=True, capture_output=True, text=True
    )


def plugins_json() -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if k != "NOVELCREW_PLUGINS"}
    out = subprocess.run(
        [str(BIN / "novelcrew"), "plugins", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return {row["name"]: row for row in json.loads(out.stdout)}


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[None]:
    # a wheel (not editable): exactly what a third party's `pip install` leaves behind
    uv("install", "--no-deps", str(LOGLINE), str(BROKEN))
    try:
        yield
    finally:
        uv("uninstall", "novelcrew-logline", "novelcrew-broken")


def test_third_party_and_broken_plugins_installed_then_uninstalled(installed: None) -> None:
    rows = plugins_json()
    assert rows["logline"]["crews"] == ["logline"]
    assert rows["logline"]["version"] == "0.1.0"
    assert rows["logline"]["error"] is None
    assert rows["broken"]["error"] == "RuntimeError: novelcrew-broken is broken on purpose"
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


def test_uninstalled_plugins_are_gone() -> None:
    rows = plugins_json()
    assert "logline" not in rows and "broken" not in rows
