"""``novelcrew eval``: score the story crews (or a stored result) against gold annotations."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from novelcrew_eval.gold import GoldError, LoadedGold, load_gold
from novelcrew_eval.report import as_json, check_minimums, minimums_of, render
from novelcrew_eval.result import ResultError
from novelcrew_eval.score import StoryScore, score

__all__ = ["EXIT_BELOW_MINIMUM", "attach", "eval_command"]

EXIT_BELOW_MINIMUM = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
REPLAY_ENV = "NOVELCREW_LLM_REPLAY"  # read by novelcrew.llm.recording, where the client is built


def _usage(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def eval_command(
    gold: list[Path] = typer.Argument(..., metavar="GOLD.yaml...",
                                      help="Gold annotation files (examples/gold/*.yaml)."),
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Model id for every agent (default: the configured "
                                     "default model), e.g. offline."),
    result: list[Path] = typer.Option([], "--result", "-r", metavar="JOB_RESULT.json",
                                      help="Score this stored job record or result instead of "
                                      "running the crews; one per gold file, in order."),
    as_json_: bool = typer.Option(False, "--json", help="Print {stories, overall} as JSON."),
    tolerance: int = typer.Option(2, "--tolerance", min=0,
                                  help="Sentences a scene boundary may be off by."),
    replay: Path | None = typer.Option(None, "--replay", metavar="DIR",
                                       help="Answer model calls from this recording "
                                       "(NOVELCREW_LLM_REPLAY); its scores.json, if any, is "
                                       "the minimum to hold."),
    min_scores: Path | None = typer.Option(None, "--min-scores", metavar="FILE",
                                           help="Fail (exit 1) when a score falls below the "
                                           "figures in this JSON file."),
    write_min_scores: Path | None = typer.Option(None, "--write-min-scores", metavar="FILE",
                                                 help="Store this run's scores as the minimums "
                                                 "future runs are held to."),
    save_results: Path | None = typer.Option(None, "--save-results", metavar="DIR",
                                             help="Keep each story's job record here "
                                             "(<gold name>.json), to re-score later."),
    data_dir: Path | None = typer.Option(None, "--data-dir",
                                         help="Data directory for the crews (default: a "
                                         "temporary one, removed after)."),
) -> None:
    """Score story analyses against gold annotations: per story and overall."""
    if result and len(result) != len(gold):
        raise _usage(f"--result given {len(result)} time(s) for {len(gold)} gold file(s); "
                     "give one result per gold file, in the same order")
    try:
        loaded = [load_gold(path) for path in gold]
    except GoldError as exc:
        raise _usage(str(exc)) from exc
    if replay is not None:
        if not replay.is_dir():
            raise _usage(f"--replay: no recording directory at {replay}")
        os.environ[REPLAY_ENV] = str(replay)
        if min_scores is None and (replay / "scores.json").is_file():
            min_scores = replay / "scores.json"
    err = Console(stderr=True)
    try:
        if result:
            stories = [_score_file(g, path, tolerance) for g, path in zip(loaded, result,
                                                                          strict=True)]
        else:
            stories = _run_and_score(loaded, model, tolerance, data_dir, save_results, err)
    except (ResultError, GoldError, ValueError) as exc:
        raise _usage(str(exc)) from exc
    extra: dict[str, Any] = {"model": model} if model else {}
    if as_json_:
        sys.stdout.write(json.dumps(as_json(stories, **extra), indent=2) + "\n")
    else:
        render(stories, Console(), title=f"overall ({len(stories)} stories"
               + (f", model {model})" if model else ")"))
    if write_min_scores is not None:
        write_min_scores.write_text(json.dumps(minimums_of(stories), indent=2) + "\n",
                                    encoding="utf-8")
        err.print(f"minimum scores written to {write_min_scores}")
    if min_scores is not None:
        try:
            failures = check_minimums(stories, min_scores)
        except ValueError as exc:
            raise _usage(str(exc)) from exc
        if failures:
            err.print(f"[bold red]below the minimum scores in {min_scores}:[/]")
            for failure in failures:
                err.print(f"  {failure}")
            raise typer.Exit(EXIT_BELOW_MINIMUM)
        err.print(f"[green]all scores at or above {min_scores}[/]")


def _score_file(loaded: LoadedGold, path: Path, tolerance: int) -> StoryScore:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read result {path}: {exc}") from exc
    return score(loaded, data, tolerance=tolerance)


def _run_and_score(loaded: list[LoadedGold], model: str | None, tolerance: int,
                   data_dir: Path | None, save_results: Path | None,
                   err: Console) -> list[StoryScore]:
    from novelcrew.logging import configure_logging
    from novelcrew.plugins import load
    from novelcrew.settings import Settings
    from novelcrew_eval.pipeline import PipelineError, run_story

    with tempfile.TemporaryDirectory(prefix="novelcrew-eval-") as scratch:
        settings = Settings(data_dir=data_dir or Path(scratch), log_level="ERROR",
                            log_format="console")
        configure_logging(settings)
        plugins = load(settings.plugins)
        stories: list[StoryScore] = []
        for gold in loaded:
            err.print(f"running {gold.name} ({len(gold.text.split())} words) ...")
            try:
                job = run_story(gold.text, title=gold.gold.title, model=model,
                                settings=settings, plugins=plugins,
                                project_id=f"eval-{gold.name}")
            except PipelineError as exc:
                err.print(f"[bold red]{gold.name}: {exc}[/]")
                raise typer.Exit(EXIT_FAILED) from exc
            if save_results is not None:
                save_results.mkdir(parents=True, exist_ok=True)
                (save_results / f"{gold.name}.json").write_text(
                    json.dumps(job, indent=1), encoding="utf-8")
            stories.append(score(gold, job, tolerance=tolerance))
        return stories


def attach(app: typer.Typer) -> None:
    """Add the command to a ``typer.Typer`` (the ``register_commands`` hook calls this)."""
    app.command("eval")(eval_command)
