"""Planning one scene: a fresh two-agent crewAI crew, its answers checked, bounded retries.

The first attempt runs the Scene Analysis Director's breakdown and then the Cinematography
Specialist's shot list in one small crew. A rejected answer (not JSON, wrong shape) or a model
error costs an attempt; the next attempt feeds the rejection back to the agent and redoes only
the stage that failed (an accepted breakdown is kept and pasted into the shot-list task). After
``max_attempts`` the scene is reported as failed and the other scenes' plans stand.

crewAI is imported here, inside functions, only when a scene is planned.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from novelcrew.context import RunContext
from novelcrew.errors import JobCancelled, TransientError, causes
from novelcrew_director import headings
from novelcrew_director.breakdown import category, sheet, without_speech
from novelcrew_director.brief import SceneBrief, clip
from novelcrew_director.config import DirectorConfig
from novelcrew_director.coverage import default_coverage, moves
from novelcrew_director.models import (
    CATEGORIES,
    PER_CHARACTER,
    FailedScene,
    PlannedScene,
    SceneBreakdown,
    Shot,
    ShotList,
)
from novelcrew_director.pages import EIGHTHS
from novelcrew_director.runtime import SECONDS_PER_PAGE
from novelcrew_director.story import StoryContext
from novelcrew_director.vocabulary import (
    Angle,
    Coverage,
    IntExt,
    Movement,
    ShotSize,
    Support,
    parse_day_night,
    parse_int_ext,
    support_for,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

BREAKDOWN_AGENT = "scene_analysis_director"
SHOTS_AGENT = "cinematography_specialist"
MAX_ERROR_CHARS = 600
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)


_STR: dict[str, Any] = {"type": "string"}
_STRS: dict[str, Any] = {"type": "array", "items": _STR}


def _enum(enum: Any) -> dict[str, Any]:
    return {"enum": [member.value for member in enum]}


#: the answers' JSON schemas, compact (they go into every prompt), generated from the enums
BREAKDOWN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": _STR, "characters": _STRS, "blocking": _STRS, "emotional_beats": _STRS,
        "pacing": _STR, "transition": _STR, "mood": _STR, "lighting": _STR,
        "palette": _STRS, "continuity": _STRS,
        **{key: ({"type": "array", "items": {"type": "object", "properties": {
            "character": _STR, "item": _STR}}} if key in PER_CHARACTER else _STRS)
           for key in CATEGORIES},
    },
    "required": ["summary"],
}
SHOTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"shots": {"type": "array", "minItems": 1, "items": {
        "type": "object",
        "properties": {
            "size": _enum(ShotSize), "angle": _enum(Angle), "movement": _enum(Movement),
            "support": _enum(Support), "lens_mm": {"type": "integer", "minimum": 8,
                                                    "maximum": 600},
            "subjects": _STRS, "coverage": _enum(Coverage), "lighting": _STR, "audio": _STR,
            "estimated_duration_seconds": {"type": "number", "minimum": 1, "maximum": 300},
            "notes": _STR, "continuity": _STR, "alternative": _STR, "equipment": _STRS,
        },
        "required": ["size", "estimated_duration_seconds"],
    }}},
    "required": ["shots"],
}
#: what the shot list is planned from (the rest of the sheet is for other departments)
DIGEST_FIELDS = {"summary", "blocking", "emotional_beats", "pacing", "transition", "mood",
                 "lighting", "palette", "props", "vehicles", "animals", "special_effects",
                 "visual_effects", "stunts", "special_equipment"}
DIGEST_ITEMS = 12
SCAFFOLDING = ("Summary:", "Story:", "(none", "Relationships:", "Scene text:",
               "Characters (id", "Location entry:", "Set:", "<<<", ">>>")


def schema_text(schema: dict[str, Any]) -> str:
    """The schema line the offline stand-in reads (it fills schemas by extraction)."""
    return f"JSON schema: {json.dumps(schema, separators=(',', ':'))}\n"


class AnswerRejected(Exception):
    """An agent's answer did not validate; the message is what the agent is told."""


