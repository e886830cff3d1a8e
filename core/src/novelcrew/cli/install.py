"""``novelcrew install`` / ``uninstall``: add or remove plugins in novelcrew's own environment,
like ``llm install``, so an author never has to find which venv the command lives in. Uses
``uv pip`` when uv is on PATH (uv-made venvs have no pip), else ``python -m pip``."""

from __future__ import annotations

import shutil
import subprocess
import sys

import typer


def installer_command(action: str, python: str | None = None) -> list[str]:
    """The argv prefix that runs ``pip <action>`` against the environment of ``python``."""
    python = python or sys.executable
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", action, "--python", python]
    return [python, "-m", "pip", action]


def _run(argv: list[str]) -> None:
    typer.echo("$ " + " ".join(argv), err=True)
    code = subprocess.call(argv)
    if code:
        raise typer.Exit(code)


def install_command(
    packages: list[str] = typer.Argument(None, help="Package names, wheels or paths."),
    editable: list[str] = typer.Option(
        [], "--editable", "-e", help="Install this project folder in editable mode."),
    find_links: list[str] = typer.Option(
        [], "--find-links", "-f", help="Also look for packages in this folder (e.g. dist/)."),
    upgrade: bool = typer.Option(False, "--upgrade", "-U", help="Upgrade if installed."),
) -> None:
    """Install plugins (or any package) into the environment novelcrew runs in."""
    if not packages and not editable:
        typer.echo("novelcrew install: name at least one package or -e PATH", err=True)
        raise typer.Exit(2)
    argv = installer_command("install")
    for link in find_links:
        argv += ["--find-links", link]
    if upgrade:
        argv.append("--upgrade")
    for path in editable:
        argv += ["-e", path]
    _run(argv + list(packages or []))


def uninstall_command(
    packages: list[str] = typer.Argument(..., help="Package names to remove."),
) -> None:
    """Remove packages from the environment novelcrew runs in."""
    argv = installer_command("uninstall")
    if "uv" not in argv[0].rsplit("/", 1)[-1]:
        argv.append("-y")  # pip asks for confirmation; uv does not
    _run(argv + packages)


def attach(app: typer.Typer) -> None:
    app.command("install")(install_command)
    app.command("uninstall")(uninstall_command)
