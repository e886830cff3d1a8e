"""``novelcrew plugins``: what is installed, what each registers, and what failed."""

from __future__ import annotations

import json

import typer


def plugins_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
    all_: bool = typer.Option(False, "--all", help="Include the built-in default plugins."),
) -> None:
    """List installed plugins with their hooks, crews, tools, models, errors and warnings."""
    from novelcrew.introspect import plugin_list

    rows = plugin_list(include_builtin=all_)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="novelcrew plugins")
    columns = ("name", "version", "hooks", "crews", "tools", "models", "error", "warnings")
    for col in columns:
        table.add_column(col, overflow="fold",
                         style="red" if col == "error" else "yellow" if col == "warnings"
                         else None)
    for row in rows:
        table.add_row(*(
            ", ".join(row[c]) if isinstance(row[c], list) else (row[c] or "")
            for c in columns
        ))
    Console().print(table)
