"""Crews and tools for the API tests; none does model work.

``gated`` holds at each step until its ``gate`` (a ``threading.Event``, so a test in another
thread than the server's loop can open it) is set, checking for cancellation while it waits.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pydantic import BaseModel, Field

from novelcrew import Crew, Health, RunContext, Tool, hookimpl

GATES: dict[str, threading.Event] = {}


def open_gate(name: str) -> None:
    """Open ``name``'s gate, whether or not its crew has reached it yet (no race with the job)."""
    GATES.setdefault(name, threading.Event()).set()

#: what the ``probe`` tool's health check answers (tests change it)
PROBE_HEALTH: dict[str, Any] = {"status": "ok", "required": False}


class StoryIn(BaseModel):
    story_text: str = Field(min_length=1)
    preferences: dict[str, Any] = Field(default_factory=dict)
    project_id: str | None = None


class Summary(BaseModel):
    words: int
    first_word: str


class ShoutIn(BaseModel):
    story_text: str = Field(min_length=1)
    previous: dict[str, Summary] = Field(default_factory=dict)


class Shout(BaseModel):
    text: str
    saw_words: int | None = None


class GatedIn(BaseModel):
    story_text: str = "x"
    gate: str
    steps: int = Field(3, ge=1, le=50)
    #: publish scene ``i`` (a partial result) as step ``i`` starts, before its gate
    publish_scenes: bool = False


class StrictIn(BaseModel):
    story_text: str
    scenes: int = Field(ge=1, le=100)


async def echo(ctx: RunContext, inputs: StoryIn) -> Summary:
    words = inputs.story_text.split()
    await ctx.add_tasks(2)
    for name in ("count", "pick"):
        await ctx.task_started(name)
        await ctx.task_finished(name)
    return Summary(words=len(words), first_word=words[0] if words else "")


async def shout(ctx: RunContext, inputs: ShoutIn) -> Shout:
    await ctx.add_tasks(1)
    await ctx.task_started("shout")
    await ctx.task_finished("shout")
    before = inputs.previous.get("echo")
    return Shout(text=inputs.story_text.upper()[:40], saw_words=before.words if before else None)


async def gated(ctx: RunContext, inputs: GatedIn) -> Summary:
    gate = GATES.setdefault(inputs.gate, threading.Event())
    await ctx.add_tasks(inputs.steps)
    for i in range(inputs.steps):
        await ctx.task_started(f"step {i + 1}")
        if inputs.publish_scenes:
            await ctx.publish_partial("scene", i + 1, {"number": i + 1, "shots": [i]},
                                      total=inputs.steps)
        while not gate.is_set():
            ctx.check_cancelled()
            await asyncio.sleep(0.01)
        await ctx.task_finished(f"step {i + 1}")
    return Summary(words=inputs.steps, first_word="gated")


async def boom(ctx: RunContext, inputs: StoryIn) -> Summary:
    raise RuntimeError("the crew broke")


async def strict(ctx: RunContext, inputs: StrictIn) -> Summary:
    return Summary(words=inputs.scenes, first_word="strict")


async def probe_health(settings: Any) -> Health:
    if PROBE_HEALTH["status"] == "raise":
        raise ConnectionError("probe unreachable")
    return Health(status=PROBE_HEALTH["status"], required=PROBE_HEALTH["required"],
                  detail="probe")


class ApiCrews:
    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="echo", description="Counts words.", input_model=StoryIn,
                      output_model=Summary, run=echo, estimated_seconds=30))
        register(Crew(name="shout", description="Shouts the story.", input_model=ShoutIn,
                      output_model=Shout, run=shout, estimated_seconds=10))
        register(Crew(name="gated", description="Waits for a test.", input_model=GatedIn,
                      output_model=Summary, run=gated))
        register(Crew(name="boom", description="Always fails.", input_model=StoryIn,
                      output_model=Summary, run=boom))
        register(Crew(name="strict", description="Needs a scene count.", input_model=StrictIn,
                      output_model=Summary, run=strict))

    @hookimpl
    def register_tools(self, register: Any) -> None:
        register(Tool(name="probe", description="Does nothing; has a health check.",
                      factory=lambda ctx: None, health=probe_health))


class NeedsGraph:
    """A crew whose required tool no loaded plugin provides (``/health`` is degraded with it,
    so only the tests about that register it)."""

    @hookimpl
    def register_crews(self, register: Any) -> None:
        register(Crew(name="grapher", description="Needs the knowledge graph.",
                      input_model=StoryIn, output_model=Summary, run=echo,
                      tools=("kg_query",)))


def add_grapher(plugins: Any) -> None:
    from novelcrew.plugins import register_module

    register_module(plugins, NeedsGraph(), "needsgraph")


def load_plugins() -> Any:
    from novelcrew.plugins import load, register_module

    loaded = load(allow=[], include_entry_points=False)
    register_module(loaded, ApiCrews(), "apicrews")
    return loaded


_hooks = ApiCrews()


@hookimpl
def register_crews(register: Any) -> None:
    """The same crews when this module is a plugin module (an arq worker's
    ``NOVELCREW_PLUGIN_MODULES=apicrews``)."""
    _hooks.register_crews(register)


@hookimpl
def register_tools(register: Any) -> None:
    _hooks.register_tools(register)
