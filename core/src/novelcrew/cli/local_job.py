"""What ``novelcrew run`` and ``novelcrew estimate`` share: both read a chain, a story and
inputs from the command line and work on them in this process, so they read them, build the
settings and set up logging and plugins the same way (and fail with the same exit codes).

Imports stay inside the functions: ``novelcrew --help`` must not pay for them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


def job_args(crews: str, *, story: str | None, title: str | None, inputs: list[str],
             data_dir: Path | None, log_level: str,
             example: str) -> tuple[list[str], dict[str, Any], Settings]:
    """The chain's crew names, the job's inputs and the settings, from the command's options;
    a usage error (exit 2) names what is wrong, with ``example`` when no crew is named."""
    names = [name.strip() for name in crews.split(",") if name.strip()]
    if not names:
        usage_error(f"name at least one crew, e.g. {example}")
    job_inputs = parse_inputs(inputs)
    if story is not None:
        job_inputs["story_text"] = read_story(story)
    if title:
        job_inputs["title"] = title

    from novelcrew.settings import Settings

    overrides: dict[str, Any] = {"log_level": log_level, "log_format": "console"}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return names, job_inputs, Settings(**overrides)


def start(settings: Settings, plugins: Plugins | None) -> tuple[Console, Plugins]:
    """Logging to stderr, the stderr console for progress and errors, and the plugins."""
    import logging

    from rich.console import Console

    from novelcrew.logging import configure_logging
    from novelcrew.plugins import load

    configure_logging(settings)
    if logging.getLogger().level >= logging.WARNING:
        logging.getLogger("crewai").setLevel(logging.ERROR)  # per-call notices drown progress
    return Console(stderr=True), plugins or load(settings.plugins)


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON is taken as JSON, else as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            usage_error(f"--input expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def read_story(source: str) -> str:
    """The story file's text (``-``: stdin)."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        usage_error(f"story file not found: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        usage_error(f"cannot read story file {path}: {exc}")


def usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)
