"""The judge: a model scores each scene's analysis against the scene's own text.

It runs as a crew (``eval-judge``) so its calls go through the core's model layer like any
crew's: routing, retries, fallbacks, usage on the job, and recorded replies when
``NOVELCREW_LLM_RECORD``/``REPLAY`` are set. A verdict counts only when it is *grounded*: the
judge must quote the scene text, and a quote not found there verbatim is dropped. Given a second
analysis, each scene is also compared A against B twice, in both orders; a preference counts only
when both orders agree (otherwise it is a tie), which cancels a judge's bias for the first one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from novelcrew_eval.matching import quote_normalise

__all__ = [
    "EXAMPLE_INPUTS",
    "JudgeInput",
    "JudgeReport",
    "JudgedScene",
    "SceneVerdict",
    "run",
]

MAX_SCENE_CHARS = 8000
#: scenes judged at once; the model layer's per-model limit (NOVELCREW_MODEL_CONCURRENCY,
#: shared by every job) is what bounds the calls
CONCURRENCY = 64

RUBRIC = """You check a scene breakdown against the scene's text, as a script supervisor would.
Score the breakdown from 1 to 5:
5 = every field is right and supported by the text, nothing important missing;
4 = right, with small omissions; 3 = mostly right, with clear omissions or one error;
2 = several errors or invented details; 1 = wrong or unrelated to the text.
Quote one to three short passages of the scene text, exactly as written, that show why.
Answer with JSON only, following this JSON schema: {schema}"""

COMPARE = """Two breakdowns of the same scene, numbered 1 and 2, are checked against the scene's
text. Which is more faithful to the text and more complete? Answer 1, 2, or 0 when they are
equally good. Answer with JSON only, following this JSON schema: {schema}"""


class _Rubric(BaseModel):
    score: int = Field(ge=1, le=5)
    evidence: list[str] = Field(default_factory=list)
    reason: str = ""


class _Preference(BaseModel):
    better: Literal[0, 1, 2]
    reason: str = ""


class JudgedScene(BaseModel):
    """One scene: its text (from the story) and the analyses to judge."""

    number: int
    text: str = Field(min_length=1)
    a: dict[str, Any] = Field(description="The analysis of this scene to score.")
    b: dict[str, Any] | None = Field(None, description="A second analysis to compare with.")


class JudgeInput(BaseModel):
    """The scenes to judge (the eval command builds them from gold and a result)."""

    scenes: list[JudgedScene] = Field(min_length=1)


class SceneVerdict(BaseModel):
    number: int
    score: int | None = Field(None, description="1-5 for analysis A; none if unusable.")
    evidence: list[str] = Field(default_factory=list, description="Quotes found in the text.")
    grounded: bool = False
    reason: str = ""
    preference: Literal["A", "B", "tie"] | None = None


class JudgeReport(BaseModel):
    """Per-scene verdicts and their summary."""

    model: str
    scenes: list[SceneVerdict]
    mean_score: float | None = Field(None, description="Mean of grounded scores (1-5).")
    grounded_share: float = 0.0
    a_wins: int = 0
    b_wins: int = 0
    ties: int = 0


EXAMPLE_INPUTS: dict[str, Any] = {
    "scenes": [{
        "number": 1,
        "text": "At four in the morning the bakery was the only lit window. Rosa Amati "
                "unlocked the back door and switched on the ovens.",
        "a": {"summary": "Rosa opens the bakery before dawn.", "location": "the kitchen",
              "characters": ["Rosa Amati"], "int_ext": "INT", "day_night": "NIGHT"},
    }]
}


def _answer_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in the answer")
    return json.JSONDecoder().raw_decode(text, start)[0]


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _scene_prompt(text: str, *analyses: dict[str, Any]) -> str:
    parts = [f"Scene text:\n<<<\n{text[:MAX_SCENE_CHARS]}\n>>>"]
    for i, analysis in enumerate(analyses, 1):
        label = f"Breakdown {i}" if len(analyses) > 1 else "Breakdown"
        parts.append(f"{label}:\n{json.dumps(analysis, ensure_ascii=False, indent=1)}")
    return "\n\n".join(parts)


async def _ask(llm: Any, messages: list[dict[str, str]], model: type[BaseModel]) -> Any:
    """One call, parsed into ``model``; a malformed answer is asked once more, then ``None``."""
    for _ in range(2):
        answer = await asyncio.to_thread(llm.call, messages)
        try:
            return model.model_validate(_answer_json(answer))
        except ValueError:
            continue
    return None


def _grounded(quotes: list[str], text: str) -> list[str]:
    haystack = quote_normalise(text)
    return [q for q in quotes
            if (needle := quote_normalise(q).strip(" \"'.\u2026")) and needle in haystack]


async def _judge_scene(llm: Any, scene: JudgedScene) -> SceneVerdict:
    rubric = RUBRIC.format(schema=json.dumps(_Rubric.model_json_schema()))
    got = await _ask(llm, _messages(rubric, _scene_prompt(scene.text, scene.a)), _Rubric)
    verdict = SceneVerdict(number=scene.number)
    if got is not None:
        evidence = _grounded(got.evidence, scene.text)
        verdict = SceneVerdict(number=scene.number, score=got.score, evidence=evidence,
                               grounded=bool(evidence), reason=got.reason)
    else:
        verdict.reason = "the judge's answer could not be read"
    if scene.b is not None:
        compare = COMPARE.format(schema=json.dumps(_Preference.model_json_schema()))
        first = await _ask(llm, _messages(compare, _scene_prompt(scene.text, scene.a, scene.b)),
                           _Preference)
        second = await _ask(llm, _messages(compare, _scene_prompt(scene.text, scene.b, scene.a)),
                            _Preference)
        orders = (first.better if first else 0, second.better if second else 0)
        verdict.preference = {(1, 2): "A", (2, 1): "B"}.get(orders, "tie")  # type: ignore[assignment]
    return verdict


async def run(ctx: Any, inputs: JudgeInput) -> JudgeReport:
    """Judge every scene at once, as far as the model's concurrency limit lets calls go."""
    llm = ctx.llm("Judge")
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(scene: JudgedScene) -> SceneVerdict:
        async with gate:
            ctx.check_cancelled()
            return await _judge_scene(llm, scene)

    verdicts = list(await asyncio.gather(*(one(s) for s in inputs.scenes)))
    grounded = [v.score for v in verdicts if v.grounded and v.score is not None]
    prefs = [v.preference for v in verdicts if v.preference is not None]
    return JudgeReport(
        model=ctx.model_id("Judge"),
        scenes=verdicts,
        mean_score=round(sum(grounded) / len(grounded), 3) if grounded else None,
        grounded_share=round(len(grounded) / len(verdicts), 3),
        a_wins=prefs.count("A"), b_wins=prefs.count("B"), ties=prefs.count("tie"),
    )
