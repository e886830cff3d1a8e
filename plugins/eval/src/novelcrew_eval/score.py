"""The scores: a result against a gold annotation, plus checks that need no gold.

Every metric is a number in [0, 1] (``leaks`` is a count, lower is better) or ``None`` when
the result does not carry what it measures (no scene text, no speakers, no director plan);
``None`` is shown as "n/a" and left out of the overall mean rather than scored as 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from novelcrew_eval.gold import GoldItem, LoadedGold
from novelcrew_eval.looks import (
    LOOK_FIELDS,
    bible_characters,
    looks_precision,
    looks_recall,
    trait_text,
)
from novelcrew_eval.matching import (
    Sentences,
    content_tokens,
    lines_match,
    match_name,
    names_match,
    normalise,
    quote_normalise,
)
from novelcrew_eval.result import ResultView, SceneView, read_result

__all__ = [
    "CHECKS",
    "LEAK_PATTERNS",
    "LOWER_IS_BETTER",
    "METRICS",
    "StoryScore",
    "judge_scenes",
    "overall",
    "score",
]

#: the scores against gold, in the order reports show them
METRICS = (
    "characters_f1",
    "locations_f1",
    "scene_boundary_f1",
    "int_ext_accuracy",
    "day_night_accuracy",
    "story_day_accuracy",
    "props_recall",
    "vehicles_recall",
    "animals_recall",
    "dialogue_speaker_accuracy",
    "looks_precision",
    "looks_recall",
    "leaks",
)
#: the checks that need no gold
CHECKS = ("dialogue_verbatim", "scene_grounding", "shot_variety", "coverage_fit",
          "subjects_in_scene", "looks_described", "outfits_by_day")
LOWER_IS_BETTER = frozenset({"leaks"})

#: prompt scaffolding and placeholders that must never reach a result's fields
LEAK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("label", r"\b(?:Summary|Story|Story text|Relationships|Thought|Final Answer|"
                  r"Action Input|Observation|Expected Output)\s*:"),
        ("(none", r"\(none"),
        ("none given", r"(?i)\bnone given\b"),
        ("placeholder", r"(?i)\b(?:TODO|TBD|lorem ipsum)\b|\bN/A\b|\{\{|\}\}|<[a-z_]+>|"
                        r"\[(?:insert|placeholder|character name|name)[^\]]*\]"),
        ("schema", r"(?i)OpenAPI schema|JSON schema|you MUST|```"),
    )
)


@dataclass
class StoryScore:
    """One story's scores, checks and what was missed (for a human reading the report)."""

    story: str
    gold: str
    scores: dict[str, float | int | None]
    checks: dict[str, float | None]
    details: dict[str, Any] = field(default_factory=dict)
    judge: dict[str, Any] | None = None  # the eval-judge crew's report, with --judge

    def as_dict(self) -> dict[str, Any]:
        out = {"story": self.story, "gold": self.gold, **self.scores, **self.checks,
               "details": self.details}
        if self.judge is not None:
            out["judge"] = self.judge
        return out


def _f1(tp: int, predicted: int, expected: int) -> float:
    if predicted == 0 and expected == 0:
        return 1.0
    if tp == 0:
        return 0.0
    precision, recall = tp / predicted, tp / expected
    return 2 * precision * recall / (precision + recall)


# characters ----------------------------------------------------------------------------------
def _characters(loaded: LoadedGold, view: ResultView) -> tuple[float, dict[str, Any]]:
    gold = [c.names for c in loaded.gold.characters]
    matched: set[int] = set()
    extra: list[str] = []
    for names in view.characters:
        index = match_name(names, gold)
        if index is None or index in matched:
            extra.append(names[0])  # unknown, or the same person listed twice
        else:
            matched.add(index)
    missed = [loaded.gold.characters[i].name for i in range(len(gold)) if i not in matched]
    score = _f1(len(matched), len(view.characters), len(gold))
    return score, {"characters_missed": missed, "characters_extra": extra}


def _gold_character(loaded: LoadedGold, view: ResultView, ref: str) -> int | None:
    return match_name(view.character_names(ref), [c.names for c in loaded.gold.characters])


