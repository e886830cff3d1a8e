"""The checks that need no gold: what a result says about itself, and about its story.

Each takes the result's view and the story text and returns its value in [0, 1] (``None``
when the result does not carry what it measures) with what a reader should look at: the
lines not in the story, the shots that frame the wrong number of people, the people on screen
with no look. ``CHECKS`` runs them in the order reports show them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from novelcrew_eval.looks import LOOK_FIELDS, bible_characters, trait_text
from novelcrew_eval.matching import content_tokens, match_name, normalise, quote_normalise
from novelcrew_eval.result import ResultView, day_night_of

__all__ = ["CHECKS", "GOLD_FREE"]


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


def scene_grounding(view: ResultView, story: str) -> tuple[float | None, list[str]]:
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


def shot_variety(view: ResultView, story: str) -> tuple[float | None, int | None]:
    """1.0 unless every planned scene has the same shot pattern (size, angle, movement, lens).

    Returns the check and the number of distinct patterns (None without a plan); n/a with
    fewer than two scenes.
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
    distinct = len(patterns) if view.director is not None else None
    if len(scenes) < 2:
        return None, distinct
    return (0.0 if len(patterns) == 1 else 1.0), distinct


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


def coverage_fit(view: ResultView, story: str) -> tuple[float | None, list[str]]:
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


def subjects_in_scene(view: ResultView, story: str) -> tuple[float | None, list[str]]:
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


def _seconds(shot: dict[str, Any]) -> float:
    for key in ("estimated_duration_seconds", "duration_seconds", "duration"):
        value = shot.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0


def screen_time_fits_pages(view: ResultView, story: str) -> tuple[float | None, list[str]]:
    """The share of planned scenes whose shots run half to twice their pages at a minute a page.

    Novel Movie films each shot for its duration and cuts them in order: 15 s of shots for a
    page-and-a-half scene leave a minute of story unfilmed, five minutes pay for film with no
    story. Only scenes with their own text are judged: without it the plan counts the pages
    from the shots. n/a when none is.
    """
    texts: dict[Any, str | None] = {s.number: s.text for s in view.scenes}
    judged = 0
    off: list[str] = []
    for scene in _planned_scenes(view):
        sheet = scene.get("breakdown")
        eighths = sheet.get("page_eighths") if isinstance(sheet, dict) else None
        if not texts.get(scene.get("number")) or not isinstance(eighths, int) or eighths < 1:
            continue
        judged += 1
        pages, shots = eighths * 7.5, sum(_seconds(shot) for shot in _shots(scene))
        if not 0.5 <= shots / pages <= 2.0:
            off.append(f"scene {scene.get('number')}: {shots:g} s of shots for {pages:g} s "
                       "of pages")
    if not judged:
        return None, []
    return 1 - len(off) / judged, off


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


def looks_described(view: ResultView, story: str) -> tuple[float | None, list[str]]:
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


def outfits_by_day(view: ResultView, story: str) -> tuple[float | None, list[str]]:
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


#: a character id as a program writes it: a slug of two words or more ("clare-ashworth"); a
#: one-word id ("tuck") reads as the name itself, so it cannot be told apart
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")


def _read_by_people(view: ResultView) -> list[tuple[str, str]]:
    """(where, text) of what the crew and image models read: the plan's continuity notes and
    warnings, and the storyboard's warnings, shot actions, compositions and prompts."""
    out: list[tuple[str, str]] = []
    for part, name in ((view.director, "plan"), (view.storyboard, "storyboard")):
        for warning in (part or {}).get("warnings") or []:
            out.append((f"{name} warning", str(warning)))
    for scene in (view.director or {}).get("scenes") or []:
        sheet = scene.get("breakdown") if isinstance(scene, dict) else None
        for note in (sheet or {}).get("continuity") or [] if isinstance(sheet, dict) else []:
            out.append((f"scene {scene.get('number')} continuity", str(note)))
    for scene in (view.storyboard or {}).get("scenes") or []:
        for shot in (scene.get("shots") or []) if isinstance(scene, dict) else []:
            for key in ("action", "composition", "image_prompt", "motion_prompt"):
                if isinstance(shot, dict) and shot.get(key):
                    out.append((f"{shot.get('id') or 'shot'} {key}", str(shot[key])))
    return out


def names_not_ids(view: ResultView, story: str) -> tuple[float | None, list[str]]:
    """The share of what the crew and image models read that names people, not their ids.

    A continuity note that says "clare-ashworth" is no name to a first AD, and an image
    prompt that says it describes nobody to a generator. n/a when no id is a slug of two words
    or more (a one-word id reads as the name).
    """
    ids = sorted((i for i in view.character_ids if _SLUG.fullmatch(i)), key=len, reverse=True)
    texts = _read_by_people(view)
    if not ids or not texts:
        return None, []
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
    found = [f"{where}: {match.group()}" for where, text in texts
             if (match := pattern.search(text))]
    return 1 - len(found) / len(texts), found


