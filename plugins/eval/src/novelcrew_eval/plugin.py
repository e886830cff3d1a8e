"""Entry point of the eval plugin: adds the ``novelcrew eval`` command.

Kept light: the command's module (and the pipeline it runs) is imported only when the CLI is
built, never when a server or worker loads plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from novelcrew import hookimpl

if TYPE_CHECKING:
    import typer

__all__ = ["register_commands"]


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    """Add ``eval`` to the ``novelcrew`` command (a ``typer.Typer``)."""
    from novelcrew_eval.cli import attach

    attach(cli)
