"""A dry run: the job's real chain, in this process, on a counting stand-in model.

Each crew runs with the job's real inputs, settings and routing, so it splits the story, picks
its scenes and writes its prompts exactly as on a real run, and each prompt is counted against
the model it would go to. The answers come from the ``offline`` stand-in (``standin``), which
fills a task's JSON schema from the prompt's own text. Two passes per crew make that work for
crews that write different prompts for the stand-in:

1. **routed**: the crew sees the job's real models. Every call is counted; when the stand-in
   could fill each answer's schema and the crew finished, this is the estimate of that crew
   (the architect: its prompts carry their schema).
2. **offline** (only when pass 1 met a prompt it could not answer in shape, or the crew
   failed): the crew sees ``offline`` and takes its stand-in path, which always finishes and
   gives the next crew its input. Tasks pass 1 never reached (a director's shot list, asked
   only after an accepted breakdown) are counted from this pass, without the schema lines a
   crew adds only for the stand-in.

Nothing is written: tools that write are ``DryRunTool``s, no job record exists, no
``job_event`` observer hears of it, and no provider is called.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from novelcrew.context import RunContext, ToolContext
from novelcrew.crewai.env import prepare as prepare_crewai
from novelcrew.errors import ToolMissing
from novelcrew.estimate.models import CrewEstimate, Estimate, ModelEstimate, Totals
from novelcrew.estimate.standin import (
    READ_ONLY_TOOLS,
    CallRecord,
    CountingLLM,
    DryRunTool,
    Recorder,
)
from novelcrew.jobs import Job
from novelcrew.llm.prices import Price, price_for
from novelcrew.llm.sampling import resolve
from novelcrew.runner import build_inputs

if TYPE_CHECKING:
    from novelcrew.plugins import Plugins
    from novelcrew.settings import Settings
    from novelcrew.specs import Crew

__all__ = ["METHOD", "estimate_job"]

METHOD = ("dry run: the chain ran in-process with the job's routing on the offline stand-in; "
          "calls and prompt tokens are counted from the real prompts, completion tokens are "
          "the size of the stand-in's schema-shaped answers (else a quarter of the prompt), "
          "money is tokens at list prices")


@dataclass
class EstimateContext(RunContext):
    """A crew run's context in a dry run: ``model_id`` answers ``offline`` in the offline
    pass; ``routed_model`` is always what the real run would use."""

    offline_answers: bool = False

    def model_id(self, agent_role: str | None = None) -> str:
        return "offline" if self.offline_answers else self.routed_model(agent_role)

    def routed_model(self, agent_role: str | None = None) -> str:
        return RunContext.model_id(self, agent_role)


def _factory(recorder: Recorder, strip: bool) -> Any:
    def build(ctx: RunContext, agent_role: str | None, *, task: str | None = None,
              temperature: float | None = None, max_tokens: int | None = None) -> CountingLLM:
        assert isinstance(ctx, EstimateContext)
        routed = ctx.routed_model(agent_role)
        ctx.registry.model_provider(routed)  # an unknown provider fails as on a real run
        # the answer room a real run would give this task (the router's rule)
        chosen = resolve(ctx.config, task, temperature=temperature, max_tokens=max_tokens)
        return CountingLLM(recorder=recorder, routed_model=routed, role=agent_role,
                           max_tokens=chosen["max_tokens"], strip_offline_schema=strip)

    return build


async def _kickoff(ctx: RunContext, crew: Any, inputs: dict[str, Any]) -> Any:
    from novelcrew.crewai.kickoff import kickoff

    return await kickoff(ctx, crew, inputs)


async def _ignore(*_args: Any, **_kwargs: Any) -> None:
    """Events of a dry run go nowhere: there is no job to log them on."""


def _tools(crew: Crew, plugins: Plugins, settings: Settings, job: Job) -> dict[str, Any]:
    registry = plugins.registry
    tool_ctx = ToolContext(settings=settings, project_id=job.project_id, job_id=None,
                           user_id=job.user_id, crew=crew.name)
    tools: dict[str, Any] = {}
    for name in (*crew.tools, *crew.optional_tools):
        if name not in registry.tools:
            if name in crew.tools:
                raise ToolMissing(f"crew {crew.name!r} needs tool {name!r}", {"tool": name})
            continue
        tools[name] = registry.tools[name].spec.factory(tool_ctx) if name in READ_ONLY_TOOLS \
            else DryRunTool(name)
    return tools


async def _pass(crew: Crew, job: Job, inputs: BaseModel, previous: dict[str, Any],
                plugins: Plugins, settings: Settings, tools: dict[str, Any], *,
                offline: bool) -> tuple[Recorder, Any, BaseException | None]:
    """One run of ``crew``: what it asked, its output, and the error it ended with."""
    import asyncio

    recorder = Recorder()
    ctx = EstimateContext(
        job_id=f"estimate-{job.id}", crew=crew.name, settings=settings.for_job(job.config),
        registry=plugins.registry, project_id=job.project_id, user_id=job.user_id,
        tools=tools, previous=dict(previous), config=job.config, emit_fn=_ignore,
        loop=asyncio.get_running_loop(), llm_factory=_factory(recorder, strip=offline),
        kickoff_fn=_kickoff, offline_answers=offline,
    )
    try:
        raw = await crew.run(ctx, inputs)  # type: ignore[arg-type]
    except Exception as exc:
        return recorder, None, exc
    output = raw if isinstance(raw, crew.output_model) else crew.output_model.model_validate(
        raw.model_dump() if isinstance(raw, BaseModel) else raw)
    return recorder, output.model_dump(mode="json"), None


def _merged(routed: list[CallRecord], offline: list[CallRecord]) -> list[CallRecord]:
    """Each task's calls from the routed pass where it got that far, else the offline pass;
    an answer size the offline pass could shape replaces a guessed one."""
    shaped = {r.key: r for r in offline if r.shaped}
    seen = {r.key for r in routed}
    out = []
    for record in routed:
        better = shaped.get(record.key) if not record.shaped else None
        if better is not None:
            record = CallRecord(key=record.key, model=record.model,
                                prompt_tokens=record.prompt_tokens,
                                completion_tokens=better.completion_tokens, shaped=True)
        out.append(record)
    out.extend(r for r in offline if r.key not in seen)
    return out


async def estimate_job(job: Job, plugins: Plugins, settings: Settings,
                       prices: Mapping[str, Price] | None = None) -> Estimate:
    """The expected calls, tokens and money of ``job``, spending nothing and storing nothing."""
    started = time.monotonic()
    registry = plugins.registry
    crews = registry.check_chain(job.crews)
    prepare_crewai(settings.data_dir)  # before any plugin code can import crewAI
    previous: dict[str, Any] = dict(job.result)
    records: dict[str, list[CallRecord]] = {}
    notes: list[str] = []
    for crew in crews:
        inputs = build_inputs(crew.input_model, job, previous)
        tools = _tools(crew, plugins, settings, job)
        routed, output, error = await _pass(crew, job, inputs, previous, plugins, settings,
                                            tools, offline=False)
        if error is None and not routed.unshaped:
            records[crew.name] = routed.records
        else:
            offline, output, error = await _pass(crew, job, inputs, previous, plugins,
                                                 settings, tools, offline=True)
            if error is not None:
                raise error
            records[crew.name] = _merged(routed.records, offline.records)
        previous[crew.name] = output
    return _summary(job, records, prices or {}, time.monotonic() - started, notes)


def _summary(job: Job, records: dict[str, list[CallRecord]], prices: Mapping[str, Price],
             seconds: float, notes: list[str]) -> Estimate:
    models: dict[str, ModelEstimate] = {}
    by_crew: dict[str, CrewEstimate] = {}
    for crew, calls in records.items():
        entry = by_crew.setdefault(crew, CrewEstimate())
        for call in calls:
            entry.calls += 1
            entry.prompt_tokens += call.prompt_tokens
            entry.completion_tokens += call.completion_tokens
            if call.model not in entry.models:
                entry.models.append(call.model)
            model = models.setdefault(call.model, ModelEstimate())
            model.calls += 1
            model.prompt_tokens += call.prompt_tokens
            model.completion_tokens += call.completion_tokens
    unpriced = []
    for model_id, model in models.items():
        model.price = price_for(model_id, prices)
        if model.price is None:
            unpriced.append(model_id)
        else:
            model.cost_usd = round(model.price.cost(model.prompt_tokens,
                                                    model.completion_tokens), 6)
    if unpriced:
        notes.append(f"no price known for {', '.join(sorted(unpriced))}: pass one "
                     "(config.prices, or --price MODEL=IN,OUT) to include its cost")
    total = Totals(
        calls=sum(m.calls for m in models.values()),
        prompt_tokens=sum(m.prompt_tokens for m in models.values()),
        completion_tokens=sum(m.completion_tokens for m in models.values()),
        cost_usd=None if unpriced else round(sum(m.cost_usd or 0.0 for m in models.values()),
                                             6),
    )
    story = job.inputs.get("story_text")
    return Estimate(crews=job.crews, models=models, by_crew=by_crew, total=total,
                    story_tokens=len(story) // 4 if isinstance(story, str) else None,
                    seconds=round(seconds, 3), method=METHOD, notes=notes)
