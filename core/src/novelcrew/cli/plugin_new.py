"""``novelcrew plugin new NAME``: scaffold a plugin package (the template lives in the SDK)."""

from __future__ import annotations

from pathlib import Path

import typer

plugin_app = typer.Typer(help="Work on plugin packages.", no_args_is_help=True)


@plugin_app.command("new")
def new(
    name: str = typer.Argument(..., help="Plugin name, e.g. 'storyboard'."),
    directory: Path = typer.Option(Path("."), "--dir", help="Where to create the package."),
) -> None:
    """Write a working plugin package: entry point, a crew, a tool and passing tests."""
    try:
        from novelcrew_sdk.scaffold import ScaffoldError, new_plugin
    except ImportError:
        typer.echo("novelcrew plugin new needs the SDK: pip install novelcrew-sdk", err=True)
        raise typer.Exit(2) from None
    try:
        target = new_plugin(name, directory)
    except ScaffoldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {target}\nnext: cd {target} && pip install -e '.[test]' && pytest")


def attach(app: typer.Typer) -> None:
    app.add_typer(plugin_app, name="plugin")
