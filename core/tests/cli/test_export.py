"""``novelcrew export``: from a saved job record without a server, and its errors."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from novelcrew.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exports"))
from test_exports import job


def test_exports_a_saved_job_record(tmp_path: Path) -> None:
    record = tmp_path / "job.json"
    record.write_text(json.dumps(job()))
    runner = CliRunner()
    out = tmp_path / "plan.csv"
    result = runner.invoke(app, ["export", str(record), "--format", "shots.csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 3 and rows[0]["size"] == "WS"
    result = runner.invoke(app, ["export", str(record), "-f", "fountain", "-o", "-"])
    assert result.exit_code == 0 and "INT. THE KITCHEN - NIGHT" in result.stdout


def test_a_wrong_format_or_missing_crew_is_a_clear_error(tmp_path: Path) -> None:
    record = tmp_path / "job.json"
    partial = job()
    del partial["result"]["director"]
    record.write_text(json.dumps(partial))
    runner = CliRunner()
    bad = runner.invoke(app, ["export", str(record), "-f", "pdf"])
    assert bad.exit_code == 2 and "unknown format 'pdf'" in bad.output
    missing = runner.invoke(app, ["export", str(record), "-f", "shots.csv"])
    assert missing.exit_code == 1 and "run the director crew" in missing.output


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "0123abc", "-f", "fountain",
                                      "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "cannot reach the server" in result.output
