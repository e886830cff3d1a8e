"""An installed test plugin for CLI tests: a real module plus a real ``.dist-info`` with an
entry point, on ``sys.path`` (and ``PYTHONPATH`` for subprocesses)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

PLUGIN = '''
"""Crews for CLI tests; none of them calls a model."""
import asyncio
from typing import Any

from pydantic import BaseModel

from novelcrew import Crew, hookimpl


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
'''


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``nc_clitest`` installed as plugin ``clitest``; the only plugin allowed to load."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "nc_clitest.py").write_text(textwrap.dedent(PLUGIN))
    dist = root / "nc_clitest-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nc-clitest\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[novelcrew]\nclitest = nc_clitest\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("NOVELCREW_PLUGINS", "clitest")
    monkeypatch.chdir(tmp_path)
    return root
