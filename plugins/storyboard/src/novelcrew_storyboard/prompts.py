"""Bible entries and shot prompts, assembled in Python from fixed wording.

A character's ``phrase`` is built once from its bible traits and pasted verbatim into every
prompt that shows the character; the same holds for a location's ``phrase`` and the style
guide's fragments. The only model-written words in a shot prompt are the shot's own action and
composition. The offline stand-in's traits are plain extractions from the story's words.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable

from novelcrew_storyboard.answers import (
    CharacterAnswer,
    LocationAnswer,
    StyleAnswer,
    clean,
    verify,
)
from novelcrew_storyboard.inputs import StyleHints
from novelcrew_storyboard.models import (
    CharacterLook,
    Clip,
    LocationLook,
    StoryboardShot,
    StyleGuide,
    Trait,
)
from novelcrew_storyboard.source import CharacterFacts, LocationFacts, SceneFacts, ShotFacts
from novelcrew_storyboard.speech import speech_tag, without_speech

SIZE_WORDS = {
    "EWS": "extreme wide shot", "WS": "wide shot", "MWS": "medium wide shot",
    "MS": "medium shot", "MCU": "medium close-up", "CU": "close-up",
    "ECU": "extreme close-up", "INSERT": "insert shot",
}
ANGLE_WORDS = {"high": "high angle", "low": "low angle", "dutch": "Dutch angle",
               "pov": "point-of-view", "overhead": "overhead angle"}
TIME_WORDS = {"DAY": "in daylight", "NIGHT": "at night", "DAWN": "at dawn, first light",
              "DUSK": "at dusk, fading light"}
SIDE_WORDS = {"INT": "interior", "EXT": "exterior"}
NEGATIVE = ["text", "captions", "watermark", "logo", "deformed hands", "extra fingers",
            "extra limbs", "duplicated faces", "distorted faces", "blurry", "low resolution"]
#: the director's movements (``novelcrew_director.vocabulary.Movement``) as an operator says them
MOVES = {"static": "static camera", "pan": "camera pans", "tilt": "camera tilts",
         "push in": "camera pushes in", "pull out": "camera pulls out",
         "track": "camera tracks", "crane": "camera cranes", "handheld": "handheld camera",
         "zoom": "camera zooms", "arc": "camera arcs"}
#: what carries the camera (``source.SUPPORTS``, the director's ``Support`` normalised)
RIGS = {"sticks": "on sticks", "dolly": "on a dolly", "slider": "on a slider",
        "crane": "on a crane", "steadicam": "on a Steadicam", "handheld": "handheld",
        "drone": "from a drone"}
#: coverage that frames people even when the plan names nobody (the director warns of it)
PEOPLE_COVERAGE = ("single", "two-shot", "over-the-shoulder")
DEFAULT_FILM_LOOK = "cinematic, natural film grain"
#: in phrase order: who first ("woman, in her forties"), then the face and body
TRAITS = ("gender", "age_range", "build", "skin", "hair", "eyes")
#: words that paint another time than the scene's: "midday sun" at NIGHT, "moonlight" by DAY
#: (dawn and dusk take either: first light, fading daylight)
OTHER_TIME = {
    "NIGHT": re.compile(r"\b(?:day ?light|sun ?light|sunlit|sunshine|sunny|midday|noon|"
                        r"afternoon|blue skys?|bright sun|morning sun|high sun)\b", re.I),
    "DAY": re.compile(r"\b(?:moon ?light|moonlit|star ?light|starlit|night sky|at night|"
                      r"midnight|night-?time|dead of night)\b", re.I),
}
_NEGATED = re.compile(r"\b(?:no|not|without|never|nor)\b[^,.;:]*$", re.I)


# the bible ------------------------------------------------------------------------------------
def character_phrase(name: str, traits: Iterable[Trait]) -> str:
    """``"Mara Vell, in her forties, wiry, grey-streaked dark hair"``: name, then traits."""
    parts = [t.value for t in traits if t.value]
    return ", ".join([name, *parts])


def character_look(facts: CharacterFacts, answer: CharacterAnswer | None, material: str,
                   wardrobe: dict[str, str], style: StyleGuide) -> CharacterLook:
    """The bible entry: the model's (verified) traits, the plan's wardrobe first."""
    answer = answer or CharacterAnswer(id=facts.id)
    traits = {key: verify(getattr(answer, key), material) for key in TRAITS}
    features = [verify(f, material) for f in answer.distinguishing_features[:4]]
    features = [f for f in features if f.value]
    outfits = {k: clean(v) for k, v in answer.wardrobe.items() if clean(v)}
    outfits.update(wardrobe)  # the director's breakdown wins for the days it covers
    if "default" not in outfits and outfits:
        outfits["default"] = next(iter(outfits.values()))
    phrase = character_phrase(facts.name, [*traits.values(), *features])
    outfit = outfits.get("default", "")
    reference = ", ".join(x for x in (
        f"Character reference sheet of {phrase}",
        f"wearing {outfit}" if outfit else "",
        "full body front view, three-quarter view and close-up portrait, neutral expression, "
        "plain studio background", *style.fragments) if x)
    return CharacterLook(id=facts.id, name=facts.name, role=facts.role, **traits,
                         distinguishing_features=features, wardrobe=outfits,
                         voice=verify(answer.voice, material), phrase=phrase,
                         reference_prompt=reference)


def location_look(facts: LocationFacts, answer: LocationAnswer | None, times: Iterable[str],
                  style: StyleGuide, *, described: bool = True,
                  sides: Iterable[str] = ()) -> LocationLook:
    """The bible entry: the model's look, else the first sentence of the place's description.

    ``sides`` are the INT/EXT of its scenes: a place seen only inside (or only at one time)
    has its reference image made so ("Establishing view of the bakery, interior, at night"),
    else "the bakery" comes back a shopfront by day and matches none of its shots.

    With ``described=False`` (the looks role is the offline stand-in) there is no fallback: the
    look stays empty and the phrase is the place's name. An offline run's location description
    is a sentence of the story ("the call came at ten to two, and by two Ruth Okonjo was on the
    mountain road ..."), which would be pasted into every prompt at the place. A sentence with
    quoted speech is never a look, whatever the model.
    """
    answer = answer or LocationAnswer(id=facts.id)
    sentence = clean(first_sentence(facts.description), 160) if described else ""
    look = clean(answer.look) or ("" if without_speech(sentence)[1] else sentence)
    if re.match(r"(A|An|The) ", look):
        look = look[0].lower() + look[1:]
    variants = {t: answer.time_of_day.get(t) or TIME_WORDS.get(t, t.lower())
                for t in dict.fromkeys(times) if t}
    pieces = [clean(p, 80) for p in answer.set_pieces[:6] if clean(p, 80)]
    phrase = f"{facts.name}, {look}" if look else facts.name
    side = set(sides) - {""}
    inside = SIDE_WORDS.get(side.pop(), "") if len(side) == 1 else ""
    when = next(iter(variants.values())) if len(variants) == 1 else ""
    reference = ", ".join(x for x in (
        f"Establishing view of {phrase}", inside, when, ", ".join(pieces), "no people",
        *style.fragments) if x)
    return LocationLook(id=facts.id, name=facts.name, look=look,
                        atmosphere=clean(facts.atmosphere), time_of_day=variants,
                        set_pieces=pieces, phrase=phrase, reference_prompt=reference)


def first_sentence(text: str) -> str:
    """The first of ``sentences``: not cut at "Mr." or inside a quotation."""
    found = sentences(text) if text else []
    return found[0] if found else ""


#: where a sentence may end: after . ! ? or … (and any closing quotes or brackets), before
#: a capital or a digit (after any opening quote or bracket)
_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*"
                  r"(?=\s+[\"'\u201c\u2018(\[]*[A-Z0-9\u00c0-\u00de])")
#: titles whose full stop ends no sentence ("Mr. Pike")
_TITLE = re.compile(r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Dr|St|Mt|Prof|Rev|Sgt|Capt|Col|Gen|Lt|Jr|Sr)\.$")
#: a sentence longer than this ends at its next full stop even inside an unclosed quotation
_LONGEST = 600


def sentences(text: str) -> list[str]:
    """The text's sentences, each line of dialogue whole with its tag ('"Legion hall. Spud's
    lot," said Mo.'): a split inside a quotation gives lines no speaker and tags no line, and
    after it ('"Stop!" she said.') a tag with no line. Paragraphs end sentences."""
    return list(_sentences(text))


@functools.lru_cache(maxsize=512)
def _sentences(text: str) -> tuple[str, ...]:
    """Cached: every character's material reads every scene's sentences."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        start = counted = 0
        straight, curly = False, 0
        for match in _END.finditer(paragraph):
            end = match.end()
            piece = paragraph[counted:end]
            counted = end
            straight ^= piece.count('"') % 2 == 1
            curly = max(0, curly + piece.count("\u201c") - piece.count("\u201d"))
            if _TITLE.search(paragraph, max(0, match.start() - 5), match.start()):
                continue
            if (straight or curly) and end - start <= _LONGEST:
                continue  # inside a quotation: the line goes on
            out.append(" ".join(paragraph[start:end].split()))
            start, straight, curly = end, False, 0
        rest = " ".join(paragraph[start:].split())
        if rest:
            out.append(rest)
    return tuple(s for s in out if s)


def style_guide(hints: StyleHints, project: dict[str, str], story_genre: str, story_tone: str,
                scenes: Iterable[SceneFacts], answer: StyleAnswer | None,
                aspect_ratio: tuple[str, str]) -> StyleGuide:
    """Each field from the first source that has it; ``sources`` records which one.

    Genre, tone, mood, style: inputs, Payload, the analysis; the style's description only with
    the project's own style (Payload's movie style), and it ends every prompt with the name.
    Palette: inputs, the plan's colours, the model. Lighting: inputs, the model, the plan. Era
    and film look: inputs, the model (film look: a plain default). ``aspect_ratio`` is
    (value, source).
    """
    scenes = list(scenes)
    answer = answer or StyleAnswer()
    sources = {"aspect_ratio": aspect_ratio[1]}

    def pick(name: str, *candidates: tuple[str, str | None]) -> str:
        for source, value in candidates:
            if value:
                sources[name] = source
                return value
        return ""

    analysis = {"genre": story_genre, "tone": story_tone}
    text = {name: pick(name, ("inputs", getattr(hints, name)), ("payload", project.get(name)),
                       ("analysis", analysis.get(name)))
            for name in ("genre", "tone", "mood", "style")}
    # the project's movie style comes with what it looks like (not an inputs style's)
    description = project.get("style_description", "") \
        if sources.get("style") == "payload" else ""
    if description:
        sources["style_description"] = "payload"
    lighting = Counter(s.lighting for s in scenes if s.lighting)
    text["lighting_style"] = pick("lighting_style", ("inputs", hints.lighting_style),
                                  ("model", clean(answer.lighting_style)),
                                  ("plan", lighting.most_common(1)[0][0] if lighting else ""))
    text["era"] = pick("era", ("inputs", hints.era), ("model", clean(answer.era, 80)))
    text["film_look"] = pick("film_look", ("inputs", hints.film_look),
                             ("model", clean(answer.film_look, 120)),
                             ("default", DEFAULT_FILM_LOOK))
    colours = Counter(c.lower() for s in scenes for c in s.palette)
    palette: list[str] = []
    for source, candidate in (("inputs", hints.palette or []),
                              ("plan", [c for c, _ in colours.most_common(6)]),
                              ("model", [clean(c, 40) for c in answer.palette[:6]])):
        if candidate:
            palette, sources["palette"] = [c for c in candidate if c], source
            break
    fragments = [clean(f, 80) for f in answer.fragments[:4] if clean(f, 80)]
    fragments += [x for x in (
        f"{text['genre']} film" if text["genre"] else "",
        f"{text['tone']} tone" if text["tone"] else "",
        f"{text['mood']} mood" if text["mood"] else "",
        f"{text['style']} style: {description}" if description else text["style"],
        text["era"], text["film_look"],
        f"colour palette of {', '.join(palette[:5])}" if palette else "") if x]
    return StyleGuide(aspect_ratio=aspect_ratio[0], palette=palette,
                      fragments=list(dict.fromkeys(fragments)), negative=list(NEGATIVE),
                      sources=sources, style_description=description, **text)


# the shots -----------------------------------------------------------------------------------
def time_clash(day_night: str, text: str) -> str | None:
    """The first word of ``text`` that paints another time than ``day_night`` ("midday" in a
    NIGHT scene), unless negated in its clause ("no daylight yet") or shot day for night."""
    pattern = OTHER_TIME.get(day_night)
    if pattern is None or not text or (
            day_night == "NIGHT" and re.search(r"\bday[- ]for[- ]night\b", text, re.I)):
        return None
    for match in pattern.finditer(text):
        if not _NEGATED.search(text[:match.start()]):
            return match.group()
    return None


def time_clash_in(shot: ShotFacts, scene: SceneFacts, place: LocationLook | None,
                  action: str, composition: str) -> str | None:
    """Where a shot's prompt words paint another time than its scene's, and the word ("the
    plan's lighting says \u201cmidday\u201d"): an image model given "at night" and "midday
    sun" paints one of them at random."""
    for source, text in (("the plan's lighting", shot.lighting or scene.lighting),
                         ("the shot's action", action), ("its composition", composition),
                         (f"the look of {place.name}" if place else "",
                          place.look if place else "")):
        if word := time_clash(scene.day_night, text):
            return f"{source} says \u201c{word}\u201d"
    return None


def painted_words(action: str, composition: str) -> str:
    """What of the action and composition reaches the image prompt (``shot_prompts``): no
    quoted speech, and nothing of an action that is only a speech tag ("Mali said")."""
    seen = without_speech(action)[0]
    if speech_tag(seen) is not None:
        seen = ""
    return " ".join(x for x in (seen, without_speech(composition)[0]) if x)


def seed_hint(*parts: object) -> int:
    """A stable seed for a shot (the same across its clips and across re-runs)."""
    return zlib.crc32(":".join(str(p) for p in parts).encode()) & 0x7FFFFFFF


def split_clips(duration: float, clip_seconds: float) -> list[tuple[float, float]]:
    """(start, length) of the fewest equal clips, none longer than ``clip_seconds``."""
    count = max(1, math.ceil(round(duration / clip_seconds, 6)))
    length = round(duration / count, 3)
    clips = [(round(i * length, 3), length) for i in range(count)]
    start, _ = clips[-1]
    clips[-1] = (start, round(duration - start, 3))
    return clips


def shot_prompts(shot: ShotFacts, scene: SceneFacts, cast: list[CharacterLook],
                 place: LocationLook | None, style: StyleGuide, action: str,
                 composition: str) -> tuple[str, str, str]:
    """Image, motion and negative prompts for one shot.

    Quoted speech in the action or composition would be painted as lettering, so the image
    prompt drops it; the motion prompt says that someone speaks (lips move) without the words.
    """
    angle = ANGLE_WORDS.get(shot.angle.lower(), shot.angle)
    lead = SIZE_WORDS.get(shot.size, "shot") + (f", {angle}" if angle else "")
    who = "; ".join(c.phrase + (f", wearing {o}" if (o := c.outfit(scene.story_day)) else "")
                    for c in cast)
    setting = ""
    if place is not None:
        variant = place.time_of_day.get(scene.day_night) or TIME_WORDS.get(scene.day_night, "")
        inside = SIDE_WORDS.get(scene.int_ext, "")
        setting = ", ".join(x for x in (inside, place.phrase, variant) if x)
    lens = f"{shot.lens_mm:g}mm lens" if shot.lens_mm else ""
    lighting = clean(shot.lighting or scene.lighting)
    if not lighting and not time_clash(scene.day_night, style.lighting_style):
        lighting = clean(style.lighting_style)  # the story's style, unless it is another time
    seen, spoken = without_speech(action)
    speaker = speech_tag(seen)
    if speaker is not None:  # "Mali said", with or without its line, shows nothing
        seen, spoken = "", True  # the motion prompt says who speaks
    image = ". ".join(x for x in (
        f"{lead} of {who}" if who else lead, seen, without_speech(composition)[0],
        f"Setting: {setting}" if setting else "",
        f"Lighting: {lighting}" if lighting else "",
        ", ".join(x for x in (lens, f"{style.aspect_ratio} frame") if x),
        ", ".join(style.fragments)) if x) + "."
    camera = camera_phrase(shot.movement, shot.support)
    if spoken and cast:  # with no one in frame the line is off screen: nothing to animate
        if speaker is None:
            seen = f"{seen}, speaking" if seen else "Someone speaks"
        else:
            seen = _speaks(speaker, cast)
    motion = ". ".join(x for x in (camera + (f", {lens}" if lens else ""), seen) if x) + "."
    negative = list(style.negative)
    if not cast and shot.coverage.lower() not in PEOPLE_COVERAGE:
        negative += ["people", "faces"]  # an empty place (a single naming nobody is not one)
    return image, motion, ", ".join(negative)


def _speaks(speaker: str, cast: list[CharacterLook]) -> str:
    """``"Mara Vell speaks"`` when the tag names someone in frame; nothing when it names
    someone else (the frame holds a listener); for a pronoun, the one person in frame."""
    if speaker.lower() in ("he", "she", "they", "i", "we", "you"):
        return f"{cast[0].name} speaks" if len(cast) == 1 else "Someone speaks"
    words = set(speaker.lower().split())
    named = [c for c in cast if words <= set(c.name.lower().split())]
    return f"{named[0].name} speaks" if named else ""


def camera_phrase(movement: str, support: str) -> str:
    """``"static camera on sticks"``, ``"camera pans, on sticks"``, ``"handheld camera"``.

    The move, then the rig, from fixed tables; the rig is left out when it is the move's own
    word (a handheld move is handheld, a crane move is on a crane). A move outside the
    director's vocabulary (an older plan's own words) is used as written.
    """
    move, rig = (movement or "static").strip().lower(), (support or "sticks").strip().lower()
    if rig == move:
        return MOVES.get(move, move)
    if move == "static":
        return "handheld camera, held still" if rig == "handheld" \
            else f"static camera {RIGS.get(rig, f'on {rig}')}"
    return f"{MOVES.get(move, movement.strip())}, {RIGS.get(rig, f'on {rig}')}"


def storyboard_shot(shot: ShotFacts, scene: SceneFacts, cast: list[CharacterLook],
                    place: LocationLook | None, style: StyleGuide, action: str,
                    composition: str, clip_seconds: float, project: str) -> StoryboardShot:
    image, motion, negative = shot_prompts(shot, scene, cast, place, style, action, composition)
    shot_id = f"{scene.id}-sh{shot.number:02d}"
    seed = seed_hint(project, shot_id)
    parts = split_clips(shot.duration, clip_seconds)
    clips = [Clip(index=index, start_seconds=start, duration_seconds=length,
                  image_prompt=image, motion_prompt=motion, seed_hint=seed,
                  continues_from=index - 1 if index > 1 else None)
             for index, (start, length) in enumerate(parts, start=1)]
    return StoryboardShot(
        id=shot_id, scene_id=scene.id, scene_number=scene.number, number=shot.number,
        size=shot.size, angle=shot.angle, movement=shot.movement, support=shot.support,
        lens_mm=shot.lens_mm, coverage=shot.coverage, subjects=[c.id for c in cast],
        location_id=place.id if place else None, day_night=scene.day_night,
        story_day=scene.story_day, action=action, composition=composition, image_prompt=image,
        motion_prompt=motion, negative_prompt=negative, duration_seconds=shot.duration,
        aspect_ratio=style.aspect_ratio, seed_hint=seed, clips=clips)
