"""The ``novelcrew`` command. Each command group lives in its own module; plugins add theirs
through the ``register_commands`` hook when the command starts (``main``)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer

from novelcrew import __version__
from novelcrew.cli import plugins as _plugins

app = typer.Typer(
    name="novelcrew",
    help="novelcrew: run crews of AI agents that turn stories into film production plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"novelcrew {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", is_eager=True, callback=_print_version,
        help="Print the version and exit.",
    ),
) -> None:
    """novelcrew: run crews of AI agents that turn stories into film production plans."""


app.command("plugins")(_plugins.plugins_command)

for _module in ("serve", "run", "jobs", "worker", "export", "install", "estimate"):
    __import__(f"novelcrew.cli.{_module}")
    sys.modules[f"novelcrew.cli.{_module}"].attach(app)


def add_plugin_commands(cli: typer.Typer, plugins: object | None = None) -> list[str]:
    """Let each loaded plugin add its commands (``register_commands``); a plugin that raises
    is reported on stderr and the others' commands still work. Returns the failures."""
    from novelcrew.plugins import Plugins, describe_error, get_plugins

    loaded = plugins if isinstance(plugins, Plugins) else get_plugins()
    failures = []
    for name, result in loaded.call_each("register_commands", cli=cli):
        if isinstance(result, Exception):
            plugin = loaded.pm.get_plugin(name)
            error = describe_error(result, getattr(plugin, "__name__", None)
                                   or type(plugin).__module__)
            failures.append(f"{name}: {error}")
            typer.echo(f"novelcrew: warning: plugin {name!r} failed to add its commands: "
                       f"{error}", err=True)
    return failures


#: commands that report plugin load problems themselves: ``serve`` and ``worker`` in their
#: startup summary, ``plugins`` in its table, ``run`` and ``estimate`` in their log (they load
#: the plugins again once logging is set up); every other command gets one warning line each
REPORTS_PLUGIN_PROBLEMS = frozenset({"serve", "worker", "plugins", "run", "estimate"})


class _Held(logging.Handler):
    """Holds what the plugin loader logs while ``main`` loads plugins for their commands:
    logging is not set up yet, so Python's fallback handler would print each line bare, and
    the command would then report the same problem again its own way."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning"
        self.lines.append(f"novelcrew: {level}: {record.getMessage()}")


def _add_plugin_commands_once(command: str | None) -> None:
    """``add_plugin_commands`` with each plugin problem said once: held, then printed unless
    ``command`` reports them itself (``REPORTS_PLUGIN_PROBLEMS``)."""
    logger = logging.getLogger("novelcrew.plugins")
    held, propagate = _Held(), logger.propagate
    logger.addHandler(held)
    logger.propagate = False
    try:
        add_plugin_commands(app)
    finally:
        logger.removeHandler(held)
        logger.propagate = propagate
    if command not in REPORTS_PLUGIN_PROBLEMS:
        for line in held.lines:
            typer.echo(line, err=True)


def print_startup_summary(settings: Any, role: str) -> None:
    """The one summary line (and loud warnings) ``serve`` and ``worker`` print on stderr."""
    from novelcrew.introspect import startup_summary
    from novelcrew.plugins import get_plugins
    from novelcrew.settings import check_plugin_settings

    plugins = get_plugins()
    check_plugin_settings(settings)  # a bad plugin setting stops it here: one line, exit 2
    for line in startup_summary(settings, plugins, role):
        typer.echo(line, err=True)


def pin_to_cpu(settings: Any, index: int = 0) -> None:
    """With ``NOVELCREW_CPU_AFFINITY``: run this process on its CPU (``novelcrew.affinity``);
    a CPU it may not use ends it with exit status 3, as a server that cannot start."""
    if not settings.cpu_affinity:
        return
    from novelcrew.affinity import pin

    try:
        cpu = pin(settings.cpu_affinity, index)
    except RuntimeError as exc:
        typer.echo(f"novelcrew: error: {exc}", err=True)
        raise SystemExit(3) from None
    import structlog

    structlog.get_logger("novelcrew.cli").info("pinned_to_cpu", cpu=cpu, index=index)


def main() -> None:
    """The console script: add plugin commands, warn about unknown settings, run the command.

    A setting with a bad value ends the command with one line naming the variable (exit 2),
    not a traceback."""
    from pydantic import ValidationError

    from novelcrew.settings import SettingsError, check_environment, settings_error

    try:
        if not {"--version", "-V"} & set(sys.argv[1:2]):
            _add_plugin_commands_once(sys.argv[1] if len(sys.argv) > 1 else None)
        for warning in check_environment():
            typer.echo(f"novelcrew: warning: {warning}", err=True)
        app()
    except (SettingsError, ValidationError) as exc:
        error = exc if isinstance(exc, SettingsError) else settings_error(exc)
        if error is None:
            raise
        typer.echo(f"novelcrew: error: {error}", err=True)
        sys.exit(2)
