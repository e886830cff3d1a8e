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
from novelcrew_eval.pipeline import PipelineError, run_job, run_story
from novelcrew_eval.report import as_json, check_minimums, minimums_of, render
from novelcrew_eval.result import ResultError
from novelcrew_eval.score import StoryScore, judge_scenes, score

__all__ = ["EXIT_BELOW_MINIMUM", "attach", "eval_command"]

EXIT_BELOW_MINIMUM = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
REPLAY_ENV = "NOVELCREW_LLM_REPLAY"  # core Settings.llm_replay_dir (novelcrew.llm.recording)


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
    judge: str | None = typer.Option(None, "--judge", metavar="MODEL",
                                     help="Also have MODEL score each scene 1-5 against its "
                                     "text, with quoted evidence (the eval-judge crew)."),
    compare: list[Path] = typer.Option([], "--compare", metavar="B.json",
                                       help="With --judge: compare each result (A) with this "
                                       "one (B), judged in both orders; one per gold file."),
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
    for given, what in ((result, "--result"), (compare, "--compare")):
        if given and len(given) != len(gold):
            raise _usage(f"{what} given {len(given)} time(s) for {len(gold)} gold file(s); "
                         "give one per gold file, in the same order")
    if compare and not judge:
        raise _usage("--compare needs --judge MODEL (the judge does the comparing)")
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
        with _Session(data_dir) as session:
            stories = [
                _evaluate(g, session, err, model=model, tolerance=tolerance, judge=judge,
                          result=result[i] if result else None,
                          other=compare[i] if compare else None, save_results=save_results)
                for i, g in enumerate(loaded)
            ]
    except (ResultError, GoldError, ValueError) as exc:
        raise _usage(str(exc)) from exc
    except PipelineError as exc:
        err.print(f"[bold red]{exc}[/]")
        raise typer.Exit(EXIT_FAILED) from exc
    if as_json_:
        sys.stdout.write(json.dumps(as_json(stories), indent=2) + "\n")
    else:
        render(stories, Console(), title=f"overall ({len(stories)} stories"
               + (f", model {model})" if model else ")"))
    if write_min_scores is not None:
        write_min_scores.write_text(json.dumps(minimums_of(stories, model), indent=2) + "\n",
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


class _Session:
    """Settings and plugins for running jobs here, made on first use; a temporary data dir."""

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._ready: tuple[Any, Any] | None = None

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()

    def get(self) -> tuple[Any, Any]:
        """(settings, plugins)."""
        if self._ready is None:
            from novelcrew.logging import configure_logging
            from novelcrew.plugins import load
            from novelcrew.settings import Settings

            if self.data_dir is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="novelcrew-eval-")
            where = self.data_dir or Path(self._scratch.name)  # type: ignore[union-attr]
            settings = Settings(data_dir=where, log_level="ERROR", log_format="console")
            configure_logging(settings)
            self._ready = (settings, load(settings.plugins))
        return self._ready


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read result {path}: {exc}") from exc


def _evaluate(gold: LoadedGold, session: _Session, err: Console, *, model: str | None,
              tolerance: int, judge: str | None, result: Path | None, other: Path | None,
              save_results: Path | None) -> StoryScore:
    """One story: its result (read, or run here), its scores, and the judge's report."""
    if result is not None:
        data = _read_json(result)
    else:
        settings, plugins = session.get()
        err.print(f"running {gold.name} ({len(gold.text.split())} words) ...")
        data = run_story(gold.text, title=gold.gold.title, model=model, settings=settings,
                         plugins=plugins, project_id=f"eval-{gold.name}")
        if save_results is not None:
            save_results.mkdir(parents=True, exist_ok=True)
            (save_results / f"{gold.name}.json").write_text(json.dumps(data, indent=1),
                                                            encoding="utf-8")
    story = score(gold, data, tolerance=tolerance)
    models = data.get("models_used") if isinstance(data, dict) else None
    if model or models:
        story.details["model"] = model or sorted(set(models))  # type: ignore[arg-type]
    if judge:
        settings, plugins = session.get()
        err.print(f"judging {gold.name} with {judge} ...")
        scenes = judge_scenes(gold, data, _read_json(other) if other is not None else None)
        job = run_job(["eval-judge"], {"scenes": scenes}, model=judge, settings=settings,
                      plugins=plugins, project_id=f"eval-{gold.name}")
        story.judge = job["result"]["eval-judge"]
    return story


def attach(app: typer.Typer) -> None:
    """Add the command to a ``typer.Typer`` (the ``register_commands`` hook calls this)."""
    app.command("eval")(eval_command)
