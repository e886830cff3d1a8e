"""``novelcrew estimate``: what a run would cost (model calls, tokens, money per model),
answered before anything is spent.

It is a dry run of the chain in this process (``novelcrew.estimate``): no provider is called,
no job is stored, no knowledge graph or Payload project is written. The table goes to stdout
(``--json``: the estimate as JSON, as ``POST /jobs`` with ``dry_run`` answers it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from novelcrew.cli.run import EXIT_FAILED, EXIT_USAGE, job_args, start, usage_error

if TYPE_CHECKING:
    from rich.console import Console

    from novelcrew.estimate import Estimate

DEFAULT_CHAIN = "architect,director,storyboard"


def estimate_command(
    story: str | None = typer.Option(None, "--story", "-s",
                                     help="Story file (plain text or Markdown); '-' reads stdin."),
    crews: str = typer.Option(DEFAULT_CHAIN, "--crews", "-c", metavar="CREW[,CREW...]",
                              help="The chain to estimate."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Model id for every agent (as `run --model`); "
                                     "default: the configured routing."),
    project_id: str | None = typer.Option(None, "--project-id",
                                          help="Project id (a lone director reads its graph)."),
    title: str | None = typer.Option(None, "--title", help="The story's title."),
    inputs: list[str] = typer.Option([], "--input", "-i", metavar="KEY=VALUE",
                                     help="Extra input (VALUE may be JSON); repeatable."),
    prices: list[str] = typer.Option([], "--price", metavar="MODEL=IN,OUT",
                                     help="USD per million prompt and completion tokens for "
                                     "a model (overrides the built-in list prices); "
                                     "repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the estimate as JSON."),
    data_dir: Path | None = typer.Option(None, "--data-dir",
                                         help="Data directory (knowledge graph, crewAI storage)."),
    log_level: str = typer.Option("WARNING", "--log-level", help="Log level for stderr."),
) -> None:
    """Estimate model calls, tokens and cost per model of a run, without calling any model.

    The chain runs here on a counting stand-in with your routing, so calls and prompt tokens
    come from the real prompts; completion tokens and money are estimates (see
    docs/user-guide.md). Nothing is stored or written.
    """
    names, job_inputs, settings = job_args(
        crews, story=story, title=title, inputs=inputs, data_dir=data_dir, log_level=log_level,
        example="--crews architect,director")
    from novelcrew.llm.prices import Price, parse_price

    table: dict[str, Price] = {}
    try:
        table.update(parse_price(text) for text in prices)
    except ValueError as exc:
        usage_error(str(exc))
    raise typer.Exit(estimate(names, job_inputs, settings, project_id=project_id, model=model,
                              prices=table, as_json=as_json))


def estimate(crews: list[str], inputs: dict[str, Any], settings: Any, *,
             project_id: str | None = None, model: str | None = None,
             prices: dict[str, Any] | None = None, as_json: bool = False,
             plugins: Any = None) -> int:
    """Make and print the estimate; returns the process exit code."""
    import asyncio

    from rich.console import Console

    from novelcrew.errors import NovelcrewError
    from novelcrew.estimate import estimate_job
    from novelcrew.jobs import Job

    err, plugins = start(settings, plugins)
    job = Job(crews=crews, inputs=inputs, project_id=project_id,
              config={"model": model} if model else {})
    try:
        plugins.registry.check_chain(crews)
        if err.is_terminal:
            with err.status("dry run: counting the chain's calls…"):
                result = asyncio.run(estimate_job(job, plugins, settings, prices))
        else:
            result = asyncio.run(estimate_job(job, plugins, settings, prices))
    except NovelcrewError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        # the command's input is at fault (4xx on the API) or the run would fail
        return EXIT_USAGE if 400 <= exc.status_code < 500 else EXIT_FAILED
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        sys.stdout.flush()
    else:
        render(result, Console())
    return 0


def render(result: Estimate, console: Console) -> None:
    """The estimate as a table per model, a line per crew and the notes."""
    from rich.table import Table

    table = Table(title=f"Estimate for {' -> '.join(result.crews)} (nothing was called)")
    for column in ("model", "calls", "prompt tokens", "completion tokens", "cost (USD)"):
        table.add_column(column, justify="left" if column == "model" else "right")

    def money(value: float | None) -> str:
        return "unknown" if value is None else f"{value:.4f}"

    for model_id, m in result.models.items():
        table.add_row(model_id, str(m.calls), f"{m.prompt_tokens:,}",
                      f"{m.completion_tokens:,}", money(m.cost_usd))
    total = result.total
    table.add_row("total", str(total.calls), f"{total.prompt_tokens:,}",
                  f"{total.completion_tokens:,}", money(total.cost_usd), style="bold")
    console.print(table)
    for crew, c in result.by_crew.items():
        console.print(f"  {crew}: {c.calls} call(s), {c.prompt_tokens:,} prompt tokens "
                      f"({', '.join(c.models) or 'no model'})")
    if result.story_tokens is not None:
        ratio = total.prompt_tokens / result.story_tokens if result.story_tokens else 0.0
        console.print(f"  story: {result.story_tokens:,} tokens; prompts carry {ratio:.1f}x it")
    for note in result.notes:
        console.print(f"  [yellow]note:[/] {note}")
    console.print(f"  [dim]{result.method}; made in {result.seconds:.1f}s[/]")


def attach(app: typer.Typer) -> None:
    app.command("estimate")(estimate_command)