#: words that paint the other time: a NIGHT shot lit by "midday sun", a DAY shot under
#: "moonlight". Dawn and dusk are not judged: first light and fading daylight both fit them.
_CLASH = {
    "NIGHT": re.compile(r"\b(?:day ?light|sun ?light|sunlit|sunshine|sunny|midday|noon|"
                        r"afternoon|blue skys?|bright sun|morning sun|high sun)\b"),
    "DAY": re.compile(r"\b(?:moon ?light|moonlit|star ?light|starlit|night sky|"
                      r"at night|midnight|night-?time|dead of night)\b"),
}
#: a clash word after a negation in its clause is no clash ("no daylight reaches the cellar")
_NEGATED = re.compile(r"\b(?:no|not|without|never|nor)\b[^,.;:]*$")
#: a NIGHT scene shot day for night is lit by daylight on purpose
_DAY_FOR_NIGHT = re.compile(r"\bday[- ]for[- ]night\b")


def _clash(time: str | None, text: str) -> str | None:
    """The first word of ``text`` that paints the other time than ``time``, if any."""
    pattern = _CLASH.get(time or "")
    low = text.lower()
    if pattern is None or (time == "NIGHT" and _DAY_FOR_NIGHT.search(low)):
        return None
    for match in pattern.finditer(low):
        if not _NEGATED.search(low[:match.start()]):
            return match.group()
    return None


def _lit(view: ResultView) -> list[tuple[str, str | None, str]]:
    """(where, DAY/NIGHT/..., text) of what says how a shot is lit: the plan's scene and shot
    lighting, and each storyboard shot's image and motion prompts."""
    times: dict[Any, str | None] = {s.number: s.day_night for s in view.scenes}
    out: list[tuple[str, str | None, str]] = []
    for scene in _planned_scenes(view):
        number = scene.get("number")
        time = (day_night_of(scene.get("day_night")) or times.get(number)
                or day_night_of(scene.get("time")))
        if isinstance(scene.get("lighting"), str) and scene["lighting"].strip():
            out.append((f"scene {number} lighting", time, scene["lighting"]))
        for shot in _shots(scene):
            if isinstance(shot.get("lighting"), str) and shot["lighting"].strip():
                out.append((f"scene {number} shot {shot.get('number')} lighting", time,
                            shot["lighting"]))
    for scene in (view.storyboard or {}).get("scenes") or []:
        if not isinstance(scene, dict):
            continue
        number = scene.get("number")
        for shot in scene.get("shots") or []:
            if not isinstance(shot, dict):
                continue
            text = " ".join(str(shot.get(k) or "") for k in ("image_prompt", "motion_prompt"))
            time = (day_night_of(shot.get("day_night")) or day_night_of(scene.get("day_night"))
                    or times.get(number))
            if text.strip():
                out.append((f"{shot.get('id') or 'shot'} prompts", time, text))
    return out


def light_fits_time(view: ResultView, story: str) -> tuple[float | None, list[str]]:
    """The share of lighting notes and shot prompts of DAY and NIGHT scenes that keep the
    scene's time.

    A DP reading "EXT. PIER - NIGHT" over "harsh midday sun" has two answers, and an image
    model given both paints one of them at random. n/a when nothing is judged (no lighting or
    prompts in a DAY or NIGHT scene).
    """
    judged = [(where, time, text) for where, time, text in _lit(view) if time in _CLASH]
    if not judged:
        return None, []
    clashes = [f"{where} ({time}): {word}" for where, time, text in judged
               if (word := _clash(time, text))]
    return 1 - len(clashes) / len(judged), clashes


Check = Callable[[ResultView, str], tuple[float | None, Any]]

#: (name, check, the details key for what it found), in the order reports show them
GOLD_FREE: tuple[tuple[str, Check, str], ...] = (
    ("dialogue_verbatim", dialogue_verbatim, "dialogue_not_in_story"),
    ("scene_grounding", scene_grounding, "not_in_scene_text"),
    ("shot_variety", shot_variety, "shot_patterns_distinct"),
    ("coverage_fit", coverage_fit, "coverage_misfits"),
    ("subjects_in_scene", subjects_in_scene, "subjects_not_in_scene"),
    ("screen_time_fits_pages", screen_time_fits_pages, "screen_time_off_pages"),
    ("looks_described", looks_described, "looks_missing"),
    ("outfits_by_day", outfits_by_day, "outfits_missing"),
    ("names_not_ids", names_not_ids, "ids_read_by_people"),
    ("light_fits_time", light_fits_time, "light_against_time"),
)
CHECKS = tuple(name for name, _, _ in GOLD_FREE)
