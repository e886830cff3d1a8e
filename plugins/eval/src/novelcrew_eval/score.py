"""The scores: a result against a gold annotation, then the checks that need no gold.

Every metric is a number in [0, 1] (``leaks`` is a count, lower is better) or ``None`` when
the result does not carry what it measures (no scene text, no speakers, no director plan);
``None`` is shown as "n/a" and left out of the overall mean rather than scored as 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from novelcrew_eval.checks import CHECKS, GOLD_FREE
from novelcrew_eval.gold import GoldItem, LoadedGold
from novelcrew_eval.looks import (
    looks_precision,
    looks_recall,
)
from novelcrew_eval.matching import (
    Sentences,
    lines_match,
    match_name,
    names_match,
    normalise,
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
    "scene_location_accuracy",
    "story_day_accuracy",
    "scene_cast_f1",
    "props_recall",
    "vehicles_recall",
    "animals_recall",
    "dialogue_speaker_accuracy",
    "dialogue_speaker_recall",
    "looks_precision",
    "looks_recall",
    "leaks",
)
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
    """Each listed place against the gold's sets, one to one. Exact names (and aliases) pair
    off first, so a loose "the hall" cannot take the gold's "the village hall" from a list
    that also names "the village hall"; a loose match counts only when it fits one set."""
    gold = loaded.gold.locations
    matched: set[int] = set()
    paired: set[int] = set()
    for at, name in enumerate(view.locations):
        exact = [i for i, g in enumerate(gold) if i not in matched
                 and normalise(name) in {normalise(n) for n in g.names}]
        if exact:
            matched.add(exact[0])
            paired.add(at)
    for at, name in enumerate(view.locations):
        loose = [i for i, g in enumerate(gold) if i not in matched and _item_matches(g, name)]
        if at not in paired and len(loose) == 1:
            matched.add(loose[0])
            paired.add(at)
    extra = [name for at, name in enumerate(view.locations) if at not in paired]
    missed = [gold[i].name for i in range(len(gold)) if i not in matched]
    return _f1(len(matched), len(view.locations), len(gold)), {
        "locations_missed": missed, "locations_extra": extra}


def _scene_locations(loaded: LoadedGold, view: ResultView, aligned: list[SceneView | None]
                     ) -> tuple[float | None, dict[str, Any]]:
    """Gold scenes whose covering result scene is set where the gold says: the heading's place,
    by which a first AD groups scenes into shooting days. Names match as for locations
    (aliases, word containment); a scene with no location counts as wrong. n/a when no result
    scene names a location."""
    if not loaded.gold.scenes or not any(s.location for s in view.scenes):
        return None, {}
    wrong: list[str] = []
    for number, (gold, got) in enumerate(zip(loaded.gold.scenes, aligned, strict=True), 1):
        item = loaded.gold.location(gold.location) or GoldItem(name=gold.location)
        place = got.location if got else ""
        if not (place and _item_matches(item, place)):
            wrong.append(f"scene {number}: {place or '-'} (gold: {item.name})")
    total = len(loaded.gold.scenes)
    return 1 - len(wrong) / total, {"scene_locations_wrong": wrong} if wrong else {}


def _scene_casts(loaded: LoadedGold, view: ResultView, aligned: list[SceneView | None]
                 ) -> tuple[float | None, dict[str, Any]]:
    """F1 of each gold scene's people on screen against its covering result scene's cast,
    summed over the scenes: the call sheet and the day out of days are built from it, so
    someone only talked about in a scene is an actor called for nothing, and someone missed
    is a scene shot without them. A result name that is no gold character counts as wrong.
    n/a when the gold gives no scene a cast or no result scene has one."""
    if not any(g.characters for g in loaded.gold.scenes) \
            or not any(s.characters for s in view.scenes):
        return None, {}
    right = extra = missed = 0
    wrong: list[str] = []
    for number, (gold, got) in enumerate(zip(loaded.gold.scenes, aligned, strict=True), 1):
        if not gold.characters:
            continue
        want = {match_name([n], [c.names for c in loaded.gold.characters])
                for n in gold.characters} - {None}
        found = [(_gold_character(loaded, view, name), name)
                 for name in (got.characters if got else [])]
        have = {index for index, _ in found if index is not None}
        strangers = [name for index, name in found if index is None]
        right += len(want & have)
        extra += len(have - want) + len(strangers)
        missed += len(want - have)
        off = [f"+{name}" for index, name in found if index is None or index not in want]
        off += [f"-{loaded.gold.characters[k].name}" for k in want - have if k is not None]
        if off:
            wrong.append(f"scene {number}: {', '.join(sorted(off))}")
    if not right:
        return 0.0, {"scene_casts_wrong": wrong[:20]}
    precision, recall = right / (right + extra), right / (right + missed)
    return 2 * precision * recall / (precision + recall), (
        {"scene_casts_wrong": wrong[:20]} if wrong else {})


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
def _speakers(loaded: LoadedGold,
              view: ResultView) -> tuple[float | None, float | None, dict[str, Any]]:
    """Accuracy over the gold lines the result gives a speaker, and recall: the share of all
    gold lines it gives the right one. A script with a speaker on one line in five is right
    on the five it tags and useless to a table read."""
    lines = [line for scene in view.scenes for line in scene.dialogue]
    if not loaded.gold.dialogue:
        return None, None, {}
    if not any(line.speaker for line in lines):
        return None, 0.0, {"dialogue": "result dialogue carries no speakers"}
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
        return 0.0, 0.0, {"dialogue_coverage": 0.0}
    return correct / found, correct / len(loaded.gold.dialogue), {
        "dialogue_coverage": round(coverage, 3), "speakers_wrong": wrong}


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
    scores["scene_location_accuracy"], more = _scene_locations(loaded, view, aligned)
    details.update(more)
    scores["story_day_accuracy"] = _story_days(loaded, view, aligned)
    scores["scene_cast_f1"], more = _scene_casts(loaded, view, aligned)
    details.update(more)
    for kind, found in (("props", view.props), ("vehicles", view.vehicles + view.props),
                        ("animals", view.animals + view.props)):
        value, missed = _recall(getattr(loaded.gold, kind), found)
        scores[f"{kind}_recall"] = value
        if missed:
            details[f"{kind}_missed"] = missed
    scores["dialogue_speaker_accuracy"], scores["dialogue_speaker_recall"], more = _speakers(
        loaded, view)
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
    for name, check, key in GOLD_FREE:
        checks[name], found = check(view, loaded.text)
        if isinstance(found, list):
            if found:
                details[key] = found[:20]
        elif found is not None:
            details[key] = found
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