# locations and items -------------------------------------------------------------------------
def _item_matches(item: GoldItem, name: str) -> bool:
    return any(names_match(gold_name, name) for gold_name in item.names)


def _locations(loaded: LoadedGold, view: ResultView) -> tuple[float, dict[str, Any]]:
    gold = loaded.gold.locations
    matched: set[int] = set()
    extra: list[str] = []
    for name in view.locations:
        exact = [i for i, g in enumerate(gold) if i not in matched
                 and normalise(name) in {normalise(n) for n in g.names}]
        loose = [i for i, g in enumerate(gold) if i not in matched and _item_matches(g, name)]
        pick = exact or (loose if len(loose) == 1 else [])
        if pick:
            matched.add(pick[0])
        else:
            extra.append(name)
    missed = [gold[i].name for i in range(len(gold)) if i not in matched]
    return _f1(len(matched), len(view.locations), len(gold)), {
        "locations_missed": missed, "locations_extra": extra}


def _recall(items: Sequence[GoldItem], found: Iterable[str]) -> tuple[float | None, list[str]]:
    if not items:
        return None, []
    names = list(found)
    missed = [item.name for item in items if not any(_item_matches(item, n) for n in names)]
    return 1 - len(missed) / len(items), missed


# scenes --------------------------------------------------------------------------------------
def _scene_starts(loaded: LoadedGold, view: ResultView) -> list[int | None]:
    """Where each result scene starts in the story file: its ``text`` found, else its ``span``.

    The text is searched first (its first dozen words, any whitespace between them, after the
    previous scene's start): a crew's offsets may count a normalised copy of the story (blank
    lines collapsed, trailing spaces cut), and the words do not move.
    """
    text = loaded.text
    starts: list[int | None] = []
    cursor = 0
    for scene in view.scenes:
        start: int | None = None
        words = scene.text.split()[:12] if scene.text else []
        if words:
            pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
            found = pattern.search(text, cursor) or pattern.search(text)
            if found is None and len(words) > 4:
                short = re.compile(r"\s+".join(re.escape(w) for w in words[:5]))
                found = short.search(text, cursor) or short.search(text)
            start = found.start() if found else None
        if start is None and scene.span_start is not None and 0 <= scene.span_start < len(text):
            start = scene.span_start
        if start is not None:
            cursor = start + 1
        starts.append(start)
    return starts


def _boundaries(loaded: LoadedGold, starts: list[int | None],
                tolerance: int) -> tuple[float | None, dict[str, Any]]:
    located = sorted({s for s in starts if s is not None})
    if not located:
        return None, {"scene_boundary": "result scenes carry no text or span"}
    sentences = Sentences(loaded.text)
    gold = [sentences.index(s) for s in loaded.scene_starts]
    result = sorted({sentences.index(s) for s in located})
    used: set[int] = set()
    matched = 0
    for g in gold:
        near = [r for r in result if r not in used and abs(r - g) <= tolerance]
        if near:
            used.add(min(near, key=lambda r: abs(r - g)))
            matched += 1
    return _f1(matched, len(result), len(gold)), {
        "scenes_gold": len(gold), "scenes_result": len(result),
        "scene_boundaries_matched": matched}


