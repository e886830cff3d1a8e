"""``novelcrew install`` / ``uninstall`` put packages into a chosen Python environment with the
installer that environment can use (uv-made venvs have no pip)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from novelcrew.cli import app
from novelcrew.cli.install import installer_command


def _tiny_project(root: Path) -> Path:
    proj = root / "tiny-plugin"
    (proj / "src" / "tiny_plugin").mkdir(parents=True)
    (proj / "src" / "tiny_plugin" / "__init__.py").write_text("VALUE = 42\n")
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "tiny-plugin"\nversion = "0.1.0"\n'
        '[build-system]\nrequires = ["hatchling>=1.25"]\nbuild-backend = "hatchling.build"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/tiny_plugin"]\n'
    )
    return proj


def test_install_editable_then_uninstall_in_a_fresh_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "-q", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    proj = _tiny_project(tmp_path)

    subprocess.run([*installer_command("install", python), "-e", str(proj)], check=True)
    out = subprocess.run([python, "-c", "import tiny_plugin; print(tiny_plugin.VALUE)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"

    subprocess.run([*installer_command("uninstall", python), "tiny-plugin"], check=True)
    gone = subprocess.run([python, "-c", "import tiny_plugin"], capture_output=True)
    assert gone.returncode != 0


def test_installer_targets_novelcrews_own_python_by_default() -> None:
    assert sys.executable in installer_command("install")


def test_install_without_targets_says_what_is_missing() -> None:
    result = CliRunner().invoke(app, ["install"])
    assert result.exit_code == 2
    assert "-e PATH" in result.output
