"""What a scene's opening says of when and where it is, for the ``offline`` model.

A novelist moves to a new scene by opening a paragraph on a new time ("At half past six",
"The next morning", "On the Saturday before midsummer") or a new place ("The estate office was
a converted steading", "Out front, the dining room filled"), where a screenplay would give a
new heading. These rules read a paragraph's first sentence to split scenes (a line of dialogue
never opens one), and a scene's first sentences of narration for its place and its clock time.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_HOURS = {word: n for n, word in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "eleven", "twelve"))}
_MINUTES = {"half": 30, "quarter": 15, "a": 15, "five": 5, "ten": 10, "twenty": 20,
            "twenty-five": 25}
_NUMBER = rf"(?:{'|'.join(list(_HOURS)[1:])}|\d{{1,2}}(?:[.:]\d\d)?)"
_PART = r"(?:half past|(?:a )?quarter (?:past|to)|(?:five|ten|twenty|twenty-five) (?:past|to))"
#: what a number before it counts when it is no time: "two days", "three of them"
_NOT_A_TIME = r"(?! (?:days?|weeks?|months?|years?|minutes?|hours?|miles?|of|times|more|or|and)\b)"
#: "ten to two", "half past six", "eleven o'clock", "four in the morning"
_CLOCK = rf"(?:{_PART} )?{_NUMBER}(?: o'clock)?\b{_NOT_A_TIME}"
_WHEN = (rf"(?:{_CLOCK}(?: in the (?:morning|afternoon|evening)| at night)?|noon|midnight|"
         r"midday|dawn|dusk|first light|daybreak|sunrise|sunset|nightfall|lunchtime|teatime)")
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
#: an opening on a new time: "At noon, when ...", "By six o'clock the gale was on them",
#: "It was past midnight when ...", "That evening", "On the second Sunday in June"
_TIME_OPENING = re.compile(
    r"(?:(?:At|By|Towards?|Around|Until|(?:Just|Shortly|Soon|Long) (?:before|after)|"
    rf"It was(?: past| nearly| almost| after| just)?)\s+(?:about |nearly |almost |exactly )?{_WHEN}"
    r"|Afterwards|Later|Much later|Meanwhile"
    r"|(?:[A-Z]\w* )?(?:[Hh]ours|[Dd]ays|[Ww]eeks|[Mm]onths|[Yy]ears) later"
    r"|That (?:night|evening|morning|afternoon)"
    r"|The (?:next|following|first|second|third|last) (?:day|morning|afternoon|evening|night|"
    r"week|weekend|month)"
    r"|Next (?:morning|day|week)|In the (?:morning|evening|afternoon)"
    rf"|On (?:the )?(?:[\w-]+ )?(?:{_WEEKDAY}|morning|afternoon|evening|night)"
    rf"|On {_WEEKDAY})\b")
#: a time in the opening words: "Danny came at ten", "The call came at ten to two"
_TIME_EARLY = re.compile(rf"\b(?:at|by|until) (?:about |nearly |almost )?{_WHEN}\b")
_DAY_EARLY = re.compile(rf"\b{_WEEKDAY}\b")
#: a clock time to read: the hour and the part before it
_CLOCK_TIME = re.compile(
    r"\b(?:[Aa]t|[Bb]y|[Uu]ntil|[Ii]t was)\s+(?:about |nearly |almost |past |exactly )?"
    rf"(?:(?P<part>{_PART}) )?(?P<hour>{_NUMBER})\b{_NOT_A_TIME}")

#: kinds of place a scene is set in (a heading's place), as a noun of the opening words
SETTINGS = _words("""
    house kitchen lighthouse harbour harbor beach village city town street road forest woods
    garden room bedroom hall station office church school market river lake sea shore bridge
    castle tower cellar attic barn farm field hill mountain cave ship boat dock pier cafe bar
    restaurant hotel hospital library apartment flat porch yard alley park square palace temple
    island desert valley camp cottage cabin shop store studio theatre theater court prison
    garage basement corridor cliff coast bay ocean mill bakery tavern inn shed pub workshop
    cowshed platform farmhouse kirk walk-in churchyard graveside study gate slope orchard
    strand crag ward lounge parlour scullery steading lodge chapel vestry quay jetty slipway
    track path moor marsh green common car-park lane
""")
#: a place word is the place only at the end of its phrase: "in the kitchen, ..." or "in the
#: kitchen with ...", not "at the kitchen window"
_AFTER_PLACE = _words("""
    with and of at in on by for to from was were had where while because as when that which
    there before after behind beside under over near until like but or between past beyond
    towards toward against into onto round around