@dataclass
class SceneOutcome:
    plan: PlannedScene | None = None
    failure: FailedScene | None = None
    transient: bool = False
    errors: list[str] = field(default_factory=list)
    #: the exception of the last failed attempt, if the failure was an error (not a rejection)
    last_error: BaseException | None = None


def describe(exc: BaseException) -> str:
    """A short, model-readable reason for a rejection."""
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors(include_url=False)[:8]:
            where = ".".join(str(p) for p in error.get("loc", ())) or "answer"
            parts.append(f"{where}: {error.get('msg')}")
        more = exc.error_count() - len(parts)
        text = "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
    else:
        text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, AnswerRejected) else str(exc)
    return text[:MAX_ERROR_CHARS]


def _json_candidates(raw: str) -> list[str]:
    out = [raw.strip()]
    out += [m.strip() for m in _FENCE_RE.findall(raw)]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = raw.find(opener), raw.rfind(closer)
        if 0 <= start < end:
            out.append(raw[start:end + 1])
    return out


def parse_answer(raw: str, model: type[M]) -> M:
    """``model`` from an agent's raw answer: bare JSON, fenced JSON or JSON inside prose."""
    last: BaseException | None = None
    for candidate in _json_candidates(raw or ""):
        try:
            data = json.loads(candidate, strict=False)
        except json.JSONDecodeError as exc:
            last = last or exc
            continue
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            last = exc
    if isinstance(last, ValidationError):
        raise AnswerRejected(f"the JSON did not match the requested shape: {describe(last)}")
    snippet = (raw or "").strip().replace("\n", " ")[:160]
    raise AnswerRejected(f"the answer was not a JSON object (it began: {snippet!r})")


def _task_answer(task: Any, model: type[M]) -> M:
    output = getattr(task, "output", None)
    if output is None:
        raise AnswerRejected("no answer was produced")
    if isinstance(getattr(output, "pydantic", None), model):
        return output.pydantic  # type: ignore[no-any-return]
    return parse_answer(str(getattr(output, "raw", "") or ""), model)