def _align(loaded: LoadedGold, view: ResultView,
           starts: list[int | None]) -> list[SceneView | None]:
    """The result scene that covers each gold scene: most overlap, else the same place in order."""
    if not view.scenes:
        return [None] * len(loaded.gold.scenes)
    end = len(loaded.text)
    gold_spans = list(zip(loaded.scene_starts, [*loaded.scene_starts[1:], end], strict=True))
    if all(s is not None for s in starts):
        order = sorted(range(len(starts)), key=lambda i: starts[i] or 0)
        spans = []
        for k, i in enumerate(order):
            nxt = starts[order[k + 1]] if k + 1 < len(order) else end
            spans.append((i, starts[i] or 0, nxt or end))
        aligned: list[SceneView | None] = []
        for g0, g1 in gold_spans:
            best = max(spans, key=lambda s: min(g1, s[2]) - max(g0, s[1]))
            overlap = min(g1, best[2]) - max(g0, best[1])
            aligned.append(view.scenes[best[0]] if overlap > 0 else None)
        return aligned
    n_gold, n_result = len(gold_spans), len(view.scenes)
    return [view.scenes[min(n_result - 1, i * n_result // n_gold)] for i in range(n_gold)]


def _accuracy(values: list[tuple[str, str | None]], carried: bool) -> float | None:
    """Right answers per gold scene; n/a only when the result has no such field at all (a
    field left empty counts as wrong, so abstaining never scores better than guessing)."""
    if not carried or not values:
        return None
    return sum(1 for gold, got in values if got == gold) / len(values)


def _story_days(loaded: LoadedGold, view: ResultView,
                aligned: list[SceneView | None]) -> float | None:
    """Day changes between consecutive gold scenes that the result gets right.

    Compared as changes (is the next scene on a later day?), not as numbers, so one missed day
    break early in a story costs one answer, not every scene after it.
    """
    if not any("story_day" in s.raw for s in view.scenes):
        return None
    gold = loaded.gold.scenes
    pairs = [
        (gold[i + 1].story_day > gold[i].story_day,  # type: ignore[operator]
         _later(aligned[i], aligned[i + 1]))
        for i in range(len(gold) - 1)
        if gold[i].story_day is not None and gold[i + 1].story_day is not None
    ]
    if not pairs:
        return None
    return sum(1 for want, got in pairs if want == got) / len(pairs)


def _later(before: SceneView | None, after: SceneView | None) -> bool | None:
    if before is None or after is None or before.story_day is None or after.story_day is None:
        return None
    return after.story_day > before.story_day


# dialogue ------------------------------------------------------------------------------------
def _speakers(loaded: LoadedGold, view: ResultView) -> tuple[float | None, dict[str, Any]]:
    lines = [line for scene in view.scenes for line in scene.dialogue]
    if not loaded.gold.dialogue:
        return None, {}
    if not any(line.speaker for line in lines):
        return None, {"dialogue": "result dialogue carries no speakers"}
    found = correct = 0
    wrong: list[str] = []
    for gold_line in loaded.gold.dialogue:
        hits = [line for line in lines if line.speaker and lines_match(gold_line.line, line.line)]
        if not hits:
            continue
        found += 1
        want = match_name(loaded.gold.character(gold_line.speaker).names,  # type: ignore[union-attr]
                          [c.names for c in loaded.gold.characters])
        if any(_gold_character(loaded, view, hit.speaker or "") == want for hit in hits):
            correct += 1
        else:
            wrong.append(gold_line.line)
    coverage = found / len(loaded.gold.dialogue)
    if not found:
        return 0.0, {"dialogue_coverage": 0.0}
    return correct / found, {"dialogue_coverage": round(coverage, 3), "speakers_wrong": wrong}


# leaks and checks ----------------------------------------------------------------------------
def _strings(node: Any, path: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text":  # a scene's source text is the story's own words
                continue
            yield from _strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def leaks(result: dict[str, Any] | None, story: str) -> list[dict[str, str]]:
    """Fields holding prompt scaffolding or placeholders (quotes of the story itself excepted)."""
    found: list[dict[str, str]] = []
    if result is None:
        return found
    for path, value in _strings(result):
        for label, pattern in LEAK_PATTERNS:
            if pattern.search(value) and value not in story:
                found.append({"field": path, "kind": label, "value": value[:120]})
                break
    return found


def dialogue_verbatim(view: ResultView, story: str) -> tuple[float | None, list[str]]:
    """The share of quoted lines found in the story as written (quotes and spaces forgiven)."""
    lines = [line.line for scene in view.scenes for line in scene.dialogue]
    if not lines:
        return None, []
    text = quote_normalise(story)
    missing = [line for line in lines
               if quote_normalise(line).strip(" \"'") not in text]
    return 1 - len(missing) / len(lines), missing


def _grounded(names: list[str], text: str) -> bool:
    words = content_tokens(text)
    for name in names:
        if normalise(name) and normalise(name) in normalise(text):
            return True
        if content_tokens(name) & words:
            return True
    return False


def scene_grounding(view: ResultView) -> tuple[float | None, list[str]]:
    """The share of a scene's named characters and props that its own text mentions."""
    total = 0
    missing: list[str] = []
    for scene in view.scenes:
        if not scene.text:
            continue
        for ref in scene.characters:
            total += 1
            if not _grounded(view.character_names(ref), scene.text):
                missing.append(f"scene {scene.number}: {ref}")
        for item in scene.items:
            total += 1
            if not _grounded([item], scene.text):
                missing.append(f"scene {scene.number}: {item}")
    if not total:
        return None, []
    return 1 - len(missing) / total, missing


def _planned_scenes(view: ResultView) -> list[dict[str, Any]]:
    return [s for s in (view.director or {}).get("scenes") or []
            if isinstance(s, dict) and isinstance(s.get("shots"), list)]


def _shots(scene: dict[str, Any]) -> list[dict[str, Any]]:
    return [shot for shot in scene["shots"] if isinstance(shot, dict)]


def _field(shot: dict[str, Any], *keys: str) -> str:
    """The first of ``keys`` the shot fills, lower case (today's name first, then older ones)."""
    for key in keys:
        value = shot.get(key)
        if value not in (None, ""):
            return str(value).strip().lower()
    return ""


def shot_variety(view: ResultView) -> tuple[float | None, int]:
    """1.0 unless every planned scene has the same shot pattern (size, angle, movement, lens).

    Returns the check and the number of distinct patterns; n/a with fewer than two scenes.
    """
    scenes = _planned_scenes(view)
    patterns = {
        tuple(
            (_field(shot, "size", "shot_size", "shot_type"), _field(shot, "angle"),
             _field(shot, "movement"), _field(shot, "lens_mm", "lens"))
            for shot in _shots(scene)
        )
        for scene in scenes
    }
    if len(scenes) < 2:
        return None, len(patterns)
    return (0.0 if len(patterns) == 1 else 1.0), len(patterns)


#: how many people a coverage frames (fewest, most); a master or a cutaway may frame anyone
_FRAMES = {"single": (1, 1), "two-shot": (2, 2), "over-the-shoulder": (1, 2), "insert": (0, 1)}
_COVERAGE_NAMES = {"ots": "over-the-shoulder", "2-shot": "two-shot", "twoshot": "two-shot"}


def _coverage(shot: dict[str, Any]) -> str:
    kind = re.sub(r"[^a-z0-9]+", "-", _field(shot, "coverage")).strip("-")
    return _COVERAGE_NAMES.get(kind, kind)


def _subjects(shot: dict[str, Any]) -> list[str] | None:
    subjects = shot.get("subjects")
    if not isinstance(subjects, list):
        return None
    return list(dict.fromkeys(str(s).strip() for s in subjects if str(s).strip()))


def coverage_fit(view: ResultView) -> tuple[float | None, list[str]]:
    """The share of singles, two-shots, over-the-shoulders and inserts whose subjects fit.

    An editor cutting a "single" that frames four people, or a "two-shot" of one, has no
    coverage for the beat; a storyboard built from it describes the wrong picture.
    """
    judged = 0
    misfits: list[str] = []
    for scene in _planned_scenes(view):
        for shot in _shots(scene):
            bounds, subjects = _FRAMES.get(_coverage(shot)), _subjects(shot)
            if bounds is None or subjects is None:
                continue
            judged += 1
            if not bounds[0] <= len(subjects) <= bounds[1]:
                misfits.append(f"scene {scene.get('number')} shot {shot.get('number')}: "
                               f"{_coverage(shot)} of {len(subjects)}")
    if not judged:
        return None, []
    return 1 - len(misfits) / judged, misfits


def _scene_people(view: ResultView, scene: dict[str, Any]) -> list[list[str]]:
    """Everyone the scene has by either crew's account (names or ids), as lists of names."""
    refs = [c for c in scene.get("characters") or [] if isinstance(c, str)]
    breakdown = scene.get("breakdown")
    if isinstance(breakdown, dict):
        refs += [c for c in breakdown.get("cast") or [] if isinstance(c, str)]
    refs += next((s.characters for s in view.scenes if s.number == scene.get("number")), [])
    return [view.character_names(ref) for ref in dict.fromkeys(refs)]


def subjects_in_scene(view: ResultView) -> tuple[float | None, list[str]]:
    """The share of shot subjects who are among their scene's characters.

    A shot that frames someone the scene does not have puts the wrong actor on the call sheet
    and the wrong face in the generated frame.
    """
    total = 0
    strangers: list[str] = []
    for scene in _planned_scenes(view):
        people = _scene_people(view, scene)
        for shot in _shots(scene):
            for ref in _subjects(shot) or []:
                total += 1
                if match_name(view.character_names(ref), people) is None:
                    strangers.append(f"scene {scene.get('number')} shot "
                                     f"{shot.get('number')}: {ref}")
    if not total:
        return None, []
    return 1 - len(strangers) / total, strangers


# the storyboard ------------------------------------------------------------------------------
def _on_screen(view: ResultView) -> list[tuple[str, str, dict[str, Any]]]:
    """(character id, story day, bible entry) of everyone a storyboard shot frames, once each."""
    board = view.storyboard or {}
    looks = {str(c.get("id")): c for c in bible_characters(view)}
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for scene in board.get("scenes") or []:
        if not isinstance(scene, dict):
            continue
        for shot in scene.get("shots") or []:
            if not isinstance(shot, dict):
                continue
            day = str(shot.get("story_day") or scene.get("story_day") or "")
            for cid in _subjects(shot) or []:
                seen.setdefault((cid, day), looks.get(cid, {}))
    return [(cid, day, look) for (cid, day), look in seen.items()]


def looks_described(view: ResultView) -> tuple[float | None, list[str]]:
    """The share of characters on screen whose visual bible entry says how they look.

    A name alone gives an image model nothing to hold, so every shot invents a new face; an
    age, build, skin, hair, eyes or a distinguishing feature, stated or inferred, is the anchor
    that keeps the person the same from shot to shot.
    """
    people = {cid: look for cid, _, look in _on_screen(view)}
    if not people:
        return None, []
    bare = [str(look.get("name") or cid) for cid, look in people.items()
            if not any(trait_text(look.get(k)) for k in LOOK_FIELDS)
            and not any(trait_text(f) for f in look.get("distinguishing_features") or [])]
    return 1 - len(bare) / len(people), bare


def outfits_by_day(view: ResultView) -> tuple[float | None, list[str]]:
    """The share of (character, story day) pairs on screen that the bible dresses.

    An outfit for the day (or a default one) is pasted into every prompt of that day; without
    it each generated shot dresses the person anew, a continuity break at every cut.
    """
    pairs = _on_screen(view)
    if not pairs:
        return None, []
    undressed = []
    for cid, day, look in pairs:
        wardrobe = look.get("wardrobe") if isinstance(look.get("wardrobe"), dict) else {}
        if not (trait_text((wardrobe or {}).get(day))
                or trait_text((wardrobe or {}).get("default"))):
            undressed.append(f"{look.get('name') or cid} (day {day or '?'})")
    return 1 - len(undressed) / len(pairs), undressed


def judge_scenes(loaded: LoadedGold, result: Any, other: Any = None) -> list[dict[str, Any]]:
    """The judge's input: each gold scene's text with the result scene that covers it.

    The text comes from the story at the gold boundaries, so the judge works whether or not the
    result carries scene text; ``other`` (a second result) adds the B side of an A/B comparison.
    """
    ends = [*loaded.scene_starts[1:], len(loaded.text)]

    def covering(data: Any) -> list[dict[str, Any]]:
        view = read_result(data)
        return [scene.raw if scene is not None else {"missing": "no scene covers this one"}
                for scene in _align(loaded, view, _scene_starts(loaded, view))]

    a = covering(result)
    b = covering(other) if other is not None else None
    return [
        {"number": i + 1, "text": loaded.text[start:end], "a": a[i],
         **({"b": b[i]} if b is not None else {})}
        for i, (start, end) in enumerate(zip(loaded.scene_starts, ends, strict=True))
    ]


# the whole -----------------------------------------------------------------------------------
def score(loaded: LoadedGold, result: Any, *, tolerance: int = 2) -> StoryScore:
    """Score one result (a job record or result dict) against one gold annotation."""
    view = read_result(result)
    details: dict[str, Any] = {}
    scores: dict[str, float | int | None] = {}
    scores["characters_f1"], more = _characters(loaded, view)
    details.update(more)
    scores["locations_f1"], more = _locations(loaded, view)
    details.update(more)
    starts = _scene_starts(loaded, view)
    scores["scene_boundary_f1"], more = _boundaries(loaded, starts, tolerance)
    details.update(more)
    aligned = _align(loaded, view, starts)
    gold_scenes = loaded.gold.scenes
    scores["int_ext_accuracy"] = _accuracy(
        [(g.int_ext, a.int_ext if a else None) for g, a in zip(gold_scenes, aligned, strict=True)],
        any(s.int_ext or "int_ext" in s.raw for s in view.scenes))
    scores["day_night_accuracy"] = _accuracy(
        [(g.day_night, a.day_night if a else None)
         for g, a in zip(gold_scenes, aligned, strict=True)],
        any(s.day_night or {"day_night", "time_of_day"} & set(s.raw) for s in view.scenes))
    scores["story_day_accuracy"] = _story_days(loaded, view, aligned)
    for kind, found in (("props", view.props), ("vehicles", view.vehicles + view.props),
                        ("animals", view.animals + view.props)):
        value, missed = _recall(getattr(loaded.gold, kind), found)
        scores[f"{kind}_recall"] = value
        if missed:
            details[f"{kind}_missed"] = missed
    scores["dialogue_speaker_accuracy"], more = _speakers(loaded, view)
    details.update(more)
    scores["looks_precision"], wrong = looks_precision(loaded, view)
    if wrong:
        details["looks_wrong"] = wrong[:20]
    scores["looks_recall"], unfound = looks_recall(loaded, view)
    if unfound:
        details["gold_looks_missed"] = unfound[:20]
    found_leaks = (leaks(view.architect, loaded.text) + leaks(view.director, loaded.text)
                   + leaks(view.storyboard, loaded.text))
    scores["leaks"] = len(found_leaks)
    if found_leaks:
        details["leaks"] = found_leaks[:20]
    checks: dict[str, float | None] = {}
    checks["dialogue_verbatim"], not_verbatim = dialogue_verbatim(view, loaded.text)
    if not_verbatim:
        details["dialogue_not_in_story"] = not_verbatim[:20]
    checks["scene_grounding"], ungrounded = scene_grounding(view)
    if ungrounded:
        details["not_in_scene_text"] = ungrounded[:20]
    checks["shot_variety"], distinct = shot_variety(view)
    if view.director is not None:
        details["shot_patterns_distinct"] = distinct
    checks["coverage_fit"], misfits = coverage_fit(view)
    if misfits:
        details["coverage_misfits"] = misfits[:20]
    checks["subjects_in_scene"], strangers = subjects_in_scene(view)
    if strangers:
        details["subjects_not_in_scene"] = strangers[:20]
    checks["looks_described"], bare = looks_described(view)
    if bare:
        details["looks_missing"] = bare[:20]
    checks["outfits_by_day"], undressed = outfits_by_day(view)
    if undressed:
        details["outfits_missing"] = undressed[:20]
    return StoryScore(story=loaded.name, gold=str(loaded.path), scores=scores, checks=checks,
                      details=details)


def overall(stories: Sequence[StoryScore]) -> dict[str, float | int | None]:
    """The mean of each score over the stories that have it (``leaks``: the sum)."""
    out: dict[str, float | int | None] = {}
    for key in (*METRICS, *CHECKS):
        values = [v for s in stories
                  if (v := (s.scores.get(key) if key in s.scores else s.checks.get(key)))
                  is not None]
        if key in LOWER_IS_BETTER:
            out[key] = int(sum(values))
        else:
            out[key] = round(sum(values) / len(values), 4) if values else None
    return out
