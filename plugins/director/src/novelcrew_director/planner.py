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
from novelcrew.errors import JobCancelled, TransientError
from novelcrew_director import headings
from novelcrew_director.brief import SceneBrief
from novelcrew_director.config import DirectorConfig
from novelcrew_director.models import (
    FailedScene,
    PlannedScene,
    SceneBreakdown,
    Shot,
    ShotList,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

BREAKDOWN_AGENT = "scene_analysis_director"
SHOTS_AGENT = "cinematography_specialist"
MAX_ERROR_CHARS = 600
_FENCE_RE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)


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
                 max_attempts: int, *, trust_model: bool = True) -> None:
        self.ctx = ctx
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
              output: type[BaseModel], breakdown: str = "", feedback: str = "",
              context: list[Any] | None = None) -> Any:
        from crewai import Task

        description, expected = self.config.tasks[key].render(
            scene_number=str(brief.number), scene_context=brief.text, breakdown=breakdown,
            feedback=feedback)
        extra: dict[str, Any] = {"context": context} if context else {}
        return Task(name=name, description=description, expected_output=expected,
                    agent=agent, output_pydantic=output, **extra)

    def _crew(self, agents: list[Any], tasks: list[Any]) -> Any:
        from crewai import Crew, Process

        return Crew(agents=agents, tasks=tasks, process=Process.sequential, verbose=False,
                    tracing=False)

    def both_stages(self, brief: SceneBrief, feedback: str) -> tuple[Any, list[Any]]:
        director, camera = self._agent(BREAKDOWN_AGENT), self._agent(SHOTS_AGENT)
        breakdown = self._task("scene_breakdown", director, brief,
                               name=f"Scene {brief.number}: breakdown",
                               output=SceneBreakdown, feedback=feedback)
        shots = self._task("shot_list", camera, brief, name=f"Scene {brief.number}: shot list",
                           output=ShotList, context=[breakdown],
                           breakdown="The Scene Analysis Director's breakdown is given to you "
                           "as context.")
        return self._crew([director, camera], [breakdown, shots]), [breakdown, shots]

    def shots_stage(self, brief: SceneBrief, breakdown: SceneBreakdown,
                    feedback: str) -> tuple[Any, list[Any]]:
        camera = self._agent(SHOTS_AGENT)
        text = ("The Scene Analysis Director's approved breakdown:\n"
                + breakdown.model_dump_json(indent=2))
        shots = self._task("shot_list", camera, brief, name=f"Scene {brief.number}: shot list",
                           output=ShotList, breakdown=text, feedback=feedback)
        return self._crew([camera], [shots]), [shots]

    # the loop -------------------------------------------------------------------------------
    async def plan(self, brief: SceneBrief) -> SceneOutcome:
        """Plan one scene, retrying rejected answers; never raises except on cancellation."""
        outcome = SceneOutcome()
        breakdown: SceneBreakdown | None = None
        feedback = ""
        attempt = 0
        for attempt in range(1, self.max_attempts + 1):
            self.ctx.check_cancelled()
            stage = "breakdown" if breakdown is None else "shot list"
            if breakdown is None:
                crew, tasks = self.both_stages(brief, feedback)
            else:
                crew, tasks = self.shots_stage(brief, breakdown, feedback)
            if attempt == 1:
                # the run announced this scene's two tasks up front; kickoff counts them again
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
            try:
                if breakdown is None:
                    breakdown = _task_answer(tasks[0], SceneBreakdown)
                    stage = "shot list"
                shot_list = _task_answer(tasks[-1], ShotList)
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
        facts = brief.facts
        trust = self.trust_model
        heading = headings.choose(breakdown.heading, facts.location, facts.time,
                                  brief.location_description, facts.summary, trust=trust)
        shots = []
        for i, answer in enumerate(shot_list.shots, start=1):
            fields = answer.model_dump()
            # kit named by the model; an untrusted model's "equipment" is prompt text
            fields["equipment"] = [item for item in answer.equipment if _kit_like(item)] \
                if trust else []
            shots.append(Shot(number=i, **fields))
        return PlannedScene(
            number=brief.number,
            heading=heading,
            summary=(breakdown.summary if trust else facts.summary) or facts.summary
            or breakdown.summary,
            location=facts.location,
            time=facts.time or heading.rsplit(" - ", 1)[-1],
            characters=(breakdown.characters if trust else []) or list(facts.characters)
            or breakdown.characters,
            blocking=breakdown.blocking,
            emotional_beats=breakdown.emotional_beats,
            visual_needs=breakdown.visual_needs,
            props=breakdown.props,
            pacing=breakdown.pacing,
            transition=breakdown.transition,
            mood=breakdown.mood,
            lighting=breakdown.lighting,
            palette=breakdown.palette,
            shots=shots,
            attempts=attempts,
        )


def _kit_like(item: str) -> bool:
    """A piece of equipment is a short noun phrase, not a sentence."""
    text = item.strip()
    return 0 < len(text) <= 60 and len(text.split()) <= 8 and not text.endswith((".", ":"))


def _is_transient(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TransientError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
