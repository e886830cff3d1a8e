"""``novelcrew run``: a job in-process with progress, a readable summary or the JSON record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from novelcrew.cli import app

STORY = "Maya climbed the stairs of the lighthouse. The storm came in."


def story_file(tmp_path: Path) -> Path:
    path = tmp_path / "story.md"
    path.write_text(STORY)
    return path


def test_json_record_of_a_successful_job(plugin_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "run", "count", "--story", str(story_file(tmp_path)), "--project-id", "p1",
        "--title", "Storm", "--model", "offline", "--json", "--data-dir", str(tmp_path / "d"),
    ])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "succeeded"
    assert record["result"]["count"] == {"words": 11, "title": "Storm", "project_id": "p1",
                                         "model": "offline"}
    assert record["progress"]["completed_tasks"] == 2
    assert record["project_id"] == "p1"
    assert "count started" not in result.stdout  # progress goes to stderr only
    assert "count" in result.stderr and "job succeeded" in result.stderr


def test_a_chain_prints_each_result_with_the_renderer_its_plugin_registers(
    plugin_dir: Path, tmp_path: Path
) -> None:
    """The test plugin's renderers (``register_renderers``): the plan's by crew name, the
    analysis's by shape; nothing of either is dumped as JSON."""
    result = CliRunner().invoke(app, ["run", "analyse,plan", "--story",
                                      str(story_file(tmp_path))], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("The Lighthouse: A keeper keeps a light. (themes: duty, solitude; cast: Maya)",
                 "Plan: 1 shot(s)", "INT. LIGHTHOUSE - NIGHT", "wide 24mm"):
        assert text in out, f"{text!r} missing from:\n{out}"
    assert '"logline"' not in out and '"shots"' not in out


def test_a_failing_job_exits_non_zero_and_shows_the_error(
    plugin_dir: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["run", "boom", "--story", str(story_file(tmp_path))])
    assert result.exit_code == 1
    assert "RuntimeError" in result.stdout and "the crew exploded" in result.stdout
    assert "failed in boom" in result.stderr


def test_a_failed_job_says_its_error_once(plugin_dir: Path, tmp_path: Path) -> None:
    """Once in all the user sees: the error panel (stdout), not again in the progress, a
    closing line or the job log's ``job_failed`` line at the default log level. (A crew's
    unexpected exception also logs its traceback: that line is for the crew's author.)"""
    result = CliRunner().invoke(app, ["run", "count"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "story_text: Field required" in result.stdout
    assert (result.stdout + result.stderr).count("story_text") == 1, result.output
    assert "job_failed" not in result.stderr
    # with --json the record is stdout's; stderr says it once, for the person watching
    result = CliRunner().invoke(app, ["run", "count", "--json"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "invalid_input"
    assert result.stderr.count("story_text") == 1, result.stderr
    assert "job failed: invalid_input" in result.stderr


def test_log_level_info_still_logs_job_failed(plugin_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "boom", "--story", str(story_file(tmp_path)),
                                      "--log-level", "INFO"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "job_failed" in result.stderr


def test_invalid_input_is_explained(plugin_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "count", "--json"])
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["status"] == "failed"
    assert record["error"]["type"] == "invalid_input"
    assert record["error"]["details"]["errors"][0]["loc"] == ["story_text"]


def test_extra_inputs_and_stdin(plugin_dir: Path) -> None:
    result = CliRunner().invoke(app, ["run", "count", "--story", "-", "-i", "delay=0.01",
                                      "--json"], input="three little words")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["count"]["words"] == 3


def test_unknown_crew_and_missing_file_are_usage_errors(plugin_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "nope", "--story", str(story_file(tmp_path))])
    assert result.exit_code == 2
    assert "unknown crew 'nope'" in result.stderr and "count" in result.stderr
    result = CliRunner().invoke(app, ["run", "count", "--story", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and "story file not found" in result.stderr


def test_the_real_command_in_a_process(plugin_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(plugin_dir), "NOVELCREW_PLUGINS": "clitest"}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "novelcrew"), "run", "count", "--story",
         str(story_file(tmp_path)), "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"]["count"]["words"] == 11
    assert "loading crewAI" in proc.stderr  # the import's seconds are not silent


def test_help_does_not_import_crewai(tmp_path: Path) -> None:
    code = ("import sys; from novelcrew.cli import app; "
            "from typer.main import get_command; get_command(app); "
            "print('crewai' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_ctrl_c_cancels_the_job_cleanly(plugin_dir: Path, tmp_path: Path) -> None:
    import signal

    env = {**os.environ, "PYTHONPATH": str(plugin_dir), "NOVELCREW_PLUGINS": "clitest"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "novelcrew"), "run", "count", "--story",
         str(story_file(tmp_path)), "-i", "delay=10", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "count started" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    record = json.loads(out)
    assert record["status"] == "cancelled"
    assert record["result"] == {}


def test_invalid_input_reads_clearly_on_a_terminal(plugin_dir: Path) -> None:
    result = CliRunner().invoke(app, ["run", "count"], env={"COLUMNS": "120"})
    assert result.exit_code == 1
    assert "invalid_input in crew count" in result.stdout
    assert "story_text: Field required" in result.stdout
    assert "failed in count" in result.stderr
    assert "story_text" not in result.stderr  # said once, in the panel
