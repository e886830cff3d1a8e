"""A plugin author outside this repository, from the wheels only: fresh venv, install novelcrew
and the SDK from ``dist/``, scaffold a plugin, run its tests, ``novelcrew install -e`` it, see it
in ``novelcrew plugins`` and a served app's ``/plugins``, run a job on it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every workspace wheel, built once per session (what ``make dist`` does)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["uv", "build", "-q", "--all-packages", "--wheel", "-o", str(out)],
                   cwd=REPO, check=True)
    return out


def test_author_path_from_wheels(wheels: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "-q", str(venv)], check=True)
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
           "VIRTUAL_ENV": str(venv), "NOVELCREW_DATA_DIR": str(tmp_path / "data")}
    env.pop("PYTHONPATH", None)

    def sh(*argv: str, cwd: Path = tmp_path) -> str:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
        return done.stdout

    sh("uv", "pip", "install", "-q", "--refresh", "--python", str(venv / "bin" / "python"),
       "--find-links", str(wheels), "novelcrew", "novelcrew-sdk")
    printed = sh("novelcrew", "plugin", "new", "foo")
    plugin = tmp_path / "novelcrew-foo"
    assert "novelcrew install -e '.[test]'" in printed
    assert "novelcrew install -e '.[test]'" in (plugin / "README.md").read_text()
    assert "pypi.org" not in (plugin / "README.md").read_text()

    sh("novelcrew", "install", "-e", ".[test]", cwd=plugin)
    tested = sh("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin)
    assert " passed" in tested and "warning" not in tested.lower(), tested

    listed = json.loads(sh("novelcrew", "plugins", "--json"))
    foo = next(row for row in listed if row["name"] == "foo")
    assert foo["crews"] == ["foo"] and foo["error"] is None

    (tmp_path / "story.txt").write_text("A girl finds a map. She follows it to the sea.\n")
    assert "succeeded" in sh("novelcrew", "run", "foo", "--story", "story.txt",
                             "--model", "offline")

    port = free_port()
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen(["novelcrew", "serve", "--port", str(port)], cwd=tmp_path,
                                  env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/plugins", server, timeout=60,
                      log=tmp_path / "serve.log")
        response = httpx.get(f"http://127.0.0.1:{port}/plugins", timeout=5)
        assert response.status_code == 200
        assert "foo" in json.dumps(response.json())
    finally:
        stop_process(server)
