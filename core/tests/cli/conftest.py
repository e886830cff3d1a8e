"""An installed test plugin for CLI tests: a real module plus a real ``.dist-info`` with an
entry point, on ``sys.path`` (and ``PYTHONPATH`` for subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from nc_plugin_dists import dist_info

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

API_KEY = "test-key-for-the-cli"

PLUGIN = '''
"""Crews for CLI tests; none of them calls a model."""
import asyncio
from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, Export, ExportUnavailable, Renderer, hookimpl


class StoryIn(BaseModel):
    story_text: str
    title: str | None = None
    project_id: str | None = None
    delay: float = 0.0


class Counts(BaseModel):
    words: int
    title: str | None
    project_id: str | None
    model: str


async def count(ctx, inputs: StoryIn) -> Counts:
    await ctx.add_tasks(2)
    for name in ("read", "count"):
        await ctx.task_started(name)
        await asyncio.sleep(inputs.delay)
        await ctx.task_finished(name)
    return Counts(words=len(inputs.story_text.split()), title=inputs.title,
                  project_id=inputs.project_id, model=ctx.model_id("Counter"))


class Analysis(BaseModel):
    title: str
    logline: str
    themes: list[str]
    characters: list[dict[str, Any]]
    locations: list[dict[str, Any]]
    scenes: list[dict[str, Any]]


async def analyse(ctx, inputs: StoryIn) -> Analysis:
    await ctx.add_tasks(1)
    await ctx.task_started("analyse")
    await ctx.task_finished("analyse")
    return Analysis(
        title=inputs.title or "The Lighthouse", logline="A keeper keeps a light.",
        themes=["duty", "solitude"],
        characters=[{"name": "Maya", "role": "protagonist", "description": "the keeper",
                     "arc": "learns to leave", "relationships": []}],
        locations=[{"name": "Lighthouse", "description": "white tower",
                    "atmosphere": "windy"}],
        scenes=[{"number": 1, "summary": "Maya climbs the stairs.", "location": "Lighthouse",
                 "time_of_day": "NIGHT", "characters": ["Maya"], "emotional_beat": "resolve",
                 "dialogue": ["Not tonight."]}],
    )


class PlanIn(BaseModel):
    previous: dict[str, Any]


class Plan(BaseModel):
    scenes: list[dict[str, Any]]
    totals: dict[str, Any]


async def plan(ctx, inputs: PlanIn) -> Plan:
    scenes = inputs.previous["analyse"]["scenes"]
    planned = [{"number": s["number"], "heading": "INT. LIGHTHOUSE - NIGHT",
                "summary": s["summary"], "mood": "tense",
                "shots": [{"number": 1, "shot_type": "wide", "angle": "low",
                           "movement": "static", "lens": "24mm",
                           "estimated_duration_seconds": 6, "notes": "the tower looms"}]}
               for s in scenes]
    return Plan(scenes=planned, totals={"scenes": len(planned), "shots": len(planned),
                                        "estimated_screen_time_seconds": 6.0})


async def boom(ctx, inputs: StoryIn) -> Counts:
    raise RuntimeError("the crew exploded")


@hookimpl
def register_crews(register):
    register(Crew(name="count", description="Counts words.", input_model=StoryIn,
                  output_model=Counts, run=count))
    register(Crew(name="analyse", description="Fixed analysis.", input_model=StoryIn,
                  output_model=Analysis, run=analyse))
    register(Crew(name="plan", description="Fixed plan.", input_model=PlanIn,
                  output_model=Plan, run=plan))
    register(Crew(name="boom", description="Always fails.", input_model=StoryIn,
                  output_model=Counts, run=boom))


def words_file(job):
    counts = (job.get("result") or {}).get("count")
    if not counts:
        raise ExportUnavailable("the job has no word count: run the count crew")
    return f"{counts['words']} words\\n"


@hookimpl
def register_exports(register):
    register(Export(name="words.txt", media_type="text/plain; charset=utf-8",
                    suffix=".words.txt", description="The word count.", render=words_file))


def plan_view(result):
    from rich.table import Table

    table = Table(title=f"Plan: {result['totals']['shots']} shot(s)")
    for column in ("scene", "heading", "shots"):
        table.add_column(column)
    for scene in result["scenes"]:
        table.add_row(str(scene["number"]), scene["heading"], ", ".join(
            f"{shot['shot_type']} {shot['lens']}" for shot in scene["shots"]))
    return table


def analysis_view(result):
    from rich.text import Text

    cast = ", ".join(c["name"] for c in result["characters"])
    return Text(f"{result['title']}: {result['logline']} "
                f"(themes: {', '.join(result['themes'])}; cast: {cast})")


@hookimpl
def register_renderers(register):
    register(Renderer(name="clitest-plan", description="The plan as a table.",
                      crews=("plan",), render=plan_view))
    register(Renderer(name="clitest-analysis", description="An analysis in a line.",
                      matches=lambda result: "logline" in result, render=analysis_view))
'''


def install_plugin(root: Path) -> Path:
    """Write the module and its ``.dist-info`` (with the entry point) into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nc_clitest.py").write_text(textwrap.dedent(PLUGIN))
    dist_info(root, "nc-clitest", "nc_clitest", entry_name="clitest")
    return root


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``nc_clitest`` installed as plugin ``clitest``; the only plugin allowed to load."""
    root = install_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("NOVELCREW_PLUGINS", "clitest")
    monkeypatch.chdir(tmp_path)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real ``novelcrew`` API server (uvicorn, inline backend) with the test plugin."""
    base = tmp_path_factory.mktemp("server")
    site = install_plugin(base / "site")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(site), "NOVELCREW_PLUGINS": "clitest",
           "NOVELCREW_DATA_DIR": str(base / "data"), "NOVELCREW_API_KEYS": API_KEY,
           "NOVELCREW_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "novelcrew.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", proc)
        yield {"url": url, "api_key": API_KEY}
    finally:
        stop_process(proc)
