"""The plugin as an installed package: listed with its formats, served by the core's API route
and CLI, light to import."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from export_fixtures import job
from typer.testing import CliRunner

from novelcrew import Job
from novelcrew.backends.inline import InlineBackend
from novelcrew.backends.memory import MemoryStore
from novelcrew.cli import app
from novelcrew.plugins import reset_plugins
from novelcrew_sdk import check_plugin, make_plugins, make_settings
from novelcrew_sdk.pytest_plugin import app_client

NAMES = ["fountain", "shots.csv", "breakdown.csv", "stripboard.csv", "report.html"]


def test_plugin_is_listed_with_its_formats() -> None:
    plugins = make_plugins(entry_points=["exports"])
    info = plugins.infos["exports"]
    assert info.error is None and info.hooks == ["register_exports"]
    assert info.exports == NAMES
    assert info.public()["exports"] == NAMES
    assert {name: e.plugin for name, e in plugins.registry.exports.items()} == {
        name: "exports" for name in NAMES}


def test_exports_passes_the_plugin_contract(tmp_path: Path) -> None:
    report = check_plugin("exports", entry_points_for_tools=(), data_dir=tmp_path)
    assert report.hooks == ["register_exports"] and report.crews == {}


async def test_the_api_lists_and_serves_every_format(tmp_path: Path) -> None:
    plugins = make_plugins(entry_points=["exports"])
    settings = make_settings(tmp_path)
    store = MemoryStore()
    record = job()
    finished = Job(id="0123abcd", crews=["architect", "director"], status="succeeded",
                   result=record["result"])
    partial = Job(id="4567abcd", crews=["architect"], status="succeeded",
                  result={"architect": record["result"]["architect"]})
    async with app_client(plugins, settings,
                          InlineBackend(plugins, settings, store=store)) as client:
        await store.create(finished)
        await store.create(partial)
        listed = (await client.get("/exports")).json()
        assert [(f["name"], f["plugin"]) for f in listed] == [(n, "exports") for n in NAMES]
        assert listed[0]["label"] == "Screenplay (.fountain)"
        shots = await client.get("/jobs/0123abcd/export/shots.csv")
        assert shots.status_code == 200
        assert shots.headers["content-type"].startswith("text/csv")
        assert shots.headers["content-disposition"] == \
            'attachment; filename="0123abcd.shots.csv"'
        rows = list(csv.DictReader(io.StringIO(shots.text)))
        assert [r["size"] for r in rows] == ["WS", "CU", "EWS"]
        play = await client.get("/jobs/0123abcd/export/fountain")
        assert "INT. THE KITCHEN - NIGHT" in play.text
        # the architect alone: a screenplay, but no shot list yet (409, saying why)
        assert (await client.get("/jobs/4567abcd/export/fountain")).status_code == 200
        early = await client.get("/jobs/4567abcd/export/shots.csv")
        assert early.status_code == 409
        assert early.json()["error"]["type"] == "conflict"
        assert "run the director crew" in early.json()["error"]["message"]
        assert early.json()["error"]["details"] == {
            "job_id": "4567abcd", "format": "shots.csv", "status": "succeeded"}


@pytest.fixture
def only_exports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI with this plugin the only one installed plugin loaded."""
    monkeypatch.setenv("NOVELCREW_PLUGINS", "exports")
    monkeypatch.delenv("NOVELCREW_PLUGIN_MODULES", raising=False)
    reset_plugins()
    yield
    reset_plugins()


def test_the_cli_exports_a_saved_job_record(tmp_path: Path, only_exports: None) -> None:
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


def test_a_wrong_format_or_missing_crew_is_a_clear_error(tmp_path: Path,
                                                         only_exports: None) -> None:
    record = tmp_path / "job.json"
    partial = job()
    del partial["result"]["director"]
    record.write_text(json.dumps(partial))
    runner = CliRunner()
    bad = runner.invoke(app, ["export", str(record), "-f", "pdf"])
    assert bad.exit_code == 2 and "unknown format 'pdf'" in bad.output
    assert "one of: fountain, shots.csv" in bad.output
    missing = runner.invoke(app, ["export", str(record), "-f", "shots.csv"])
    assert missing.exit_code == 1 and "run the director crew" in missing.output


def test_entry_point_module_imports_no_crewai_and_no_other_plugin() -> None:
    code = ("import sys, novelcrew_exports.plugin; print('crewai' in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith('novelcrew_') "
            "and not m.startswith('novelcrew_exports')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False []"
