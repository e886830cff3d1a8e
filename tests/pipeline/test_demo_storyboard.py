"""``make demo ARGS="--crews architect,director,storyboard"``: the demo script starts a real
server with the installed plugins, sends the three-crew chain through Novel Movie's
``/crews/execute`` on the offline model, and prints a readable, clearly marked storyboard; every
example story goes through it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "client" / "demo.py"
STORIES = sorted((ROOT / "examples" / "stories").glob("*.txt"))


def demo_env() -> dict[str, str]:
    """The environment of someone trying it: no provider key, every installed plugin."""
    env = {**os.environ, "COLUMNS": "200"}
    for key in ("OPENROUTER_API_KEY", "NOVELCREW_OPENROUTER_API_KEY", "NOVELCREW_MODEL",
                "NOVELCREW_PLUGINS", "NOVELCREW_PAYLOAD_URL", "NOVEL_MOVIE_API_URL",
                "NOVELCREW_API_KEYS", "PYTHONPATH"):
        env.pop(key, None)
    return env


def run_demo(story: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``examples/client/demo.py`` on ``story`` through the three-crew chain, as a person runs
    it (``--url`` among ``args`` sends it to a running server instead of starting one)."""
    return subprocess.run(
        [sys.executable, str(DEMO), "--story", story, "--crews", "architect,director,storyboard",
         *args], capture_output=True, text=True, env=demo_env(), cwd=cwd, timeout=600)


def printed_board(out: str) -> tuple[str, list[str], int]:
    """The storyboard part of the demo's output, its printed shot ids and its clip count,
    checked for the offline marks and for totals that agree with what is printed."""
    board = out[out.index("─ storyboard ─"):]
    top = board[:board.index("Characters (")]
    assert "OFFLINE STAND-IN: not a real storyboard, not ready for media generation" in top
    assert board.rstrip().endswith("offline stand-in storyboard: not for media generation")
    totals = re.search(r"^(\d+) scenes · (\d+) shots · (\d+) clips of at most 5s", board, re.M)
    assert totals is not None, board[-2000:]
    scenes, shots, clips = (int(n) for n in totals.groups())
    assert len(re.findall(r"^Scene \d+\. (INT|EXT)", board, re.M)) == scenes > 0
    ids = re.findall(r"^  (s\d{3}-sh\d{2})  ", board, re.M)
    assert len(ids) == len(set(ids)) == shots > 0
    printed_clips = 0
    for block in re.split(r"^  s\d{3}-sh\d{2}  ", board, flags=re.M)[1:]:
        labels = re.findall(r"^ +(image|motion|clips) \S", block, re.M)
        assert labels == ["image", "motion", "clips"], block[:600]
        count = re.search(r"^ +clips (\d+) clips?: ", block, re.M)
        assert count is not None
        printed_clips += int(count.group(1))
    assert printed_clips == clips >= shots
    return board, ids, clips


def test_the_demo_prints_the_three_crew_chains_storyboard(tmp_path: Path) -> None:
    proc = run_demo("the-long-haul-to-drummore.txt", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "submitted the-long-haul-to-drummore.txt" in proc.stderr
    assert "storyboard finished" in proc.stderr and "job succeeded" in proc.stderr
    out = proc.stdout
    assert "architect → director → storyboard" in out
    board, _, _ = printed_board(out)
    blocks = re.split(r"^  s\d{3}-sh\d{2}  ", board, flags=re.M)[1:]
    # a character of the bible is named in the image prompts with its fixed wording
    first_id = re.search(r"^│ ([a-z0-9-]+) +│ ([^│]+?) +│", board, re.M)
    assert first_id is not None
    phrase = first_id.group(2)
    name = phrase.split(", ")[0]  # the phrase starts with the name "in frame" shows
    heads = [b.split("\n", 1)[0] for b in blocks]
    framed = [b for head, b in zip(heads, blocks, strict=True) if "in frame: " in head
              and name in head.split("in frame: ")[1].strip().split(", ")]
    assert framed and all(phrase in " ".join(b.split()) for b in framed)
    assert "offline" in proc.stderr and "OPENROUTER_API_KEY" in proc.stderr  # the hint


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``novelcrew serve`` with every installed plugin on the offline model."""
    base = tmp_path_factory.mktemp("demo-server")
    port = free_port()
    env = {**demo_env(), "NOVELCREW_MODEL": "offline", "NOVELCREW_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from novelcrew.cli import main; main()", "serve", "--host",
         "127.0.0.1", "--port", str(port), "--data-dir", str(base / "data")],
        env=env, cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", proc, timeout=120)
        yield url
    finally:
        stop_process(proc)


@pytest.mark.slow
@pytest.mark.parametrize("story", STORIES, ids=[p.stem for p in STORIES])
def test_every_example_story_goes_through_the_three_crew_demo(
        story: Path, offline_server: str, tmp_path: Path) -> None:
    proc = run_demo(story.name, tmp_path, "--url", offline_server)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"submitted {story.name}" in proc.stderr and "job succeeded" in proc.stderr
    _, ids, _ = printed_board(proc.stdout)
    # every shot the director planned is boarded
    plan = proc.stdout[proc.stdout.index("─ director ─"):proc.stdout.index("─ storyboard ─")]
    totals = re.search(r"scenes / shots +│? *(\d+) / (\d+)", plan)
    assert totals is not None, plan[-1500:]
    assert len(ids) == int(totals.group(2))
