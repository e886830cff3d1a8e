"""``novelcrew plugins``: what is installed, what each registers, and what failed."""

from __future__ import annotations

import json
from typing import Any

import typer


def plugins_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
    all_: bool = typer.Option(False, "--all", help="Include the built-in default plugins."),
    check: bool = typer.Option(
        False, "--check", help="Run the SDK's contract check on every loaded plugin (each "
        "crew runs end to end on the offline model); exit 1 if any fails."),
) -> None:
    """List installed plugins with their hooks, crews, tools, models, exports, renderers, errors
    and warnings."""
    from novelcrew.introspect import plugin_list

    if check:  # the built-ins are core's, not plugins a contract checks
        raise typer.Exit(check_plugins(plugin_list(), as_json))
    rows = plugin_list(include_builtin=all_)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console

    console = Console()
    # a column empty for every plugin is left out; --json always has every key
    columns = [col for col in ("name", "version", "hooks", "crews", "tools", "models",
                               "exports", "renderers", "error", "warnings")
               if col in ("name", "version") or any(row[col] for row in rows)]
    table = _table(rows, columns)
    if console.measure(table, options=console.options.update_width(10_000)).maximum \
            <= console.width:
        console.print(table)
    else:  # a table folded to the width breaks names mid-word: one block per plugin instead
        console.print(_blocks(rows, columns[2:]))


def _style(col: str) -> str | None:
    return "red" if col == "error" else "yellow" if col == "warnings" else None


def _table(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """One plugin a row and one hook, crew or tool a line, in a light box. Cells are plain
    text, never rich markup: an error quoting ``[project.entry-points.novelcrew]`` shows it."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title="novelcrew plugins", box=box.SIMPLE_HEAD,
                  padding=(0, 1, 0, 0), pad_edge=False)
    for col in columns:
        table.add_column(col, overflow="fold", style=_style(col))
    for row in rows:
        table.add_row(*(
            Text("\n".join(row[c]) if isinstance(row[c], list) else (row[c] or ""))
            for c in columns
        ))
    return table


def _blocks(rows: list[dict[str, Any]], fields: list[str]) -> Any:
    """Each plugin's name and version, then a line per field it fills: ``crews  architect``;
    a long list wraps between names, under its own column. Plain text, as in ``_table``."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for index, row in enumerate(rows):
        if index:
            grid.add_row("", "")
        grid.add_row(Text(row["name"], style="bold"), Text(row["version"] or ""))
        for col in fields:
            value = row[col]
            if value:
                text = ", ".join(value) if isinstance(value, list) else str(value)
                grid.add_row(f"  {col}", Text(text), style=_style(col))
    return grid


def check_plugins(rows: list[dict[str, Any]], as_json: bool = False) -> int:
    """Run every installed checker (entry-point group ``novelcrew.checks``; novelcrew-sdk
    provides the contract check) on each plugin; a plugin that failed to load fails at once.
    Prints one line per plugin and checker; returns the exit code (0 all pass, 1 a failure,
    2 no checker installed)."""
    from importlib.metadata import entry_points

    from novelcrew.logging import configure_logging
    from novelcrew.plugins import CHECKS_GROUP, load_entry_point
    from novelcrew.settings import Settings

    # the checked jobs log to stderr, stdout is the verdicts; as with `novelcrew run`, only
    # warnings and errors unless NOVELCREW_LOG_LEVEL asks for more
    settings = Settings()
    if "log_level" not in settings.model_fields_set:
        settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings)
    checkers = sorted(entry_points(group=CHECKS_GROUP), key=lambda ep: ep.name)
    if not checkers:
        typer.echo("novelcrew: error: no plugin checker is installed; --check runs the "
                   "contract check of novelcrew-sdk: novelcrew install novelcrew-sdk", err=True)
        return 2
    results: list[dict[str, Any]] = []
    for row in rows:
        if row["error"]:
            results.append({"plugin": row["name"], "check": "load", "ok": False,
                            "message": row["error"]})
            continue
        for ep in checkers:
            try:
                message = str(load_entry_point(ep)(row["name"]) or "")
                ok = True
            except Exception as exc:  # a failing check, or a broken checker: both fail
                message, ok = " ".join(f"{type(exc).__name__}: {exc}".split()), False
            results.append({"plugin": row["name"], "check": ep.name, "ok": ok,
                            "message": message})
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        for result in results:
            verdict = "ok  " if result["ok"] else "FAIL"
            typer.echo(f"{verdict} {result['plugin']} ({result['check']}): {result['message']}")
    return 0 if all(result["ok"] for result in results) else 1
