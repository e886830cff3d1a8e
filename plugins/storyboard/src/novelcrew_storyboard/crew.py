"""The storyboard crew's run: read the plan, describe the looks, board the shots, assemble, write.

Model work is split into small calls that run concurrently (bounded): the Visual Development
Artist describes characters and locations in batches and proposes a style; the Storyboard
Artist boards one scene per call. Each prompt carries only what that call needs, cut to the
prompt budget, so a 100k-word story costs many small prompts, never one huge one. A rejected
answer is retried once with the reason; a unit that still fails falls back to the plan's own
words and a warning. A role routed to the ``offline`` stand-in makes no call at all: its part is
filled deterministically and the storyboard is marked offline (never ready for generation). So
is a board of a plan or an analysis the stand-in made (its result's ``model.offline``, or the
``Made by:`` line of its shots or of the ``Story`` in the graph), whatever model boards it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from novelcrew.context import RunContext
from novelcrew.errors import InvalidInput, JobCancelled, JobError
from novelcrew_storyboard.answers import (
    AnswerRejected,
    CharacterAnswer,
    CharactersAnswer,
    LocationAnswer,
    LocationsAnswer,
    ShotsAnswer,
    StyleAnswer,
    clean,
    parse,
)
from novelcrew_storyboard.config import TASK_KEYS, StoryboardConfig, load_config
from novelcrew_storyboard.graph import custom_kg, read_graph, remove_frames
from novelcrew_storyboard.inputs import StoryboardInput, StoryboardSettings
from novelcrew_storyboard.models import (
    ModelInfo,
    Storyboard,
    StoryboardScene,
    StoryboardWarning,
    Totals,
    VisualBible,
)
from novelcrew_storyboard.offline import offline_character, offline_shot, pronoun_of
from novelcrew_storyboard.prompts import (
    character_look,
    location_look,
    painted_words,
    sentences,
    storyboard_shot,
    style_guide,
    time_clash_in,
)
from novelcrew_storyboard.source import SceneFacts, Story, add_analysis, add_plan
from novelcrew_storyboard.warning_list import StoryboardWarningList

log = logging.getLogger(__name__)

READ_TASK = "Read the analysis and the plan"
WRITE_TASK = "Write the storyboard to the knowledge graph"
OFFLINE_NOTE = (
    "Storyboard made by the offline stand-in model: looks are only what the story's words "
    "state, actions are the plan's notes. It is a labelled placeholder for trying the "
    "pipeline, not material for media generation; configure a real model for that."
)
PLAN_OFFLINE_NOTE = (
    "The director's plan boarded here was made by the offline stand-in model: its shots are "
    "placeholders from plain extraction, so this storyboard is not material for media "
    "generation either. Run the director on a real model, then the storyboard again."
)
ANALYSIS_OFFLINE_NOTE = (
    "The story analysis under this storyboard (its scenes, characters and places) was made "
    "by the offline stand-in model, which does not understand the story, so this storyboard "
    "is not material for media generation. Run the architect and the director on a real "
    "model, then the storyboard again."
)
#: tokens crewAI adds around a task (system prompt, format instructions), measured generously
CREWAI_OVERHEAD_TOKENS = 700
MAX_BATCH = 8
MAX_EXCERPT_CHARS = 1500
#: the scene text a boarding prompt carries: its opening and ending (see ``scene_material``)
SCENE_TEXT_CHARS = 400
ATTEMPTS = 2


class StoryboardFailed(JobError):
    """No model call of the storyboard could be answered."""

    error_type = "storyboard_failed"


@dataclass
class Unit:
    """One model call: a task key, the ids it answers for and its material."""

    task: str
    name: str
    ids: list[str]
    material: str
    scene: int | None = None


def tokens(text: str) -> int:
    return len(text) // 4 + 1


# reading ------------------------------------------------------------------------------------
async def read_story(ctx: RunContext, inputs: StoryboardInput, project_id: str | None,
                     warnings: StoryboardWarningList) -> Story:
    """The analysis and the plan: from the chain, the inputs, else the knowledge graph."""
    given = {**dict(ctx.previous), **inputs.previous}
    analysis, plan = given.get("architect"), given.get("director")
    story = Story()
    for key, value in (("analysis", analysis), ("plan", plan)):
        crew = "architect" if key == "analysis" else "director"
        if value is not None:
            story.sources[key] = "chain" if crew in ctx.previous else "inputs"
    if (analysis is None or plan is None) and project_id and ctx.has_tool("kg_query"):
        try:
            graph_analysis, graph_plan = await read_graph(ctx)
        except Exception as exc:  # a graph outage: say so, and use what was given
            item = warnings.add("graph_read_failed", f"could not read the knowledge graph: {exc}")
            await ctx.emit("warning", item.message, error=type(exc).__name__, kind=item.kind)
        else:
            if analysis is None and graph_analysis["scenes"]:
                analysis, story.sources["analysis"] = graph_analysis, "graph"
            if plan is None and graph_plan["scenes"]:
                plan, story.sources["plan"] = graph_plan, "graph"
    add_analysis(story, analysis)
    add_plan(story, plan)
    if not any(scene.shots for scene in story.scenes.values()):
        raise InvalidInput(
            "no planned shots to board: run the storyboard after the director "
            "('architect,director,storyboard'), pass an earlier job's result as previous, or "
            "give a project_id whose knowledge graph holds the director's shots",
            {"sources": story.sources})
    return story


def payload_configured(ctx: RunContext) -> bool:
    """Installed but unconfigured is normal outside Novel Movie: the payload tools say so
    (``configured``), and the crew then skips Payload quietly."""
    return bool(getattr(ctx.tool("payload_read_project"), "configured", True))


async def read_project(ctx: RunContext, project_id: str | None,
                       warnings: StoryboardWarningList) -> dict[str, Any] | None:
    """The Payload project (for its genre, tone, mood and style); None when not read."""
    if not project_id or not ctx.has_tool("payload_read_project") \
            or not payload_configured(ctx):
        return None
    try:
        doc = await ctx.tool("payload_read_project").acall(project_id=project_id)
    except Exception as exc:
        item = warnings.add("payload_read_failed", f"could not read the Payload project: {exc}")
        await ctx.emit("warning", item.message, error=type(exc).__name__, kind=item.kind)
        return None
    return doc if isinstance(doc, dict) else None


#: the most of a movie style's description a prompt carries (every shot's prompt ends with it)
STYLE_DESCRIPTION_CHARS = 300


def project_style(doc: dict[str, Any]) -> dict[str, str]:
    """The project's genre, tone, mood, style and audience as words, and its movie style's
    description (``style_description``) and format.

    A note may be text, or a list of the names of linked records (Novel Movie links tone, mood,
    audience and ``primaryGenres`` to records, and the payload tool gives their names, genres
    in order of importance); ``movieStyle`` and ``movieFormat`` come as ``{"name", ...}``.
    Anything else, such as a record's id, is not a word for a prompt and is skipped.
    """
    out = {}
    for name, keys in (("genre", ("genre", "primaryGenres")), ("tone", ("tone",)),
                       ("mood", ("mood",)), ("style", ("style", "visualStyle", "movieStyle")),
                       ("audience", ("targetAudience",)), ("format", ("movieFormat",))):
        value = next((text for k in keys if (text := _words(doc.get(k)))), "")
        if value:
            out[name] = clean(value, 120)
    look = doc.get("movieStyle")
    if out.get("style") and isinstance(look, dict) and _words(look) == out["style"] \
            and (described := clean(look.get("description"), STYLE_DESCRIPTION_CHARS)):
        out["style_description"] = described
    return out


def _words(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(w for w in map(_words, value) if w)
    if isinstance(value, dict):
        return _words(value.get("name") or value.get("title"))
    return value.strip() if isinstance(value, str) else ""


# materials -------------------------------------------------------------------------------------
def character_material(story: Story, cid: str, limit: int) -> str:
    """The character's description, then the story's sentences that name them, to ``limit``
    (the offline stand-in reads ``offline_material`` instead)."""
    c = story.characters[cid]
    lines = [f"[{cid}] {c.name}" + (f" (also: {', '.join(c.aliases)})" if c.aliases else "")
             + (f", {c.role}" if c.role else ""), clean(c.description, 800)]
    used = sum(map(len, lines))
    for scene in story.scenes.values():
        for sentence in sentences(scene.text):
            if used + len(sentence) > limit:
                return "\n".join(lines)
            if story.mentions(cid, sentence):
                lines.append(f"- {sentence}")
                used += len(sentence) + 3
    days = sorted({s.story_day for s in story.scenes.values()
                   if s.story_day and cid in s.characters})
    if days:
        lines.append(f"Story days on screen: {', '.join(days)}")
    return "\n".join(x for x in lines if x)[:limit]


def offline_material(story: Story, cid: str, limit: int) -> tuple[str, list[str]]:
    """What the offline stand-in may read a character's looks from: their description when
    it is about them (a model's, naming no one), and the sentences that name them and no
    other character, to ``limit``. An offline analysis's description is story sentences (it
    names the character): those are read as sentences, by the same rule."""
    facts = story.characters[cid]
    others = [o for o in story.characters if o != cid]

    def alone(sentence: str) -> bool:
        return not any(story.mentions(o, sentence) for o in others)

    description = clean(facts.description, 800)
    pool = [s for scene in story.scenes.values() for s in sentences(scene.text)
            if story.mentions(cid, s)]
    # first: a person is described where they come in, and the limit cuts from the end
    pool = told_by_pronoun(story, cid, pronoun_of(s for s in pool if alone(s))) + pool
    if story.mentions(cid, description) or not alone(description):
        pool = [s for s in sentences(description) if story.mentions(cid, s)] + pool
        description = ""
    chosen: list[str] = []
    used = len(description)
    for sentence in dict.fromkeys(s for s in pool if alone(s)):
        if used + len(sentence) > limit:
            break
        chosen.append(sentence)
        used += len(sentence) + 1
    return description, chosen


def told_by_pronoun(story: Story, cid: str, pronoun: str | None) -> list[str]:
    """The sentences that go on about a character by pronoun, with the name put back:
    "Theo Lind arrived at ten past four. He was nineteen, long-armed and careful." gives
    "Theo Lind was nineteen, long-armed and careful." Only where the sentence before names
    them and no one else, and "He" or "She" opens it: whichever opens more such sentences
    (the point of view's "she" is all through a sentence about Sam; "He had grown a beard"
    is Sam), else the one ``pronoun`` says. Most first descriptions of a person are told
    this way."""
    name = story.characters[cid].name
    others = [o for o in story.characters if o != cid]
    told: dict[str, list[str]] = {"He": [], "She": []}
    for scene in story.scenes.values():
        for before, sentence in itertools.pairwise(sentences(scene.text)):
            first, _, rest = sentence.partition(" ")
            if first in told and rest and story.mentions(cid, before) \
                    and not any(story.mentions(o, before) or story.mentions(o, sentence)
                                for o in others):
                told[first].append(f"{name} {rest}")
    he, she = len(told["He"]), len(told["She"])
    if he != she:
        return told["He"] if he > she else told["She"]
    return told.get({"his": "He", "her": "She"}.get(pronoun or "", ""), [])


def location_material(story: Story, lid: str) -> str:
    loc = story.locations[lid]
    times = sorted({s.day_night for s in story.scenes.values()
                    if s.location == lid and s.day_night})
    return "\n".join(x for x in (f"[{lid}] {loc.name}", clean(loc.description, 600),
                                 f"Atmosphere: {clean(loc.atmosphere, 300)}"
                                 if loc.atmosphere else "",
                                 f"Seen at: {', '.join(times)}" if times else "") if x)


def scene_material(story: Story, scene: SceneFacts, limit: int) -> str:
    """The scene's facts and shot list, the director's blocking and beats, and the opening
    and ending of its text.

    The director read the scene's whole text and planned from it: the summary, the blocking
    (who moves where, in order), the beats and each shot's notes are that reading. The whole
    text would be the story a third time in the pipeline's prompts, so only its opening and
    ending go (``SCENE_TEXT_CHARS``), as the director's own shot-list call gets no prose.
    The bound is the same whatever the plan holds, so a dry run (whose offline plan has no
    blocking) estimates these prompts as they will be.
    """
    place = story.locations.get(scene.location or "")
    cast = ", ".join(story.characters[c].name for c in scene.characters
                     if c in story.characters)
    lines = [f"SCENE {scene.number}" + (f": {scene.heading}" if scene.heading else ""),
             f"Summary: {clean(scene.summary, 600)}"]
    if place:
        lines.append(f"Location: {place.name}")
    if cast:
        lines.append(f"Characters: {cast}")
    if scene.mood:
        lines.append(f"Mood: {clean(scene.mood, 120)}")
    if scene.dialogue:
        lines.append("Dialogue: " + " | ".join(clean(d, 200) for d in scene.dialogue[:8]))
    if scene.blocking:
        lines.append("Blocking: " + " | ".join(clean(b, 200) for b in scene.blocking[:12]))
    if scene.beats:
        lines.append("Beats: " + " | ".join(clean(b, 120) for b in scene.beats[:6]))
    lines.append("Shots:")
    for shot in scene.shots:
        who = ", ".join(story.characters[c].name for c in shot.subjects
                        if c in story.characters) or "no one"
        cover = f" {shot.coverage}," if shot.coverage else ""
        lines.append(f"{shot.number}. {shot.size}{cover} {shot.angle}, "
                     f"{shot.movement or 'static'}, {shot.duration:g}s, in frame: {who}. "
                     f"{clean(shot.notes, 240)}")
    head = "\n".join(lines)
    room = min(limit - len(head) - 20, SCENE_TEXT_CHARS)
    if scene.text and room > 200:
        head += f"\nText:\n{excerpt(scene.text, room)}"
    return head


def excerpt(text: str, limit: int) -> str:
    """``text``, or its opening and ending within ``limit`` characters, cut at words."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[: limit * 2 // 3].rsplit(" ", 1)[0]
    tail = text[len(text) - limit // 3:].split(" ", 1)[-1]
    return f"{head} [...] {tail}"


def plan_units(story: Story, config: StoryboardConfig, budget: int, characters: list[str],
               locations: list[str], scenes: list[SceneFacts],
               notes: dict[str, str] | None = None) -> list[Unit]:
    """The model calls, each within the prompt budget. ``notes`` (genre, tone, mood, audience,
    visual style and format: the inputs' or the project's) tell the style call what the writer
    asked for."""
    notes = notes or {}

    def room(task: str) -> int:
        agent = config.agents[config.tasks[task].agent]
        fixed = sum(map(len, (agent.role, agent.goal, agent.backstory,
                              config.tasks[task].description, config.tasks[task].expected_output)))
        return max(800, (budget - CREWAI_OVERHEAD_TOKENS) * 4 - 2 * fixed)

    limit = room("character_looks")
    per = max(400, min(limit // 3, MAX_EXCERPT_CHARS * 2))
    units = _batched("character_looks", "Characters", limit,
                     [(cid, character_material(story, cid, per)) for cid in characters])
    limit = room("location_looks")
    units += _batched("location_looks", "Locations", limit,
                      [(lid, location_material(story, lid)[:limit // 2]) for lid in locations])
    tone = notes.get("tone") or story.tone
    genre = notes.get("genre") or story.genre
    look = notes.get("style", "")
    if look and notes.get("style_description"):
        look = f"{look}: {notes['style_description']}"
    overview = "\n".join(x for x in (
        f"Title: {story.title}" if story.title else "", f"Logline: {story.logline}"
        if story.logline else "", f"Genre: {genre}" if genre else "",
        f"Tone: {tone}" if tone else "",
        f"Mood: {notes['mood']}" if notes.get("mood") else "",
        f"Target audience: {notes['audience']}" if notes.get("audience") else "",
        f"Visual style to follow: {look}" if look else "",
        f"Format: {notes['format']}" if notes.get("format") else "",
        "Scenes: " + " / ".join(clean(s.heading or s.summary, 90) for s in scenes)) if x)
    units.append(Unit("style_guide", "Style guide", [], overview[:room("style_guide")]))
    limit = room("shot_prompts")
    for scene in scenes:
        units.append(Unit("shot_prompts", f"Scene {scene.number}: board",
                          [str(shot.number) for shot in scene.shots],
                          scene_material(story, scene, limit), scene=scene.number))
    return units


def _batched(task: str, label: str, limit: int, items: list[tuple[str, str]]) -> list[Unit]:
    """``(id, material)`` pairs as few units of ``task`` as fit: at most ``MAX_BATCH`` ids and
    ``limit`` characters of material each (one id alone may have more)."""
    units: list[Unit] = []
    batch: list[tuple[str, str]] = []
    for cid, text in items:
        if batch and (len(batch) >= MAX_BATCH or sum(len(t) for _, t in batch) + len(text) > limit):
            units.append(_unit(task, label, batch))
            batch = []
        batch.append((cid, text))
    if batch:
        units.append(_unit(task, label, batch))
    return units


def _unit(task: str, label: str, batch: list[tuple[str, str]]) -> Unit:
    ids = [i for i, _ in batch]
    name = f"{label}: {', '.join(ids[:3])}" + (f" (+{len(ids) - 3})" if len(ids) > 3 else "")
    return Unit(task, name, ids, "\n\n".join(t for _, t in batch))


# model calls ----------------------------------------------------------------------------------
Answers = dict[str, list[tuple[Unit, BaseModel]]]
ANSWERS: dict[str, type[BaseModel]] = {
    "character_looks": CharactersAnswer, "location_looks": LocationsAnswer,
    "style_guide": StyleAnswer, "shot_prompts": ShotsAnswer,
}


class Caller:
    """Runs units on the routed LLMs, one fresh one-agent crew per call."""

    def __init__(self, ctx: RunContext, config: StoryboardConfig, llms: dict[str, Any]) -> None:
        self.ctx, self.config, self.llms = ctx, config, llms

    def _crew(self, unit: Unit, feedback: str) -> tuple[Any, Any]:
        from crewai import Agent, Crew, Process, Task

        text = self.config.tasks[unit.task]
        agent_text = self.config.agents[text.agent]
        agent = Agent(role=agent_text.role, goal=agent_text.goal,
                      backstory=agent_text.backstory, llm=self.llms[agent_text.role],
                      allow_delegation=False, verbose=False, max_iter=2, max_retry_limit=0)
        description, expected = text.render(material=unit.material, ids=json.dumps(unit.ids),
                                            feedback=feedback)
        task = Task(name=unit.name, description=description, expected_output=expected,
                    agent=agent)
        return Crew(agents=[agent], tasks=[task], process=Process.sequential, verbose=False,
                    tracing=False), task

    async def call(self, unit: Unit) -> tuple[BaseModel | None, BaseException | None]:
        """The parsed answer, or None and the last error (a rejection or a model error)."""
        feedback = ""
        error: BaseException | None = None
        for attempt in range(1, ATTEMPTS + 1):
            self.ctx.check_cancelled()
            crew, task = self._crew(unit, feedback)
            if attempt == 1:
                self.ctx.total_tasks -= 1  # announced up front; kickoff counts it again
            try:
                await self.ctx.kickoff(crew, {})
                output = getattr(task, "output", None)
                return parse(str(getattr(output, "raw", "") or ""), ANSWERS[unit.task]), None
            except (JobCancelled, KeyboardInterrupt):
                raise
            except AnswerRejected as exc:
                error, reason = exc, f"the JSON did not match: {exc}"
            except Exception as exc:
                error, reason = exc, f"{type(exc).__name__}: {exc}"
            if self.ctx.cancelled:
                raise JobCancelled("the job was cancelled")
            feedback = (f"\n\nYOUR PREVIOUS ANSWER WAS REJECTED: {reason[:500]}\n"
                        "Answer again with only the JSON object described above.")
        return None, error


# the run --------------------------------------------------------------------------------------
async def run(ctx: RunContext, inputs: StoryboardInput) -> Storyboard:
    """Board the planned shots of the project (see the package README)."""
    settings = StoryboardSettings.of(ctx.settings)  # a bad value: SettingsError naming it
    clip_seconds = inputs.clip_seconds or settings.clip_seconds
    aspect = (inputs.aspect_ratio, "inputs") if inputs.aspect_ratio \
        else (settings.aspect_ratio, "settings")
    project_id = inputs.project_id or ctx.project_id
    config = load_config(settings.config_dir)
    warnings = StoryboardWarningList()

    # the read and at least one call, so finishing the read is not shown as the job's end
    await ctx.add_tasks(2)
    await ctx.task_started(READ_TASK)
    story = await read_story(ctx, inputs, project_id, warnings)
    project = await read_project(ctx, project_id, warnings)
    scenes = [s for _, s in sorted(story.scenes.items()) if s.shots]
    await ctx.task_finished(READ_TASK, scenes=len(scenes),
                            shots=sum(len(s.shots) for s in scenes), **story.sources)

    cast = list(dict.fromkeys(c for s in scenes for c in (*s.characters,
                                                          *(x for sh in s.shots
                                                            for x in sh.subjects))))
    places = list(dict.fromkeys(s.location for s in scenes if s.location))
    wishes = {**project_style(project or {}),
              **{k: v for k in ("genre", "tone", "mood", "style")
                 if (v := clean(getattr(inputs.style, k)))}}
    if inputs.style.style:  # the project's description is of its own style, not this one
        wishes.pop("style_description", None)
    units = plan_units(story, config, ctx.settings.prompt_token_budget, cast, places, scenes,
                       wishes)
    write_graph = inputs.write_back and ctx.has_tool("kg_insert_custom_kg")
    # Payload is written by the payload plugin's observer when this crew finishes, in the same
    # update that moves the project's workflow, so a stored storyboard and the step agree
    await ctx.add_tasks(len(units) - 1 + int(write_graph))

    roles = sorted({config.role(key) for key in TASK_KEYS})
    models = {role: ctx.model_id(role) for role in roles}
    offline_roles = {r for r, m in models.items() if m.split("/", 1)[0] == "offline"}
    llms = {role: ctx.llm(role) for role in roles if role not in offline_roles}
    caller = Caller(ctx, config, llms)
    # units in flight: twice the calls their models take at once (shared by every job), so
    # each call slot has a unit ready; the rest wait here, not as parked crews and threads
    window = inputs.max_parallel or settings.max_parallel or 2 * max(
        [ctx.model_limit(role) for role in roles if role not in offline_roles] or [1])
    limit = asyncio.Semaphore(window)
    answers: Answers = {key: [] for key in TASK_KEYS}
    failures: list[tuple[Unit, BaseException | None]] = []

    async def one(unit: Unit) -> None:
        if config.role(unit.task) in offline_roles:
            await ctx.task_started(unit.name, offline=True)
            await ctx.task_finished(unit.name, offline=True)
            return
        async with limit:
            answer, error = await caller.call(unit)
        if answer is None:
            failures.append((unit, error))
            item = warn_unusable(warnings, unit, error)
            # as data too: the shots a look concerns are known only once the board is made
            await ctx.emit("warning", item.message, task=unit.name,
                           **item.model_dump(exclude={"message", "shot_ids"}))
        else:
            answers[unit.task].append((unit, answer))
            if unit.scene is not None:  # a scene's boarded shots, readable at once
                await ctx.publish_partial("scene", unit.scene, answer, total=scene_units,
                                          message=f"scene {unit.scene} boarded")

    scene_units = sum(1 for u in units if u.scene is not None
                      and config.role(u.task) not in offline_roles)
    running = [asyncio.create_task(one(unit)) for unit in units]
    try:
        await asyncio.gather(*running)
    except BaseException:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise
    called = [u for u in units if config.role(u.task) not in offline_roles]
    if called and len(failures) == len(called):
        first = failures[0][1]
        if first is not None and not isinstance(first, AnswerRejected):
            raise first  # the model layer's own error (transient ones make the job retry)
        raise StoryboardFailed(f"none of the {len(called)} storyboard calls was answered "
                               f"usably: {first}")

    notes = [n for n, on in ((OFFLINE_NOTE, bool(offline_roles)),
                             (PLAN_OFFLINE_NOTE, story.plan_offline),
                             (ANALYSIS_OFFLINE_NOTE,
                              story.analysis_offline and not story.plan_offline)) if on]
    offline, note = bool(notes), " ".join(notes) or None
    bible = assemble_bible(story, project or {}, inputs, answers, offline_roles, config, cast,
                           places, scenes, aspect)
    board = assemble_scenes(story, bible, answers, scenes, clip_seconds,
                            project_id or story.title or "", warnings)
    shots = [shot for scene in board for shot in scene.shots]
    details = warnings.resolve(board)  # flags each shot with the kinds that concern it
    result = Storyboard(
        project_id=project_id, title=story.title, language=story.language, bible=bible,
        scenes=board, clip_seconds=clip_seconds,
        totals=Totals(scenes=len(board), shots=len(shots),
                      clips=sum(len(s.clips) for s in shots),
                      seconds=round(sum(s.duration_seconds for s in shots), 2)),
        offline=offline, ready_for_media_generation=bool(shots) and not offline,
        note=note, sources=story.sources, warnings=warnings.messages,
        warning_details=details,
        model=ModelInfo(models=models, offline=bool(offline_roles),
                        note=OFFLINE_NOTE if offline_roles else None))

    if write_graph:
        await ctx.task_started(WRITE_TASK)
        try:
            kg = custom_kg(bible, board, offline=offline, models=models)
            removed = await remove_frames(ctx)
            await ctx.tool("kg_insert_custom_kg").acall(custom_kg=kg)
            result.graph = {"entities": len(kg["entities"]),
                            "relationships": len(kg["relationships"]),
                            "frames_replaced": len(removed)}
        except Exception as exc:  # the storyboard is the product; a graph outage must not lose it
            item = warnings.add("graph_write_failed",
                                f"could not write the storyboard to the knowledge graph: {exc}")
            result.warnings.append(item.message)
            result.warning_details.append(item)
            await ctx.emit("warning", item.message, error=type(exc).__name__, kind=item.kind)
        await ctx.task_finished(WRITE_TASK, **result.graph)
    return result


def assemble_bible(story: Story, project: dict[str, Any], inputs: StoryboardInput,
                   answers: Answers, offline_roles: set[str],
                   config: StoryboardConfig, cast: list[str], places: list[str],
                   scenes: list[SceneFacts], aspect: tuple[str, str]) -> VisualBible:
    style_answers = [a for _, a in answers["style_guide"] if isinstance(a, StyleAnswer)]
    style = style_guide(inputs.style, project_style(project), story.genre, story.tone, scenes,
                        style_answers[0] if style_answers else None, aspect)
    by_char: dict[str, CharacterAnswer] = {}
    for unit, answer in answers["character_looks"]:
        for item in getattr(answer, "characters", []):
            if item.id in unit.ids:  # an id the call was not asked about is ignored
                by_char.setdefault(item.id, item)
    by_place: dict[str, LocationAnswer] = {}
    for unit, answer in answers["location_looks"]:
        for item in getattr(answer, "locations", []):
            if item.id in unit.ids:
                by_place.setdefault(item.id, item)
    offline_looks = config.role("character_looks") in offline_roles
    looks = []
    for cid in cast:
        look_answer: CharacterAnswer | None
        if offline_looks:
            description, sentences = offline_material(story, cid, 6000)
            look_answer = offline_character(story.characters[cid], description, sentences)
            material = "\n".join([description, *sentences])
        else:
            material = character_material(story, cid, 6000)
            look_answer = by_char.get(cid)
        wardrobe: dict[str, str] = {}
        for scene in scenes:
            if cid in scene.wardrobe:
                wardrobe.setdefault(scene.story_day or "default", scene.wardrobe[cid])
        looks.append(character_look(story.characters[cid], look_answer, material, wardrobe,
                                    style))
    described = config.role("location_looks") not in offline_roles
    locations = []
    for lid in places:
        times = [s.day_night for s in scenes if s.location == lid]
        sides = [s.int_ext for s in scenes if s.location == lid]
        locations.append(location_look(story.locations[lid], by_place.get(lid), times, style,
                                       described=described, sides=sides))
    return VisualBible(characters=looks, locations=locations, style=style)


def assemble_scenes(story: Story, bible: VisualBible, answers: Answers,
                    scenes: list[SceneFacts], clip_seconds: float,
                    project: str, warnings: StoryboardWarningList) -> list[StoryboardScene]:
    """The boarded scenes; a shot whose words paint another time than its scene's, or name
    someone who is not in frame (whom an image model paints with no reference image), is
    warned of in ``warnings``, once per scene and cause (its prompts keep the words: they are
    the plan's and the model's, and a person decides)."""
    boarded: dict[tuple[int, int], tuple[str, str]] = {}
    for unit, answer in answers["shot_prompts"]:
        for item in getattr(answer, "shots", []):
            if unit.scene is not None and str(item.number) in unit.ids:
                boarded[(unit.scene, item.number)] = (clean(item.action),
                                                      clean(item.composition))
    out = []
    for scene in scenes:
        place = bible.location(scene.location)
        shots = []
        clashes: dict[str, list[int]] = {}
        unframed: dict[str, list[int]] = {}
        for shot in scene.shots:
            cast = [look for cid in shot.subjects if (look := bible.character(cid))]
            action, composition = boarded.get((scene.number, shot.number)) \
                or offline_shot(shot, scene, cast)
            if clash := time_clash_in(shot, scene, place, action, composition or ""):
                clashes.setdefault(clash, []).append(shot.number)
            painted = painted_words(action, composition or "")
            for cid in story.characters:
                if cid not in shot.subjects and story.mentions(cid, painted):
                    unframed.setdefault(cid, []).append(shot.number)
            shots.append(storyboard_shot(shot, scene, cast, place, bible.style, action,
                                         composition or "", clip_seconds, project))
        for clash, numbers in clashes.items():
            warnings.add("time_of_day_clash",
                         f"scene {scene.number} is {scene.day_night} but {clash} "
                         f"({_shots(numbers)}): check before generating",
                         scene=scene.number, shots=numbers)
        for cid, numbers in unframed.items():
            warnings.add("not_in_frame",
                         f"scene {scene.number}: {story.characters[cid].name} is named in "
                         f"{_shots(numbers)} but not in frame, so no reference image goes "
                         "with the prompt: check before generating",
                         scene=scene.number, shots=numbers, characters=[cid])
        out.append(StoryboardScene(id=scene.id, number=scene.number, heading=scene.heading,
                                   location_id=scene.location, day_night=scene.day_night,
                                   story_day=scene.story_day, shots=shots,
                                   duration_seconds=round(
                                       sum(s.duration_seconds for s in shots), 3)))
    return out


def warn_unusable(warnings: StoryboardWarningList, unit: Unit,
                  error: BaseException | None) -> StoryboardWarning:
    """A unit answered unusably twice: what falls back to the plan's own words, as data."""
    message = f"{unit.name}: no usable answer ({error}); the plan's own words are used"
    if unit.task == "shot_prompts":
        return warnings.add("no_usable_answer", message, scene=unit.scene,
                            shots=[int(n) for n in unit.ids])
    if unit.task == "character_looks":
        return warnings.add("no_usable_answer", message, characters=unit.ids)
    if unit.task == "location_looks":
        return warnings.add("no_usable_answer", message, locations=unit.ids)
    return warnings.add("no_usable_answer", message)  # the style guide: no one shot's


def _shots(numbers: list[int]) -> str:
    """"shot 3" or "shots 3, 5", as a warning names them."""
    return f"{'shot' if len(numbers) == 1 else 'shots'} {', '.join(map(str, numbers))}"

