"""``novelcrew run architect,director,storyboard`` prints a readable storyboard: per scene each
shot with its prompts and clips, the offline stand-in's marked as such."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from novelcrew.cli import app
from novelcrew_sdk import make_plugins, make_settings, run_job

STORY = Path(__file__).resolve().parents[3] / "examples" / "stories" / \
    "the-lantern-fair-at-oxley-marsh.txt"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_three_crew_chain_prints_every_shot_with_its_prompts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOVELCREW_PLUGINS", "NOVELCREW_PAYLOAD_URL", "NOVEL_MOVIE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, [
        "run", "architect,director,storyboard", "--story", str(STORY), "--model", "offline",
        "--data-dir", str(tmp_path / "cli")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("─ architect ─") < out.index("─ director ─") < out.index("─ storyboard ─")
    board_text = out[out.index("─ storyboard ─"):]

    # the offline stand-in's storyboard says so first and last
    assert "OFFLINE STAND-IN: not a real storyboard, not ready for media generation" in \
        board_text.split("Characters (")[0]
    assert board_text.rstrip().endswith("offline stand-in storyboard: not for media generation")

    # what it prints is the storyboard the same offline chain produces (it is deterministic)
    plugins = make_plugins(entry_points=["architect", "director", "storyboard", "pathrag"])
    job, _ = asyncio.run(run_job(
        plugins, "architect,director,storyboard", {"story_text": STORY.read_text("utf-8")},
        settings=make_settings(tmp_path / "sdk", default_model="offline")))
    board = job.result["storyboard"]
    shots = [shot for scene in board["scenes"] for shot in scene["shots"]]
    assert shots
    printed = re.findall(r"^  (s\d{3}-sh\d{2})  ", board_text, re.M)
    assert printed == [shot["id"] for shot in shots]
    headings = re.findall(r"^Scene (\d+)\. ", board_text, re.M)
    assert headings == [str(scene["number"]) for scene in board["scenes"]]
    text = flat(board_text)
    for shot in shots:
        block = flat(board_text[board_text.index(f"  {shot['id']}  "):])
        assert block.index(flat(shot["image_prompt"])) < block.index(
            flat(shot["motion_prompt"]))
        clips = shot["clips"]
        spans = ", ".join(f"{c['start_seconds']:g}-{c['start_seconds'] + c['duration_seconds']:g}s"
                          for c in clips)
        count = f"{len(clips)} clip" + ("s" if len(clips) > 1 else "")
        assert f"clips {count}: {spans}, seed {shot['seed_hint']}" in block
    for look in board["bible"]["characters"]:
        assert flat(look["phrase"]) in text
    totals = board["totals"]
    assert f"{totals['scenes']} scenes · {totals['shots']} shots · {totals['clips']} clips " \
        f"of at most 5s" in text
