"""``novelcrew serve --reload`` (issue #23): it finds the source folders of editable-installed
plugins from their metadata, and a changed file there restarts the server with the plugin
loaded anew (a real subprocess, as a plugin author runs it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from nc_plugin_dists import COUNTER, dist_info

import novelcrew
from novelcrew.plugins import editable_plugin_sources
from novelcrew_sdk.testing import free_port

NOVELCREW = str(Path(sys.executable).parent / "novelcrew")

PLUGIN = COUNTER + """
@hookimpl
def register_crews(register):
    register(Crew(name="{crew}", description="x", input_model=In, output_model=Out, run=run))
"""


@pytest.fixture
def editable(tmp_path: Path) -> dict[str, Path]:
    """An editable plugin (its package under project/src) and a regular one, installed into
    ``site`` as pip would install them."""
    site, project = tmp_path / "site", tmp_path / "project"
    package = project / "src" / "nc_reloadme"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN.format(crew="alpha")))
    dist_info(site, "reloadme", "nc_reloadme", editable=project)
    (site / "nc_fixed.py").write_text(textwrap.dedent(PLUGIN.format(crew="fixed")))
    dist_info(site, "fixed", "nc_fixed")
    return {"site": site, "src": project / "src", "package": package}


def test_reload_dirs_are_the_editable_plugins_package_folders(editable, monkeypatch):
    monkeypatch.syspath_prepend(str(editable["site"]))
    monkeypatch.syspath_prepend(str(editable["src"]))
    found = editable_plugin_sources()
    assert editable["package"].resolve() in found
    assert not any(str(editable["site"].resolve()) in str(path) for path in found)
    assert "nc_reloadme" not in sys.modules  # found from metadata, nothing imported


def _crews(port: int) -> set[str] | None:
    try:
        rows = httpx.get(f"http://127.0.0.1:{port}/plugins", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None  # not up yet, or restarting
    return {crew for row in rows for crew in row["crews"]}


def _wait_for(port: int, crew: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while crew not in (_crews(port) or set()):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no crew {crew!r}:\n{log.read_text()}"
        time.sleep(0.2)


@contextmanager
def serving_with_reload(editable: Any, tmp_path: Path, plugins: str
                        ) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    """``novelcrew serve --reload`` in ``tmp_path`` with the editable plugin on its path, its
    output in ``tmp_path/serve.log``; stopped (reloader and server) on the way out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NOVELCREW_", "OPENROUTER_", "CREWAI_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(editable["site"]), str(editable["src"])]),
               NOVELCREW_PLUGINS=plugins, NOVELCREW_LOG_FORMAT="console")
    log = tmp_path / "serve.log"  # in the server's current folder
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [NOVELCREW, "serve", "--reload", "--port", str(port), "--data-dir",
             str(tmp_path / "data")],
            cwd=tmp_path, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield port, proc, log
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # uvicorn's reloader stops its server process
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_a_changed_plugin_file_reloads_the_server(editable, tmp_path):
    with serving_with_reload(editable, tmp_path, "reloadme,fixed") as (port, proc, log):
        _wait_for(port, "alpha", proc, log)
        # --data-dir reached the reloaded server process (as NOVELCREW_DATA_DIR)
        assert (tmp_path / "data").is_dir() and not (tmp_path / ".novelcrew").exists()
        # the workspace's own editable plugins are watched too, in path order
        [watches] = [line for line in log.read_text().splitlines() if "--reload watches" in line]
        assert str(editable["package"].resolve()) in watches.split("--reload watches ", 1)[1]
        (editable["package"] / "__init__.py").write_text(
            textwrap.dedent(PLUGIN.format(crew="beta")))
        _wait_for(port, "beta", proc, log)
        crews = _crews(port) or set()
        assert "alpha" not in crews and "fixed" in crews


def _starts(log: Path) -> int:
    return log.read_text().count("Started server process")


def test_only_python_source_restarts_the_server(editable, tmp_path):
    """The current folder is not watched: the server's own log there, or a script there,
    never restarts it (it used to be watched when no plugin was an editable install). A
    change to core's source does."""
    core_file = Path(novelcrew.__file__).resolve().parent / "errors.py"
    times = core_file.stat()
    try:
        with serving_with_reload(editable, tmp_path, "reloadme") as (port, proc, log):
            _wait_for(port, "alpha", proc, log)
            assert _starts(log) == 1
            script = tmp_path / "notes.py"
            for n in range(30):  # each request logs a line into serve.log
                httpx.get(f"http://127.0.0.1:{port}/jobs/nope", timeout=5)
                script.write_text(f"n = {n}\n")
                time.sleep(0.1)
            time.sleep(2.5)  # past watchfiles' debounce
            assert _starts(log) == 1, log.read_text()
            assert "Reloading" not in log.read_text()
            os.utime(core_file)  # as an editor saving it
            deadline = time.monotonic() + 60
            while _starts(log) < 2:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            _wait_for(port, "alpha", proc, log)
    finally:
        os.utime(core_file, ns=(times.st_atime_ns, times.st_mtime_ns))
