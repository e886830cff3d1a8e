"""The ``novelcrew`` command. Each command group lives in its own module, imported lazily."""

from __future__ import annotations

import typer

from novelcrew.cli import plugins as _plugins

app = typer.Typer(
    name="novelcrew",
    help="novelcrew: run crews of AI agents that turn stories into film production plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """novelcrew: run crews of AI agents that turn stories into film production plans."""


app.command("plugins")(_plugins.plugins_command)

for _module in ("serve", "run", "jobs", "worker", "plugin_new", "export"):
    try:
        __import__(f"novelcrew.cli.{_module}")
    except ModuleNotFoundError as exc:  # a command group not built yet
        if exc.name != f"novelcrew.cli.{_module}":
            raise
    else:
        import sys

        sys.modules[f"novelcrew.cli.{_module}"].attach(app)


def main() -> None:
    app()
