"""``make demo ARGS="--crews architect,director,storyboard"``: the demo script starts a real
server with the installed plugins, sends the three-crew chain through Novel Movie's
``/crews/execute`` on the offline model, and prints a readable, clearly marked storyboard."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "client" / "demo.py"


def test_the_demo_prints_the_three_crew_chains_storyboard(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    for key in ("OPENROUTER_API_KEY", "NOVELCREW_OPENROUTER_API_KEY", "NOVELCREW_MODEL",
                "NOVELCREW_PLUGINS", "NOVELCREW_PAYLOAD_URL", "NOVEL_MOVIE_API_URL",
                "PYTHONPATH"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, str(DEMO), "--story", "the-long-haul-to-drummore.txt",
         "--crews", "architect,director,storyboard"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "submitted the-long-haul-to-drummore.txt" in proc.stderr
    assert "storyboard finished" in proc.stderr and "job succeeded" in proc.stderr
    out = proc.stdout
    assert "architect → director → storyboard" in out
    board = out[out.index("─ storyboard ─"):]

    # marked as the offline stand-in's at the top and at the end
    top = board[:board.index("Characters (")]
    assert "OFFLINE STAND-IN: not a real storyboard, not ready for media generation" in top
    assert board.rstrip().endswith("offline stand-in storyboard: not for media generation")

    # per scene, every shot with its prompts and clips; the totals agree with what is printed
    totals = re.search(r"^(\d+) scenes · (\d+) shots · (\d+) clips of at most 5s", board, re.M)
    assert totals is not None, board[-2000:]
    scenes, shots, clips = (int(n) for n in totals.groups())
    assert len(re.findall(r"^Scene \d+\. (INT|EXT)", board, re.M)) == scenes > 0
    ids = re.findall(r"^  (s\d{3}-sh\d{2})  ", board, re.M)
    assert len(ids) == len(set(ids)) == shots > 0
    blocks = re.split(r"^  s\d{3}-sh\d{2}  ", board, flags=re.M)[1:]
    printed_clips = 0
    for block in blocks:
        labels = re.findall(r"^ +(image|motion|clips) \S", block, re.M)
        assert labels == ["image", "motion", "clips"], block[:600]
        count = re.search(r"^ +clips (\d+) clips?: ", block, re.M)
        assert count is not None
        printed_clips += int(count.group(1))
    assert printed_clips == clips >= shots
    # a character of the bible is named in the image prompts with its fixed wording
    first_id = re.search(r"^│ ([a-z0-9-]+) +│ ([^│]+?) +│", board, re.M)
    assert first_id is not None
    phrase = first_id.group(2)
    heads = [b.split("\n", 1)[0] for b in blocks]
    framed = [b for head, b in zip(heads, blocks, strict=True) if "in frame: " in head
              and first_id.group(1) in head.split("in frame: ")[1].strip().split(", ")]
    assert framed and all(phrase in " ".join(b.split()) for b in framed)
    assert "offline" in proc.stderr and "OPENROUTER_API_KEY" in proc.stderr  # the hint
