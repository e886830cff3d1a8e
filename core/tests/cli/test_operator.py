"""What an operator sees from the ``novelcrew`` command itself (the installed console script,
run as a real subprocess): version and help, one line for a bad setting, a warning for an
unknown one, and the startup summary with its loud ``offline`` warning."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from novelcrew_sdk.testing import free_port, stop_process

NOVELCREW = str(Path(sys.executable).parent / "novelcrew")


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("NOVELCREW_", "OPENROUTER_", "CREWAI_"))}
    return {**base, "NOVELCREW_PLUGINS": "", **extra}


def run(*args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NOVELCREW, *args], capture_output=True, text=True, cwd=cwd,
                          env=env(**extra), timeout=60)


def test_version_and_short_help(tmp_path: Path) -> None:
    from novelcrew import __version__

    out = run("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == f"novelcrew {__version__}\n"
    short = run("-h", cwd=tmp_path)
    assert short.returncode == 0 and "serve" in short.stdout and "--version" in short.stdout
    assert short.stdout == run("--help", cwd=tmp_path).stdout
    assert "Serve the HTTP API" in run("serve", "-h", cwd=tmp_path).stdout


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    out = run("plugins", cwd=tmp_path, NOVELCREW_PORT="abc")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "novelcrew: error: bad setting NOVELCREW_PORT='abc': Input should be a valid integer, "
        "unable to parse string as an integer"]
    # the Novel Movie alias is named as what was set
    out = run("serve", cwd=tmp_path, CREWAI_PORT="x")
    assert out.returncode == 2 and "CREWAI_PORT='x'" in out.stderr
    assert "Traceback" not in out.stderr
    # and from a .env file
    (tmp_path / ".env").write_text("NOVELCREW_CONCURRENCY=0\n")
    out = run("plugins", "--json", cwd=tmp_path)
    assert out.returncode == 2 and "NOVELCREW_CONCURRENCY" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_an_empty_data_dir_is_refused_not_taken_for_the_current_folder(tmp_path: Path) -> None:
    """``NOVELCREW_DATA_DIR=`` left blank in an env file put the job store in whatever folder
    the command started in."""
    out = run("serve", "--port", str(free_port()), cwd=tmp_path, NOVELCREW_DATA_DIR="")
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "novelcrew: error: bad setting NOVELCREW_DATA_DIR='': Value error, is empty: name a "
        "folder, or leave it unset for .novelcrew"]
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_job_backend_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Backends come from plugins, so the name is checked when the server builds its
    backend: it was a ``BackendUnavailable`` traceback with exit status 1."""
    out = run("serve", "--port", str(free_port()), cwd=tmp_path, NOVELCREW_JOB_BACKEND="nope",
              NOVELCREW_DATA_DIR=str(tmp_path / "data"))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "novelcrew: error: bad setting NOVELCREW_JOB_BACKEND='nope': no loaded plugin "
        "registers that job backend; known: arq, inline")


def test_a_bad_redis_url_stops_the_worker_with_one_line(tmp_path: Path) -> None:
    out = run("worker", cwd=tmp_path, NOVELCREW_REDIS_URL="localhost:6379")
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "novelcrew: error: bad setting NOVELCREW_REDIS_URL='localhost:6379': Value error, "
        "should start with redis://, rediss://, unix://"]


