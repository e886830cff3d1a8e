"""The demo client end to end: it starts a real server, submits through ``/crews/execute``,
follows the event stream and prints the result (here with the small test crews)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[3] / "examples" / "client" / "demo.py"


def test_demo_runs_a_chain_through_a_server_it_starts(plugin_dir: Path, tmp_path: Path) -> None:
    story = tmp_path / "lighthouse.md"
    story.write_text("Maya climbed the lighthouse stairs. The storm came.")
    env = {**os.environ, "PYTHONPATH": str(plugin_dir), "NOVELCREW_PLUGINS": "clitest",
           "COLUMNS": "150"}
    for key in ("OPENROUTER_API_KEY", "NOVELCREW_OPENROUTER_API_KEY", "NOVELCREW_MODEL"):
        env.pop(key, None)
    proc = subprocess.run([sys.executable, str(DEMO), "--story", str(story),
                           "--crews", "analyse,plan"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "submitted lighthouse.md" in proc.stderr and "job succeeded" in proc.stderr
    assert "offline" in proc.stderr and "OPENROUTER_API_KEY" in proc.stderr
    # each result through the renderer the test plugin registers, loaded where the demo runs
    for text in ("The Lighthouse: A keeper keeps a light.", "Plan: 1 shot(s)",
                 "INT. LIGHTHOUSE - NIGHT"):
        assert text in proc.stdout, proc.stdout
