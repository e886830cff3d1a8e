"""Running a test's Python script in a fresh process, as a user's process would start: its
own HOME, no standard input, and these helpers importable (``nc_crewai_child``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

HELPERS = str(Path(__file__).parent)


def run_script(script: str, *args: str, cwd: Path,
               env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c script args...`` in ``cwd`` (also its HOME); ``env`` replaces the
    environment (default: this one). Output is captured as text."""
    environ = dict(os.environ if env is None else env)
    path = environ.get("PYTHONPATH")
    environ.update(HOME=str(cwd), PYTHONPATH=os.pathsep.join(filter(None, [HELPERS, path])))
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, stdin=subprocess.DEVNULL,
                          env=environ)