def test_a_backend_that_cannot_start_ends_serve_with_its_cause(tmp_path: Path) -> None:
    """Exit status 3, as before, but the last line says why (it was uvicorn's
    "Application startup failed. Exiting." after a 60-frame traceback in one JSON line)."""
    (tmp_path / "taken").write_text("")
    out = run("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "taken"),
              cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(
        "novelcrew: error: the inline job backend could not start: FileExistsError: ")
    assert '"event":"backend_start_failed"' in out.stderr
    nobody = free_port()
    out = run("serve", "--port", str(free_port()), cwd=tmp_path, NOVELCREW_JOB_BACKEND="arq",
              NOVELCREW_REDIS_URL=f"redis://:hunter2@127.0.0.1:{nobody}/0")
    assert out.returncode == 3, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("novelcrew: error: the arq job backend could not start: "
                           "ConnectionError: "), last
    assert f"127.0.0.1:{nobody}" in last and "hunter2" not in out.stderr


def test_a_bad_plugin_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    """Checked at the start of a command that runs jobs, not left to fail every job."""
    bad = {"NOVELCREW_PLUGINS": "storyboard", "NOVELCREW_STORYBOARD_CLIP_SECONDS": "abc",
           "NOVELCREW_DATA_DIR": str(tmp_path / "data")}
    line = ("novelcrew: error: bad setting NOVELCREW_STORYBOARD_CLIP_SECONDS='abc': Input "
            "should be a valid number, unable to parse string as a number")
    out = run("run", "storyboard", "--project-id", "p1", "--model", "offline", cwd=tmp_path,
              **bad)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [line]
    out = run("serve", "--port", str(free_port()), cwd=tmp_path, **bad)
    assert out.returncode == 2, out.stderr
    assert line in out.stderr.splitlines() and "Traceback" not in out.stderr
    (tmp_path / "novelcrew.toml").write_text("[plugin_config.storyboard]\nclip_seconds = 500\n")
    out = run("run", "storyboard", "--project-id", "p1", cwd=tmp_path,
              NOVELCREW_PLUGINS="storyboard")
    assert out.returncode == 2, out.stderr
    assert "bad setting [plugin_config.storyboard] clip_seconds=500: Input should be less " \
        "than or equal to 120" in out.stderr


def test_an_unknown_novelcrew_variable_is_warned_about(tmp_path: Path) -> None:
    out = run("plugins", "--json", cwd=tmp_path, NOVELCREW_PROT="5002",
              NOVELCREW_JOB_BACKEND="inline", NOVELCREW_PATHRAG_API_URL="http://x")
    assert out.returncode == 0
    warnings = [line for line in out.stderr.splitlines() if "warning" in line]
    assert "novelcrew: warning: unknown setting NOVELCREW_PROT is ignored; did you mean " \
           "NOVELCREW_PORT?" in warnings
    assert not any("NOVELCREW_JOB_BACKEND" in line for line in warnings)


def test_serve_prints_one_summary_line_and_warns_about_offline(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([NOVELCREW, "serve", "--port", str(port),
                                 "--data-dir", str(tmp_path / "data")],
                                cwd=tmp_path, env=env(NOVELCREW_LOG_FORMAT="console"),
                                stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "WARNING: jobs will run on the `offline`" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        stop_process(proc)
    lines = log.read_text().splitlines()
    [summary] = [line for line in lines if line.startswith("novelcrew ")]
    assert f"serving on http://127.0.0.1:{port}" in summary
    assert f"(web UI: http://127.0.0.1:{port}/ui/)" in summary  # where a person opens it
    assert "backend=inline" in summary and f"data_dir={tmp_path / 'data'}" in summary
    assert "models: default=offline" in summary
    assert "plugins loaded 0 (none), failed 0" in summary


def test_a_worker_is_the_arq_backend_without_being_told(tmp_path: Path) -> None:
    """Started with only a Redis URL, a worker said ``backend=inline`` and kept its model
    concurrency limits to itself instead of the Redis pools all workers share."""
    log = tmp_path / "worker.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [NOVELCREW, "worker", "--redis-url", f"redis://127.0.0.1:{free_port()}/0"],
            cwd=tmp_path, env=env(NOVELCREW_DATA_DIR=str(tmp_path / "data")), stdout=fh,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "WARNING: jobs will run" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        stop_process(proc)
    [summary] = [line for line in log.read_text().splitlines()
                 if line.startswith("novelcrew ")]
    assert "worker on novelcrew:queue: backend=arq " in summary


def test_worker_settings_use_the_shared_model_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model limits of a worker's jobs are the Redis pools (``limiter_for``) though
    ``NOVELCREW_JOB_BACKEND`` is unset."""
    import novelcrew.backends.arq.worker as arq_worker
    from novelcrew.cli.worker import worker_command
    from novelcrew.llm.limit import RedisLimiter, limiter_for
    from novelcrew.settings import Settings

    seen: list[Settings] = []
    monkeypatch.delenv("NOVELCREW_JOB_BACKEND", raising=False)
    monkeypatch.setattr(arq_worker, "run_worker",
                        lambda settings, **_: seen.append(settings))
    monkeypatch.setattr("novelcrew.cli.print_startup_summary", lambda *a, **k: None)
    monkeypatch.setattr("novelcrew.logging.configure_logging", lambda settings: None)
    worker_command(concurrency=None, burst=False, redis_url=None, queue=None,
                   log_level=None, metrics_port=None, index=None, check=False)
    [settings] = seen
    assert settings.job_backend == "arq"
    assert isinstance(limiter_for(settings), RedisLimiter)


def test_plugins_on_a_narrow_terminal_lists_whole_names(tmp_path: Path) -> None:
    """Folded to 80 columns, the table broke every name mid-word ("register_c / rews",
    "kg_insert / _document / s"): too wide a table becomes one block per plugin."""
    import json

    every = {"NOVELCREW_PLUGINS": "architect,director,exports,pathrag,payload,storyboard"}
    listed = json.loads(run("plugins", "--json", cwd=tmp_path, **every).stdout)
    names = [n for row in listed for key in ("hooks", "crews", "tools", "exports", "renderers")
             for n in row[key]]
    assert "kg_insert_documents" in names  # the widest: pathrag is installed
    for width, wide in ((80, False), (200, True)):
        out = run("plugins", cwd=tmp_path, COLUMNS=str(width), **every)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert max(len(line) for line in lines) <= width
        words = set(out.stdout.replace(",", " ").split())
        assert {row["name"] for row in listed} | set(names) <= words, width
        assert any(line.split()[:2] == ["name", "version"] for line in lines if line.strip()) \
            is wide