class ScenePlanner:
    """Plans scenes for one run; holds the run's LLMs (stateless, shared) and texts."""

    def __init__(self, ctx: RunContext, config: DirectorConfig, llms: dict[str, Any],
                 max_attempts: int, *, story: StoryContext, language: str,
                 trust_model: bool = True) -> None:
        self.ctx = ctx
        self.story = story
        self.language = language
        #: False for the offline stand-in: the graph's facts win over its extracts
        self.trust_model = trust_model
        self.config = config
        self.llms = llms
        self.max_attempts = max_attempts

    # crewAI objects ------------------------------------------------------------------------
    def _agent(self, key: str) -> Any:
        from crewai import Agent

        text = self.config.agent(key)
        return Agent(role=text.role, goal=text.goal, backstory=text.backstory,
                     llm=self.llms[text.role], allow_delegation=False, verbose=False,
                     max_iter=3, max_retry_limit=0)

    def _task(self, key: str, agent: Any, brief: SceneBrief, *, name: str,
              breakdown: str = "", feedback: str = "",
              context: list[Any] | None = None) -> Any:
        """A plain crewAI task: no ``output_pydantic``, so crewAI appends no schema text of
        its own ("Preserve the original content exactly as-is..."); the prompt carries our
        compact schema and ``parse_answer`` validates the raw answer."""
        from crewai import Task

        shots = key == "shot_list"
        description, expected = self.config.tasks[key].render(
            scene_number=str(brief.number),
            scene_context=brief.shot_text if shots else brief.text, breakdown=breakdown,
            feedback=feedback, language=self.language,
            # the offline stand-in fills a schema; a real model reads the keys in the text
            schema="" if self.trust_model else
            schema_text(SHOTS_SCHEMA if shots else BREAKDOWN_SCHEMA))
        extra: dict[str, Any] = {"context": context} if context else {}
        return Task(name=name, description=description, expected_output=expected,
                    agent=agent, **extra)

    def _crew(self, agents: list[Any], tasks: list[Any]) -> Any:
        from crewai import Crew, Process

        return Crew(agents=agents, tasks=tasks, process=Process.sequential, verbose=False,
                    tracing=False)

    def breakdown_stage(self, brief: SceneBrief, feedback: str) -> tuple[Any, list[Any]]:
        director = self._agent(BREAKDOWN_AGENT)
        task = self._task("scene_breakdown", director, brief,
                          name=f"Scene {brief.number}: breakdown", feedback=feedback)
        return self._crew([director], [task]), [task]

    def shots_stage(self, brief: SceneBrief, breakdown: SceneBreakdown,
                    feedback: str) -> tuple[Any, list[Any]]:
        """The shot list from the approved breakdown's digest: what a DP plans from (blocking,
        beats, look, what must be in frame), not the whole sheet, to keep the prompt small."""
        camera = self._agent(SHOTS_AGENT)
        digest = breakdown.model_dump(include=DIGEST_FIELDS, exclude_defaults=True)
        for key, value in digest.items():
            # bounded, so a verbose breakdown cannot blow the prompt budget
            if isinstance(value, list):
                digest[key] = [clip(str(v["item"] if isinstance(v, dict) else v), 160)
                               for v in value[:DIGEST_ITEMS]]
            elif isinstance(value, str):
                digest[key] = clip(value, 400)
        text = ("The Scene Analysis Director's approved breakdown:\n"
                + json.dumps(digest, ensure_ascii=False, separators=(",", ":")))
        shots = self._task("shot_list", camera, brief, name=f"Scene {brief.number}: shot list",
                           breakdown=text, feedback=feedback)
        return self._crew([camera], [shots]), [shots]

    async def _run(self, crew: Any, tasks: list[Any], announced: list[str],
                   stage: str) -> BaseException | None:
        """Kick ``crew`` off; the error it raised (cancellation propagates)."""
        if stage in announced:
            # the run announced this stage's task up front; kickoff counts it again
            announced.remove(stage)
            self.ctx.total_tasks -= len(tasks)
        error: BaseException | None = None
        try:
            await self.ctx.kickoff(crew, {})
        except (JobCancelled, KeyboardInterrupt):
            raise
        except Exception as exc:
            error = exc
        if self.ctx.cancelled:
            raise JobCancelled("the job was cancelled")
        return error

    # the loop -------------------------------------------------------------------------------
    async def plan(self, brief: SceneBrief) -> SceneOutcome:
        """Plan one scene, retrying rejected answers; never raises except on cancellation.

        An attempt runs the breakdown (unless one was accepted before) and then the shot
        list, each as its own one-task crew; a rejection at either stage costs the attempt.
        """
        outcome = SceneOutcome()
        breakdown: SceneBreakdown | None = None
        feedback = ""
        attempt = 0
        announced = ["breakdown", "shot list"]
        for attempt in range(1, self.max_attempts + 1):
            self.ctx.check_cancelled()
            stage = "breakdown" if breakdown is None else "shot list"
            error: BaseException | None = None
            try:
                if breakdown is None:
                    crew, tasks = self.breakdown_stage(brief, feedback)
                    error = await self._run(crew, tasks, announced, stage)
                    breakdown = _task_answer(tasks[0], SceneBreakdown)
                    stage, feedback = "shot list", ""
                crew, tasks = self.shots_stage(brief, breakdown, feedback)
                error = await self._run(crew, tasks, announced, stage)
                shot_list = _task_answer(tasks[0], ShotList)
                outcome.plan = self._assemble(brief, breakdown, shot_list, attempt)
                return outcome
            except (AnswerRejected, ValidationError) as rejected:
                reason = describe(error) if error is not None else describe(rejected)
            outcome.last_error = error
            if error is not None and _is_transient(error):
                outcome.transient = True
            outcome.errors.append(f"{stage}: {reason}")
            feedback = (
                f"\n\nYOUR PREVIOUS ANSWER WAS REJECTED ({stage}): {reason}\n"
                "Answer again with only the JSON object described above, fixing that problem."
            )
            if attempt < self.max_attempts:
                await self.ctx.emit(
                    "warning",
                    f"scene {brief.number}: {stage} rejected on attempt {attempt} of "
                    f"{self.max_attempts}, retrying: {reason}",
                    scene=brief.number, attempt=attempt, stage=stage, error=reason,
                )
        outcome.failure = FailedScene(number=brief.number, attempts=attempt,
                                      error=outcome.errors[-1] if outcome.errors else "failed")
        return outcome

    def _assemble(self, brief: SceneBrief, breakdown: SceneBreakdown, shot_list: ShotList,
                  attempts: int) -> PlannedScene:
        facts, story, trust = brief.facts, self.story, self.trust_model
        int_ext = parse_int_ext(facts.int_ext) if facts.int_ext else None
        day_night = parse_day_night(facts.day_night or facts.time) \
            if (facts.day_night or facts.time) else None
        if int_ext is not None and facts.location and day_night is not None:
            heading = f"{int_ext.value}. {facts.location.upper()} - {day_night.value}"
        else:
            heading = headings.choose(breakdown.heading, facts.location, facts.time,
                                      brief.location_description, facts.summary, trust=trust)
            int_ext = int_ext or parse_int_ext(heading.split(" ", 1)[0])
            day_night = day_night or parse_day_night(heading.rsplit(" - ", 1)[-1])
        cast = {name: story.character_id(name) for name in facts.characters}
        known = set(cast.values()) | set(story.character_ids.values())
        if trust:
            shots = []
            for i, answer in enumerate(shot_list.shots, start=1):
                fields = answer.model_dump()
                fields["support"] = answer.support or support_for(answer.movement)
                fields["coverage"] = answer.coverage or _coverage(answer.size)
                subjects = [story.character_id(s) for s in answer.subjects]
                fields["subjects"] = list(dict.fromkeys(s for s in subjects if s in known))
                # kit named by the model; an untrusted model's "equipment" is prompt text
                fields["equipment"] = [item for item in answer.equipment if _kit_like(item)]
                shots.append(Shot(number=i, **fields))
        else:
            # the offline stand-in extracts, it does not stage: standard coverage from the
            # scene's facts instead of its sizes, which came in one order in every scene
            shots = self._default_shots(brief, list(dict.fromkeys(cast.values())), int_ext)
        # the sheet counts the pages from the text (from the shots only without one)
        drawn = sheet(facts, story, breakdown,
                      sum(shot.estimated_duration_seconds for shot in shots), trust=trust)
        if not trust and facts.text:
            shots = _fill_the_page(shots, drawn.page_eighths)
        text = _clean if not trust else _same
        plan = PlannedScene(
            number=brief.number,
            id=facts.id,
            heading=heading,
            summary=(breakdown.summary if trust else facts.summary) or facts.summary
            or text(breakdown.summary) or f"Scene {brief.number}",
            location=facts.location,
            location_id=facts.location_id,
            int_ext=int_ext,
            day_night=day_night,
            time=facts.time or (day_night.value if day_night else None),
            story_day=facts.story_day,
            characters=(breakdown.characters if trust else []) or list(facts.characters),
            blocking=breakdown.blocking if trust else [],
            emotional_beats=breakdown.emotional_beats if trust else (
                [facts.emotional_beat] if facts.emotional_beat else []),
            pacing=breakdown.pacing if trust else "",
            transition=breakdown.transition if trust else "",
            mood=breakdown.mood if trust else text(facts.emotional_beat),
            lighting=breakdown.lighting if trust else "",
            palette=breakdown.palette if trust else [],
            breakdown=drawn,
            shots=shots,
            attempts=attempts,
        )
        if trust:
            return plan
        # the offline stand-in's input may itself be an offline analysis: keep no scaffolding
        data = _scrub(plan.model_dump())
        data["summary"] = data["summary"] or _first_sentence(facts.text) \
            or f"Scene {brief.number}"
        return PlannedScene.model_validate(data)

    def _default_shots(self, brief: SceneBrief, cast: list[str],
                       int_ext: IntExt | None) -> list[Shot]:
        """The offline stand-in's shots: ``coverage.default_coverage`` from the analysis's
        facts (who speaks, in or out, first time at the place, someone arriving, the mood, a
        prop the text names); durations are placeholders the page length stretches."""
        facts, story = brief.facts, self.story
        speakers = [story.character_id(line.speaker) for line in facts.lines if line.speaker]
        place = (facts.location or "").lower()
        new_place = not place or not any(
            (other.location or "").lower() == place
            for number, other in story.scenes.items() if number < brief.number)
        opening = " ".join(facts.text.split()[:40])
        # a prop the narration shows ("the ovens" a line talks of are not in the alley)
        words = set(re.findall(r"[a-z]+", without_speech(facts.text).lower()))
        prop = next((o for o in facts.objects
                     if o.lower() in words and category(o) == "props"), None)
        setups = default_coverage(
            cast, speakers, exterior=int_ext is not None and "EXT" in int_ext.value,
            new_place=new_place, talking=bool(facts.lines or facts.dialogue),
            moving=moves(opening), mood=facts.emotional_beat, prop=prop)
        audio = "dialogue" if facts.lines or facts.dialogue else "ambience"
        return [Shot(number=i, size=setup.size, angle=setup.angle, movement=setup.movement,
                     support=support_for(setup.movement), lens_mm=_LENS[setup.size],
                     subjects=setup.subjects, coverage=setup.coverage, audio=audio,
                     estimated_duration_seconds=setup.seconds, notes=setup.notes)
                for i, setup in enumerate(setups, start=1)]


