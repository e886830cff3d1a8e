"""The wheel installs alone beside core in a fresh environment, is listed and runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from storyboard_fixtures import previous

ROOT = Path(__file__).resolve().parents[3]


def _uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    assert found, "uv is needed to build the wheels (https://docs.astral.sh/uv/)"
    return found


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, f"{args}: {out.stdout[-2000:]}{out.stderr[-3000:]}"
    return out.stdout


def test_the_wheel_installs_alone_beside_core_and_runs(tmp_path: Path) -> None:
    uv, dist = _uv(), tmp_path / "dist"
    for package in ("novelcrew", "novelcrew-storyboard"):
        run(uv, "build", "--package", package, "--wheel", "--out-dir", str(dist), "-q")
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["novelcrew", "novelcrew_storyboard"]
    venv = tmp_path / "venv"
    run(uv, "venv", "-q", str(venv), "--python", sys.executable)
    python = venv / "bin" / "python"
    run(uv, "pip", "install", "-q", "--python", str(python), *(str(dist / w) for w in wheels))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NOVELCREW_", "VIRTUAL_ENV", "OPENAI_", "OPENROUTER_"))}
    env["HOME"] = str(tmp_path / "home")
    novelcrew = str(venv / "bin" / "novelcrew")
    rows = {row["name"]: row for row in json.loads(run(novelcrew, "plugins", "--json", env=env))}
    assert set(rows) == {"storyboard"}  # alone: no other plugin is installed there
    assert rows["storyboard"]["crews"] == ["storyboard"] and rows["storyboard"]["error"] is None
    frozen = run(uv, "pip", "freeze", "--python", str(python))
    assert "novelcrew-architect" not in frozen and "novelcrew-sdk" not in frozen

    job = json.loads(run(novelcrew, "run", "storyboard", "-m", "offline", "--json",
                         "--data-dir", str(tmp_path / "data"),
                         "-i", f"previous={json.dumps(previous())}", cwd=tmp_path, env=env))
    assert job["status"] == "succeeded", job.get("error")
    board = job["result"]["storyboard"]
    assert board["offline"] is True and board["ready_for_media_generation"] is False
    assert board["totals"]["shots"] == 4
