"""The SDK's ``novelcrew`` plugin: it adds ``novelcrew plugin new NAME`` to the CLI through the
``register_commands`` hook, so the core never imports the SDK."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer

from novelcrew import hookimpl

plugin_app = typer.Typer(help="Work on plugin packages (from novelcrew-sdk).",
                         no_args_is_help=True)


@plugin_app.command("new")
def new(
    name: str = typer.Argument(..., help="Plugin name, e.g. 'storyboard'."),
    directory: Path = typer.Option(Path("."), "--dir", help="Where to create the package."),
) -> None:
    """Write a working plugin package: entry point, a crew, a tool and passing tests."""
    from novelcrew_sdk.scaffold import ScaffoldError, new_plugin

    try:
        target = new_plugin(name, directory)
    except ScaffoldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {target}\nnext: cd {target} && novelcrew install -e '.[test]' "
               f"&& {_python()} -m pytest")


def _python() -> str:
    """``python`` when that is the interpreter novelcrew runs in (an activated venv), else its
    full path: ``novelcrew install`` installs there, so the tests must run there too."""
    on_path = shutil.which("python")
    if on_path and Path(on_path).absolute() == Path(sys.executable).absolute():
        return "python"
    return sys.executable


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    cli.add_typer(plugin_app, name="plugin")