def _same(text: str) -> str:
    return text


def _clean(text: str) -> str:
    """Empty when ``text`` holds prompt scaffolding (an untrusted model's extract)."""
    return "" if any(marker in text for marker in SCAFFOLDING) else text


#: the offline stand-in's lens by frame size
_LENS = {ShotSize.EWS: 18, ShotSize.WS: 24, ShotSize.MWS: 32, ShotSize.MS: 40,
         ShotSize.MCU: 50, ShotSize.CU: 85, ShotSize.ECU: 100, ShotSize.INSERT: 100}


def _scrub(value: Any) -> Any:
    """``value`` with every string holding prompt scaffolding emptied (lists drop them)."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_scrub(item) for item in value]
        return [item for item, old in zip(items, value, strict=True)
                if not (isinstance(old, str) and item == "" and old != "")]
    return value


def _first_sentence(text: str) -> str:
    match = re.match(r"\s*(.{1,300}?[.!?])(\s|$)", text or "", re.S)
    return " ".join(match.group(1).split()) if match else ""


def _coverage(size: ShotSize) -> Coverage:
    return {ShotSize.EWS: Coverage.MASTER, ShotSize.WS: Coverage.MASTER,
            ShotSize.MWS: Coverage.TWO_SHOT, ShotSize.INSERT: Coverage.INSERT,
            }.get(size, Coverage.SINGLE)


def _kit_like(item: str) -> bool:
    """A piece of equipment is a short noun phrase, not a sentence."""
    text = item.strip()
    return 0 < len(text) <= 60 and len(text.split()) <= 8 and not text.endswith((".", ":"))


def _is_transient(exc: BaseException) -> bool:
    return any(isinstance(cause, TransientError) for cause in causes(exc))


def _fill_the_page(shots: list[Shot], eighths: int) -> list[Shot]:
    """The offline stand-in's shots stretched, in their proportions, to run the scene's pages
    at a minute a page: its durations are placeholders, and a plan whose 3 4/8 pages came to
    1.6 minutes of shots would film half of each scene."""
    total = sum(shot.estimated_duration_seconds for shot in shots)
    if not shots or not total:
        return shots
    scale = eighths / EIGHTHS * SECONDS_PER_PAGE / total
    return [shot.model_copy(update={"estimated_duration_seconds": round(
        shot.estimated_duration_seconds * scale, 1)}) for shot in shots]