""")
#: a fixture inside a place that puts someone in it: "sat at the kitchen table" (a window or
#: a door is seen from either side: "looked back at the kitchen window")
_FIXTURES = _words("""
    table tables sink counter stove range fire fireplace hearth floor dresser bench cupboard
""")
#: "He did not come through the shop": where someone is not
_NOT = re.compile(r"\b(?:not|never|no longer)\b|n't\b")
#: words before a place that point at it rather than name it
_POINTING = _words("""
    same whole other next last first only very entire
""")
_LEADING = re.compile(r"^(?:(?:Out front|Outside|Inside|Back in|Down in|Up at|Over at|"
                      r"Across)\b,?\s*)?[Tt]he\s+((?:[\w'-]+\s+){0,3}[\w-]+)")
#: a place's phrase after "the" or whose it is ("in his office"): its next one to three words
_PHRASE = r"\s+(?:the|his|her|their|our|my)\s+((?:[\w'-]+\s*){1,3})"
#: where an opening puts us also by how someone moves there: "walked along the beach"
_ALONG_PLACE = re.compile(r"\b(?:along|across|through|down|up|of)" + _PHRASE)
_IN_PLACE = re.compile(r"\b(?:in|into|inside|at|outside|on|onto|to)" + _PHRASE)


def _place(phrase: str, rest: str = "") -> str | None:
    """The noun phrase up to a kind of place that ends it (before punctuation or a function
    word): "marsh road" of "marsh road there", "Blue Heron kitchen" of "Blue Heron kitchen was";
    words that only point ("the same kitchen") are left out."""
    words = phrase.split()
    bare = [w.strip(",.;:").lower() for w in words]
    for index, word in enumerate(bare):
        following = bare[index + 1] if index + 1 < len(bare) else rest
        if word in SETTINGS and (not following or following in _AFTER_PLACE
                                 or following in _FIXTURES or words[index][-1:] in ",.;:"):
            start = max((i + 1 for i, w in enumerate(bare[:index])
                         if w in _AFTER_PLACE or w in ("the", "a", "an")), default=0)
            before = [w.strip(",.;:") for w in words[start:index] if w.lower() not in _POINTING]
            return " ".join([*before, words[index].strip(",.;:")])
    return None


def kind(place: str) -> str:
    """The kind of place a phrase of ``place_of`` names: "road" of "marsh road"."""
    return place.split()[-1].lower()


def _opening(sentence: str, words: int = 12) -> str:
    return " ".join(sentence.split()[:words])


def place_of(sentence: str, moving: bool = False) -> str | None:
    """The place the sentence's opening words put us in, as the text names it ("kirk" of "The
    kirk stood ...", "cowshed" of "Geraint Pugh was waiting in the cowshed ..."); with
    ``moving``, also where someone goes ("walked along the beach"), which tells a scene's
    place but, passing through, does not open a new scene."""
    if timed := _TIME_OPENING.match(sentence):  # "At half past five the kitchen was warm"
        sentence = sentence[timed.end():].lstrip(" ,")
    opening = _opening(sentence)
    found = sorted([*_IN_PLACE.finditer(opening),
                    *(_ALONG_PLACE.finditer(opening) if moving else [])], key=lambda m: m.start())
    for match in [_LEADING.match(opening), *found]:
        if match is not None and not _NOT.search(opening[:match.start()]):
            rest = opening[match.end():].split()
            place = _place(match.group(1), rest[0].strip(",.;:").lower() if rest else "")
            if place:
                return place
    return None


def places_in(sentence: str) -> set[str]:
    """Every kind of place the sentence names after "in the", "at the" and the like, or as its
    subject."""
    found = {kind(p) for p in [place_of(sentence)] if p}
    for match in _IN_PLACE.finditer(sentence):
        rest = sentence[match.end():].split()
        if place := _place(match.group(1), rest[0].strip(",.;:").lower() if rest else ""):
            found.add(kind(place))
    return found


#: how narration moves someone through a place: "drove up the lane", "came across the yard"
_THROUGH_PLACE = re.compile(r"\b(?:along|across|through|down|up|out of)" + _PHRASE)


#: a place after a look is only seen: "looked out of the window, at the street" (but "looked
#: round and went into the kitchen" goes there)
_SEEN = re.compile(r"\b(?:look|looked|looking|watched|watching|gazed|stared|glanced|peered)\b"
                   r"(?:(?!\band\b)[^.;])*$")
#: a place in a comparison is nowhere anyone is: "the way a woman comes into her own kitchen"
_COMPARED = re.compile(r"\b(?:the way|as if|as though|like)\b[^,;:.]*$")


def entered(sentence: str) -> set[str]:
    """The kinds of place the sentence puts someone in or moves them through ("went down to
    the study", "drove up the lane"); not one it says nobody went to ("did not go to the
    house"), one only looked at ("looked out at the street") or compared with ("the way a
    woman comes into her own kitchen"), or one that names only a view ("a view of the river").
    """
    found = set()
    for match in [*_IN_PLACE.finditer(sentence), *_THROUGH_PLACE.finditer(sentence)]:
        before = sentence[:match.start()]
        if _NOT.search(before) or _SEEN.search(before) or _COMPARED.search(before):
            continue
        rest = sentence[match.end():].split()
        if place := _place(match.group(1), rest[0].strip(",.;:").lower() if rest else ""):
            found.add(kind(place))
    return found


def clock(sentence: str) -> int | None:
    """The clock time the opening names, in minutes on a 12-hour dial, else None."""
    opening = _opening(sentence)
    match = _CLOCK_TIME.search(opening)
    if match is None:  # noon and midnight both show twelve
        return 0 if re.search(r"\b(?:noon|midday|midnight)\b", opening) else None
    hour = match.group("hour")
    number = int(re.split(r"[.:]", hour)[0]) if hour[0].isdigit() else _HOURS[hour.lower()]
    minutes = 0
    if part := match.group("part"):
        first = part.split()[0]
        minutes = _MINUTES[first] * (1 if "past" in part else -1)
    return (number % 12) * 60 + minutes


#: words a scene runs before a paragraph that opens on a new time starts the next one ("At
#: midnight the storm came"), and before any other opening does (a passing "at ten", a place
#: named first): about a third of a page
AFTER_TIME_OPENING = 15
AFTER_OTHER_OPENING = 80
#: words after which any paragraph of narration starts a new scene: about six pages, so a
#: chapter that never names a time or place still reaches the director in pieces it can plan
LONGEST_SCENE = 1500


def opens_scene(sentence: str, here: set[str], now: int | None, words: int) -> bool:
    """Whether a paragraph that starts with ``sentence`` starts a new scene, in a scene of
    ``words`` words so far that has named the kinds of place ``here`` and last told the clock
    time ``now``. A time within the hour after ``now`` goes on with the scene ("At four in the
    morning ..." then "Theo arrived at ten past four")."""
    if sentence[:1] in "\"\u201c\u2018'" or words < AFTER_TIME_OPENING:
        return False
    opening = _opening(sentence)
    then = clock(sentence)
    sequel = re.match(r"(?:Afterwards|Later|The next|The following|Next|(?:\w+ )?\w+ later)\b",
                      sentence)
    if not sequel and then is not None and now is not None and 0 <= (then - now) % 720 < 60:
        return False
    if _TIME_OPENING.match(sentence):
        return True
    if words < AFTER_OTHER_OPENING:
        return False
    if words >= LONGEST_SCENE:
        return True
    if _TIME_EARLY.search(opening) or _DAY_EARLY.search(opening):
        return True
    place = place_of(sentence)
    return place is not None and kind(place) not in here


_DAY = 24 * 60


def on_the_day(dial: int, when: str, sentence: str = "") -> int:
    """The time of day (minutes from midnight) a 12-hour ``dial`` reading of ``sentence`` is,
    in a scene whose words say ``when``: half past five is 17:30 at NIGHT or DUSK, four is
    04:00 at NIGHT, five "in the morning" is 05:00."""
    afternoon = dial + _DAY // 2
    if when == "DAWN" or re.search(r"\bmorning\b", sentence, re.I):
        return dial
    if when == "DAY":
        return afternoon if dial < 7 * 60 else dial
    if when == "DUSK":
        return afternoon
    return afternoon if dial >= 5 * 60 else dial


def forward(then: int, dial: int) -> int:
    """The first time at or after ``then`` that the 12-hour ``dial`` shows: the story's clock
    goes forward within a day ("at half past nine" after 20:05 is 21:30)."""
    return next(t for t in (dial, dial + _DAY // 2, dial + _DAY) if t >= then) % _DAY


def part_of_day(minutes: int) -> str:
    """NIGHT before five and from seven in the evening, DAWN until seven, DAY between."""
    if minutes < 5 * 60 or minutes >= 19 * 60:
        return "NIGHT"
    return "DAWN" if minutes < 7 * 60 else "DAY"
