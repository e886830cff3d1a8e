"""``novelcrew export``: a job in a format a plugin registers (``register_exports``), from a
saved job record or a job on a server, and its errors. The test plugin ``clitest`` registers
``words.txt``; the story formats live in novelcrew-exports (plugins/exports)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from novelcrew.cli import app
from novelcrew.plugins import reset_plugins


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    """Each invocation loads the plugins its environment allows, as a new process would."""
    reset_plugins()
    yield
    reset_plugins()


def record(tmp_path: Path, result: dict[str, object]) -> Path:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"id": "job-1", "status": "succeeded", "result": result}))
    return path


def test_exports_a_saved_job_record_in_a_plugins_format(plugin_dir: Path,
                                                        tmp_path: Path) -> None:
    saved = record(tmp_path, {"count": {"words": 4}})
    runner = CliRunner()
    out = runner.invoke(app, ["export", str(saved), "-f", "words.txt", "-o", "-"])
    assert out.exit_code == 0, out.output
    assert out.stdout == "4 words\n"
    named = runner.invoke(app, ["export", str(saved), "--format", "words.txt"])
    assert named.exit_code == 0, named.output
    assert named.stdout == "wrote job-1.words.txt (8 bytes, The word count)\n"
    assert (tmp_path / "job-1.words.txt").read_text() == "4 words\n"


def test_a_wrong_format_or_missing_result_is_a_clear_error(plugin_dir: Path,
                                                           tmp_path: Path) -> None:
    saved = record(tmp_path, {"analyse": {"title": "x"}})
    runner = CliRunner()
    bad = runner.invoke(app, ["export", str(saved), "-f", "pdf"])
    assert bad.exit_code == 2
    assert "unknown format 'pdf'; one of: words.txt" in bad.output
    missing = runner.invoke(app, ["export", str(saved), "-f", "words.txt"])
    assert missing.exit_code == 1 and "run the count crew" in missing.output


def test_with_no_exports_plugin_it_says_none_is_installed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVELCREW_PLUGINS", "")
    result = CliRunner().invoke(app, ["export", str(record(tmp_path, {})), "-f", "fountain"])
    assert result.exit_code == 2
    assert "unknown format 'fountain'; no export formats are installed" in result.output


def test_exports_a_job_on_the_server_in_the_servers_formats(
        server: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    response = httpx.post(f"{server['url']}/jobs", headers={"X-API-Key": server["api_key"]},
                          json={"crews": ["count"], "inputs": {"story_text": "a b c"}})
    job_id = response.json()["id"]
    for _ in range(100):
        job = httpx.get(f"{server['url']}/jobs/{job_id}",
                        headers={"X-API-Key": server["api_key"]}).json()
        if job["status"] == "succeeded":
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    # no plugin here: the server's formats apply, and its file name gives the suffix
    monkeypatch.setenv("NOVELCREW_PLUGINS", "")
    monkeypatch.chdir(tmp_path)
    args = ["--url", server["url"], "--api-key", server["api_key"]]
    result = CliRunner().invoke(app, ["export", job_id, "-f", "words.txt", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {job_id}.words.txt (8 bytes, text/plain)\n"
    assert (tmp_path / f"{job_id}.words.txt").read_text() == "3 words\n"
    unknown = CliRunner().invoke(app, ["export", job_id, "-f", "pdf", *args])
    assert unknown.exit_code == 2
    assert "404: unknown export format 'pdf'; known: words.txt" in unknown.output


def test_an_unreachable_server_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "0123abc", "-f", "fountain",
                                      "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "cannot reach the server" in result.output
