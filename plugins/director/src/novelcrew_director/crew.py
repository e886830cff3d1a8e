"""The director crew's run: read the story, plan the chosen scenes concurrently, total, write.

Progress is announced up front (reading, two tasks per scene, writing back) so the job's
fraction only moves forward; a failed scene's unfinished tasks are dropped from the total at
the end. A scene that cannot be planned becomes a ``failed_scenes`` entry and a ``warning``
event; the run fails only when no scene could be planned.
"""

from __future__ import annotations

import asyncio
import logging

from novelcrew.context import RunContext
from novelcrew.errors import JobCancelled, JobError, ModelError, TransientError
from novelcrew_director.breakdown import add_continuity
from novelcrew_director.brief import MAX_ENTRY_CHARS, build_brief, text_limits
from novelcrew_director.config import AGENT_KEYS, TASK_KEYS, TASK_SETTINGS, load_config
from novelcrew_director.framing import framing_warning
from novelcrew_director.inputs import DirectorInput
from novelcrew_director.models import FailedScene, ModelInfo, PlannedScene, ScenePlan
from novelcrew_director.planner import (
    BREAKDOWN_SCHEMA,
    SHOTS_SCHEMA,
    SceneOutcome,
    ScenePlanner,
    schema_text,
)
from novelcrew_director.reading import check_selection, read_story
from novelcrew_director.runtime import film_runtime_warning, runtime_warning
from novelcrew_director.totals import build_plan_schedule, compute_totals
from novelcrew_director.warning_list import PlanWarningList
from novelcrew_director.writeback import custom_kg, made_by_line, remove_shots, stale_shots

log = logging.getLogger(__name__)

READ_TASK = "Read the story from the knowledge graph"
WRITE_TASK = "Write the shots to the knowledge graph"
OFFLINE_NOTE = (
    "Planned by the offline stand-in model, which fills the plan's fields by plain extraction "
    "from the story text: it does not understand the story. Configure a real model for a "
    "director's reading."
)


class PlanningFailed(JobError):
    """No scene of the selection could be planned."""

    error_type = "planning_failed"


def _short_list(numbers: list[int], limit: int = 12) -> str:
    shown = ", ".join(map(str, numbers[:limit]))
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def model_info(ctx: RunContext, roles: list[str]) -> ModelInfo:
    models = {role: ctx.model_id(role) for role in roles}
    offline = any(model.split("/", 1)[0] == "offline" for model in models.values())
    return ModelInfo(models=models, offline=offline, note=OFFLINE_NOTE if offline else None)


