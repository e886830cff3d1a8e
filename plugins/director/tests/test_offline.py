"""The ``offline`` stand-in on every example story: a marked plan with no prompt scaffolding.

The chain runs the installed architect crew (offline too) by entry point, as a user's
``novelcrew run architect,director`` does; the director plugin does not import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from director_fixtures import MemoryGraph, graph_plugin

from novelcrew_director import ScenePlan
from novelcrew_director.vocabulary import Coverage
from novelcrew_sdk import make_plugins, make_settings, run_job

STORIES = sorted((Path(__file__).resolve().parents[3] / "examples" / "stories").glob("*.txt"))
SCAFFOLDING = ("Summary:", "Story:", "(none", "Relationships:")


def strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, f"{where}[{i}]")


@pytest.mark.parametrize("story", STORIES, ids=[p.stem for p in STORIES])
async def test_offline_plan_is_marked_and_free_of_scaffolding(tmp_path: Path,
                                                              story: Path) -> None:
    assert len(STORIES) >= 2
    plugins = make_plugins(graph_plugin(MemoryGraph()),
                           entry_points=["architect", "director"])
    settings = make_settings(tmp_path / "data", default_model="offline")
    job, _ = await run_job(plugins, "architect,director",
                           {"story_text": story.read_text(encoding="utf-8")},
                           settings=settings, project_id=f"offline-{story.stem}")
    assert job.status == "succeeded", job.error
    raw = job.result["director"]
    plan = ScenePlan.model_validate(raw)
    assert plan.model.offline is True and plan.model.note and "offline" in plan.model.note
    assert plan.scenes and plan.schedule.shooting_days >= 1
    leaks = [(where, text) for where, text in strings(raw)
             if where not in (".model.note", ".totals.method", ".schedule.method")
             and any(marker in text for marker in SCAFFOLDING)]
    assert leaks == []
    for scene in plan.scenes:
        assert scene.heading and scene.summary
        assert 1 <= len(scene.shots) <= 6
        props = {item.item for item in scene.breakdown.props}
        for shot in scene.shots:
            assert shot.lighting == shot.alternative == ""  # nothing extracted
            if shot.coverage is Coverage.INSERT and shot.notes:  # what the insert shows
                assert shot.notes.removeprefix("The ").removesuffix(".") in props
            else:
                assert shot.notes == ""
            assert set(shot.subjects) <= set(scene.breakdown.cast)
            # a single frames one person, a two-shot two (the demo had 'single' on four)
            if shot.coverage is Coverage.SINGLE:  # a scene with nobody in it has no singles
                assert len(shot.subjects) == 1, shot
            elif shot.coverage is Coverage.TWO_SHOT:  # never a 'two-shot' of one person
                assert len(shot.subjects) == 2, shot
        singles = [tuple(s.subjects) for s in scene.shots if s.coverage is Coverage.SINGLE]
        if len(scene.breakdown.cast) >= 2 and len(singles) >= 2:
            assert len(set(singles)) >= 2, singles  # singles go round the cast
        assert scene.blocking == [] and scene.lighting == ""  # not a director's reading
        # placeholder durations run the scene's pages at a minute a page: a storyboard films
        # each shot for its duration (the demo's 3 4/8 pages came to 1.6 minutes of shots)
        assert scene.screen_seconds == pytest.approx(scene.breakdown.page_eighths * 7.5,
                                                     abs=0.05 * len(scene.shots))
    assert not [w for w in plan.warnings if "a minute a page" in w]  # placeholders never warn
    # coverage follows each scene: the demo once had one shot list, angles swinging high and
    # low, in all five scenes
    patterns = {tuple((s.size, s.angle, s.movement, s.coverage) for s in scene.shots)
                for scene in plan.scenes}
    assert len(plan.scenes) < 2 or len(patterns) >= 2
    assert unsupported_wardrobe(job.result["architect"], plan) == []


def unsupported_wardrobe(analysis: dict[str, Any], plan: ScenePlan) -> list[str]:
    """Wardrobe items no sentence of their scene gives that one cast member alone.

    Read independently of the extraction: a sentence outside quoted speech that holds the item
    and a name (or alias) of its character, and no name of anyone else in the scene's cast.
    """
    names: dict[str, list[str]] = {}
    for character in analysis["characters"]:
        aliases = [a for a in character.get("aliases") or [] if a[:1].isupper()]
        names[character["id"]] = [character["name"], *aliases]
    texts = {scene["number"]: scene.get("text") or "" for scene in analysis["scenes"]}

    def named(sentence: str, cid: str) -> bool:
        return any(re.search(rf"\b{re.escape(n)}\b", sentence) for n in names.get(cid, []))

    problems = []
    for scene in plan.scenes:
        narration = re.sub(r'"[^"\n]*"', " ", texts.get(scene.number, ""))
        sentences = re.split(r"(?<=[.!?])\s+|\n", narration)
        for item in scene.breakdown.wardrobe:
            assert item.character in scene.breakdown.cast and not item.suggested, item
            others = [c for c in scene.breakdown.cast if c != item.character]
            alone = [s for s in sentences if item.item in s and named(s, item.character or "")
                     and not any(named(s, other) for other in others)]
            if not alone:
                problems.append(f"scene {scene.number}: {item.character}: {item.item}")
    return problems
