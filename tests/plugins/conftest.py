"""Helpers to install packages into the test environment and list plugins from a new process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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
def env_tools() -> SimpleNamespace:
    return SimpleNamespace(uv=uv, plugins_json=plugins_json, bin=BIN, root=ROOT)