async def run(ctx: RunContext, inputs: DirectorInput) -> ScenePlan:
    """Plan the story's scenes for production (see the package README)."""
    project_id = inputs.project_id or ctx.project_id
    config = load_config(settings=ctx.settings)
    await ctx.add_tasks(1)
    await ctx.task_started(READ_TASK)
    story = await read_story(ctx, project_id, inputs.scenes, dict(inputs.previous))
    numbers = check_selection(story, inputs.scenes)
    await ctx.task_finished(READ_TASK, scenes=len(numbers), source=story.source)
    await ctx.add_tasks(2 * len(numbers) + (1 if inputs.write_back else 0))

    roles = [config.agent(key).role for key in AGENT_KEYS.values()]
    models = model_info(ctx, roles)
    story.language = inputs.language or story.language
    language = story.language or "the language of the scene's text"
    # one task per agent: each agent's LLM carries its task's sampling settings
    llms = {config.agent(config.tasks[key].agent).role:
            ctx.llm(config.agent(config.tasks[key].agent).role, task=key, **TASK_SETTINGS[key])
            for key in TASK_KEYS}
    planner = ScenePlanner(ctx, config, llms,
                           inputs.max_attempts, story=story, language=language,
                           trust_model=not models.offline)
    # scenes in flight: twice the calls the agents' models take at once (shared by every
    # job), so each call slot has a scene ready while another scene is between its two calls;
    # the rest wait here, rather than each parking a crew and a thread in the model's queue,
    # and scenes finish (and are published) from the first rounds on, not all at the end
    window = inputs.max_parallel_scenes or 2 * max(ctx.model_limit(role) for role in roles)
    limit = asyncio.Semaphore(window)
    templates = sum(len(t.description) + len(t.expected_output) for t in config.tasks.values())
    templates += sum(len(a.role) + len(a.goal) + len(a.backstory) for a in config.agents.values())
    if models.offline:  # the stand-in also gets the answers' JSON schemas
        templates += len(schema_text(BREAKDOWN_SCHEMA)) + len(schema_text(SHOTS_SCHEMA))
    budget = text_limits(
        story, numbers, inputs.preferences, inputs.constraints, cap=inputs.scene_text_chars,
        budget=inputs.prompt_budget, template_chars=templates)
    limits, entry_chars = budget.limits, budget.entry_chars
    briefs = {n: build_brief(story, n, inputs.preferences, inputs.constraints,
                             text_limit=limits[n], entry_chars=entry_chars)
              for n in numbers}

    stale: dict[int, list[str]] = {}  # shots of earlier plans, removed after the write
    lookup_failures: list[Exception] = []

    async def plan(number: int) -> SceneOutcome:
        async with limit:
            outcome = await planner.plan(briefs[number])
        if outcome.plan is not None:  # readable at once, before the other scenes finish
            await ctx.publish_partial("scene", number, outcome.plan, total=len(numbers),
                                      message=f"scene {number} planned")
            if inputs.write_back:
                try:
                    stale[number] = await stale_shots(ctx, outcome.plan)
                except JobCancelled:
                    raise
                except Exception as exc:  # reported with the write, as a warning
                    lookup_failures.append(exc)
        return outcome

    running = [asyncio.create_task(plan(number)) for number in numbers]
    try:
        outcomes: list[SceneOutcome] = list(await asyncio.gather(*running))
    except BaseException:
        # cancellation (or a bug): stop the other scenes too, and raise it as itself
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise
    planned: list[PlannedScene] = [o.plan for o in outcomes if o.plan is not None]
    failed: list[FailedScene] = [o.failure for o in outcomes if o.failure is not None]
    if not planned:
        details = {"failed_scenes": [f.model_dump() for f in failed]}
        summary = "; ".join(f"scene {f.number}: {f.error}" for f in failed[:5])
        if all(o.transient for o in outcomes):
            raise TransientError(f"no scene could be planned (model unavailable): {summary}",
                                 details)
        model_errors = [o.last_error for o in outcomes if isinstance(o.last_error, ModelError)]
        if len(model_errors) == len(outcomes):
            # the model layer gave up on every scene: say so as the model error it is
            first = model_errors[0]
            raise ModelError(f"no scene could be planned: {first.message}",
                             {**first.details, **details}) from first
        raise PlanningFailed(f"none of the {len(failed)} scene(s) could be planned: {summary}",
                             details)

    warnings = PlanWarningList()
    if failed:
        message = (f"{len(failed)} of {len(numbers)} scene(s) could not be planned: "
                   + ", ".join(str(f.number) for f in failed))
        item = warnings.add("scenes_not_planned", message, scenes=[f.number for f in failed])
        await ctx.emit("warning", message, kind=item.kind, scenes=item.scenes,
                       failed_scenes=[f.model_dump() for f in failed])
    for number, brief in briefs.items():
        if brief.unavailable_location:
            where = brief.facts.location or ""  # set: an unnamed place is never unavailable
            warnings.add("location_unavailable",
                         f"scene {number}: location {where!r} is not among the available "
                         "locations", scenes=[number],
                         locations=[brief.facts.location_id or story.location_id(where)])

    trimmed = [n for n, brief in briefs.items() if brief.text_trimmed]
    if trimmed:
        kept = sum(min(len(briefs[n].facts.text), limits[n]) for n in trimmed)
        whole = sum(len(briefs[n].facts.text) for n in trimmed)
        warnings.add(
            "scene_text_trimmed",
            f"{len(trimmed)} scene(s) ({_short_list(trimmed)}) were trimmed to fit the prompt "
            f"budget ({inputs.prompt_budget:g}x the story, at most {inputs.scene_text_chars} "
            f"characters a scene): their prompts kept the opening and ending, "
            f"{100 * kept / max(whole, 1):.0f}% of their text", scenes=trimmed)
    if not budget.attainable:
        # the rule for every short story, about cost and not the plan (nothing was cut): for
        # the operator's log, not a warning to the writer
        log.info("the scenes are too short for the prompt budget (%gx their text): each "
                 "scene's prompts carry a fixed part of about 5,000 characters, so the prompts "
                 "are larger than the budget; nothing was cut", inputs.prompt_budget)
    if entry_chars < MAX_ENTRY_CHARS:
        warnings.add("entries_cut", f"character and location entries were cut to {entry_chars} "
                     "characters in the prompts to fit the prompt budget")
    planned.sort(key=lambda scene: scene.number)
    names = {story.character_id(name): name for name in story.characters}
    for scene in planned:
        names.update({story.character_id(n): n for n in scene.characters
                      if story.character_id(n) not in names})
    add_continuity(planned, lambda cid: names.get(cid, cid))
    for scene in planned:
        in_scene = {story.character_id(n) for n in [*scene.characters,
                                                    *briefs[scene.number].facts.characters]}
        framing = framing_warning(scene, in_scene | set(scene.breakdown.cast),
                                  lambda cid: names.get(cid, cid))
        if framing:
            warnings.append(framing)
        # pages from the scene's text: without it they are counted from the shots themselves
        if not models.offline and briefs[scene.number].facts.text \
                and (runtime := runtime_warning(scene)):
            warnings.append(runtime)
    schedule = build_plan_schedule(planned, inputs.constraints, names)
    totals = compute_totals(planned, inputs.constraints, schedule)
    # the whole film against the project's target: only a real model's plan of every scene
    # (a selection or a failed scene is part of a film; the stand-in's durations are filler)
    if story.target_runtime is not None and not models.offline and not failed \
            and set(numbers) == set(story.scenes) \
            and (off := film_runtime_warning(totals.estimated_screen_time_seconds,
                                             story.target_runtime)):
        warnings.append(off)
    if totals.fits_schedule is False:
        warnings.add("schedule_over_days",
                     f"the schedule needs {totals.shooting_days} shooting days but "
                     f"{totals.shooting_days_available} are available")
    # a failed scene's unfinished tasks will never finish: take them out of the total
    ctx.total_tasks = ctx.completed_tasks + (1 if inputs.write_back else 0)
    if inputs.write_back:
        await ctx.task_started(WRITE_TASK)
        written, removed = False, []
        try:
            kg = custom_kg(planned, story.scenes, made_by_line(models.models, models.offline))
            await ctx.tool("kg_insert_custom_kg").acall(custom_kg=kg)
            written = True
            if lookup_failures:
                raise lookup_failures[0]
            removed = await remove_shots(ctx, [name for scene in planned
                                               for name in stale.get(scene.number, [])])
        except Exception as exc:  # the plan is the product; a graph outage must not lose it
            step = "remove earlier shots from" if written else "write the shots to"
            message = f"could not {step} the knowledge graph: {exc}"
            warnings.add("graph_write_failed", message)
            await ctx.emit("warning", message, kind="graph_write_failed",
                           error=type(exc).__name__)
        await ctx.task_finished(WRITE_TASK, written=written, removed_shots=removed)
    else:
        await ctx.add_tasks(0)

    return ScenePlan(
        project_id=project_id,
        title=story.title,
        scenes=planned,
        totals=totals,
        schedule=schedule,
        language=story.language,
        failed_scenes=sorted(failed, key=lambda f: f.number),
        warnings=warnings.messages,
        warning_details=warnings.resolve(planned),
        model=models,
    )
