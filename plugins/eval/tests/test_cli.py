"""``novelcrew eval``: the command as a user runs it, on stored results and on the offline model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from eval_fixtures import GOLD_DIR, VELL, director_for, perfect_architect, vell

from novelcrew_eval import CHECKS, METRICS
from novelcrew_eval.plugin import register_commands

GOLD_FILES = sorted(GOLD_DIR.glob("*.yaml"))
OFFLINE_BASELINE = GOLD_DIR / "baselines" / "offline.json"


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A root, so ``eval`` stays a sub-command as under ``novelcrew``."""

    register_commands(app)  # what the core's register_commands hook call does
    return app


def _invoke(cli: typer.Typer, *args: str | Path) -> Any:
    return CliRunner().invoke(cli, ["eval", *map(str, args)])


def _result_file(tmp_path: Path, data: dict[str, Any], name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def perfect(tmp_path: Path) -> Path:
    architect = perfect_architect(vell())
    job = {"id": "j1", "crews": ["architect", "director"], "status": "succeeded",
           "result": {"architect": architect, "director": director_for(architect)}}
    return _result_file(tmp_path, job)


def test_scoring_a_stored_result_prints_stories_and_overall_as_json(
    cli: typer.Typer, perfect: Path
) -> None:
    run = _invoke(cli, VELL, "--result", perfect, "--json")
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    assert set(report) == {"stories", "overall"}
    assert set(report["overall"]) == {*METRICS, *CHECKS}
    assert report["overall"]["characters_f1"] == 1.0 and report["overall"]["leaks"] == 0
    [story] = report["stories"]
    assert story["story"] == "the-last-shift-at-vell-street"
    assert story["scene_boundary_f1"] == 1.0


def test_the_table_names_each_story_and_what_was_missed(
    cli: typer.Typer, perfect: Path, tmp_path: Path
) -> None:
    job = json.loads(perfect.read_text())
    job["result"]["architect"]["characters"].pop()  # Mrs. Halvorsen
    run = _invoke(cli, VELL, "--result", _result_file(tmp_path, job, "worse.json"))
    assert run.exit_code == 0, run.output
    assert "the-last-shift-at-vell-street" in run.stdout
    assert "missed: Mrs. Halvorsen" in run.stdout
    assert "overall (1 stories)" in run.stdout


def test_min_scores_fail_the_run_when_a_score_drops(
    cli: typer.Typer, perfect: Path, tmp_path: Path
) -> None:
    minimums = tmp_path / "scores.json"
    written = _invoke(cli, VELL, "--result", perfect, "--write-min-scores", minimums)
    assert written.exit_code == 0, written.output
    assert json.loads(minimums.read_text())["overall"]["characters_f1"] == 1.0
    held = _invoke(cli, VELL, "--result", perfect, "--min-scores", minimums)
    assert held.exit_code == 0, held.output

    job = json.loads(perfect.read_text())
    line = job["result"]["architect"]["scenes"][0]["dialogue"][0]
    line["speaker"] = "Theo Lind"  # was Rosa's line
    job["result"]["architect"]["scenes"][1]["summary"] = "Summary: a leak"
    worse = _result_file(tmp_path, job, "worse.json")
    dropped = _invoke(cli, VELL, "--result", worse, "--min-scores", minimums)
    assert dropped.exit_code == 1
    assert "overall: dialogue_speaker_accuracy 0.9444 < 1.0" in dropped.stderr
    assert "the-last-shift-at-vell-street: leaks 1 > 0" in dropped.stderr


def test_a_recording_directory_holds_its_own_minimums(
    cli: typer.Typer, perfect: Path, tmp_path: Path
) -> None:
    """``--replay DIR`` takes ``DIR/scores.json`` as the figures to hold, as CI does."""
    recording = tmp_path / "recording"
    recording.mkdir()
    (recording / "scores.json").write_text(json.dumps({"overall": {"characters_f1": 1.0}}))
    job = json.loads(perfect.read_text())
    job["result"]["architect"]["characters"].pop()
    worse = _result_file(tmp_path, job, "worse.json")
    try:
        run = _invoke(cli, VELL, "--result", worse, "--replay", recording)
    finally:
        os.environ.pop("NOVELCREW_LLM_REPLAY", None)
    assert run.exit_code == 1
    assert "characters_f1 0.8571 < 1.0" in run.stderr


def test_usage_errors_are_one_clear_line(cli: typer.Typer, perfect: Path,
                                         tmp_path: Path) -> None:
    two = _invoke(cli, VELL, GOLD_FILES[0], "--result", perfect)
    assert two.exit_code == 2 and "give one per gold file" in two.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("story: nowhere.txt\ncharacters: []\n")
    bad_gold = _invoke(cli, broken, "--result", perfect)
    assert bad_gold.exit_code == 2 and "not a valid gold file" in bad_gold.stderr
    not_a_result = _result_file(tmp_path, {"hello": "world"}, "x.json")
    bad_result = _invoke(cli, VELL, "--result", not_a_result)
    assert bad_result.exit_code == 2 and "no architect or director result" in bad_result.stderr
    missing = _invoke(cli, VELL, "--replay", tmp_path / "none")
    assert missing.exit_code == 2 and "no recording directory" in missing.stderr


def test_the_installed_novelcrew_command_has_eval(perfect: Path) -> None:
    """Through the console script: the plugin's entry point adds the command at start-up."""
    novelcrew = Path(sys.executable).parent / "novelcrew"
    env = {k: v for k, v in os.environ.items() if k != "NOVELCREW_PLUGINS"}
    run = subprocess.run([novelcrew, "eval", str(VELL), "--result", str(perfect), "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["overall"]["characters_f1"] == 1.0


@pytest.mark.slow
def test_the_offline_model_holds_its_baseline_on_every_gold_story(
    cli: typer.Typer, tmp_path: Path
) -> None:
    """The CI path: the whole pipeline on the offline stand-in, held to the stored figures.

    When a change improves the offline scores, store the new figures with
    ``novelcrew eval examples/gold/*.yaml --model offline --write-min-scores
    examples/gold/baselines/offline.json`` (see docs/quality.md).
    """
    run = _invoke(cli, *GOLD_FILES, "--model", "offline", "--json",
                  "--min-scores", OFFLINE_BASELINE, "--save-results", tmp_path)
    assert run.exit_code == 0, run.stderr
    report = json.loads(run.stdout)
    assert set(report) == {"stories", "overall"}
    assert [s["story"] for s in report["stories"]] == [p.stem for p in GOLD_FILES]
    assert {s["details"]["model"] for s in report["stories"]} == {"offline"}
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == [p.stem for p in GOLD_FILES]
    saved = json.loads((tmp_path / f"{VELL.stem}.json").read_text())
    assert saved["status"] == "succeeded" and saved["result"]["architect"]["model"]["offline"]


@pytest.mark.slow
def test_every_committed_recording_holds_the_scores_stored_beside_it(cli: typer.Typer) -> None:
    """Replays each recording under examples/gold/recordings/ (none is committed yet) with the
    model named in its scores.json, held to those scores; and the convention itself holds."""
    for scores in sorted((GOLD_DIR / "recordings").glob("*/scores.json")):
        model = json.loads(scores.read_text())["model"]
        try:
            run = _invoke(cli, *GOLD_FILES, "--model", model, "--replay", scores.parent)
        finally:
            os.environ.pop("NOVELCREW_LLM_REPLAY", None)
        assert run.exit_code == 0, f"{scores.parent.name}: {run.stderr}"
    assert json.loads(OFFLINE_BASELINE.read_text())["model"] == "offline"

