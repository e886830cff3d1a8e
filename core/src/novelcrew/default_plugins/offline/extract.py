"""Plain text extraction for the ``offline`` model: names, places, sentences, quotes.

Nothing here understands a story. It counts capitalised words, splits sentences and
paragraphs, and picks quoted speech, which is enough to fill an output schema with text that
really comes from the input.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from novelcrew.default_plugins.offline.openings import (
    SETTINGS,
    clock,
    entered,
    forward,
    on_the_day,
    opens_scene,
    part_of_day,
    places_in,
)
from novelcrew.default_plugins.offline.things import things

_SENTENCE = re.compile(r"(?<=[.!?])[\"'\u201d\u2019]?\s+(?=[\"'\u201c\u2018]?[A-Z0-9])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019\-]*")
#: a capitalised word, with the inner capital of "MacRae", "McLeod", "O'Brien", whole when
#: hyphenated ("Anne-Marie", "Pen-y-Bryn": no "Bryn" of its own)
_CAP_WORD = (r"(?:Ma?c(?=[A-Z])|O['\u2019](?=[A-Z]))?[A-Z][a-z'\u2019]+"
             r"(?:-(?:[a-z]{1,3}-)?[A-Z][a-z'\u2019]+)*")
_CAP_PHRASE = re.compile(
    rf"(?<![-\w])(?:{_CAP_WORD}|[A-Z]\.)(?:\s+(?:of\s+the\s+|of\s+|the\s+)?{_CAP_WORD})*"
    r"(?![-\w])"
)
#: how a sentence of prose ends (a title or "Chapter 1" does not)
_ENDS = frozenset(".!?\"'\u201d\u2019\u2026)")
_QUOTE_MARK = re.compile("[\"\u201c\u201d]")
#: a quotation of any length within a paragraph, straight or curly
_SPOKEN = re.compile(r"\"[^\"\n]*\"|\u201c[^\u201d\n]*\u201d")
_QUOTE = re.compile(r"[\"\u201c]([^\"\u201c\u201d]{2,300})[\"\u201d]")
_PREPOSITION = r"\b(in|at|into|inside|to|from|near|on|of|across|through|outside|toward|towards)"
_PLACE_AFTER = re.compile(
    _PREPOSITION + r"\s+"
    r"(?:the\s+|a\s+|an\s+)?((?:[A-Z][a-z]+(?:\s+and\s+[A-Z][a-z]+)?\s*){1,3}|"
    r"(?:old\s+|little\s+|small\s+|"
    r"dark\s+|empty\s+)?[a-z]{4,})\b"
)
#: a verb as narration puts it after its subject: "Kit went", "Agnes had", "Tom nodded"
_VERB = (r"(?:[a-z]{2,}ed|was|were|had|has|is|did|does|could|would|will|can|might|must|should|"
         r"took|came|went|saw|stood|sat|said|got|put|made|knew|thought|felt|kept|held|left|"
         r"gave|found|ran|began|told|drove|rode|grew|sang|swam|shook|threw|wrote|wore|"
         r"brought|bought|caught|taught|fought|sought|lay|led|met|read|rose|spoke|stole|"
         r"struck|woke|won|heard|hung|let|lit|lost|meant|paid|sent|set|shut|slept|"
         r"spent|stuck|swung|understood|[a-z]+s)\b")
#: not right after a preposition of place: "in Edinburgh" is no one
_NOT_PLACED = "".join(rf"(?<!\b{p} )" for w in ("in", "at", "to", "from", "on", "into", "near")
                      for p in (w, w.title()))
_STRONG_PLACE = frozenset(("in", "into", "inside", "near", "outside", "through", "across",
                           "of"))
_PLACE_SUFFIX = re.compile(
    r"\b(Street|St|Road|Rd|Avenue|Lane|Square|Park|Hill|Bay|Harbour|Harbor|Station|Bridge|"
    r"River|Lake|Island|Café|Cafe|Bar|Hotel|House|Hall|Church|Market|Beach|Point|Valley|"
    r"Forest|Wood|Woods|Castle|Tower|Court|Place|Gardens?|Heights|Falls|Port|City|Town)$"
)
_SCENE_BREAK = re.compile(r"^\s*(?:\*\s*\*\s*\*[\s*]*|#{1,3}.*|-{3,}|~{3,}|Chapter\b.*|"
                          r"CHAPTER\b.*|[IVX]+\.?)\s*$", re.M)
_POSSESSIVE = re.compile(r"['\u2019]s$")
_CONTRACTION = re.compile(r"^[A-Z][a-z]*['\u2019](?:ve|ll|re|d|m|t|s)$")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP = _wordset(
    "A An The And But Or So Yet For Nor If When While Then Than That This These Those There "
    "Here He She It They We You I Me My Mine His Her Hers Its Our Ours Their Theirs Your "
    "Yours Him Them Us What Who Whom Whose Which Where Why How Yes No Not Oh Ah Well Now "
    "After Before Once Every Each All Some Any None One Two Three Four Five First Last "
    "Later Still Even Just Only Maybe Perhaps Because Although Though As At In On Of To By "
    "With From Into Over Under Out Up Down Off Again Never Always Sometimes Soon Today "
    "Tonight Tomorrow Yesterday Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
    "January February March April May June July August September October November December "
    "Mr Mrs Ms Dr Sir Madam Chapter Part Scene End God Okay OK Hello Hi Goodbye Please "
    "Thank Thanks Let Don't Didn't Can't Won't I'm I'll I'd It's That's There's Do Does Did "
    "Is Are Was Were Be Been Have Has Had Will Would Could Should Must Might Shall Can "
    "INT EXT DAY NIGHT Fine Right Sure Good Really Sorry Listen Look Wait Come Stop "
    "Nothing Everything Something Nobody Everyone Someone Anyone Everybody Somebody Anybody "
    "Morning Evening Afternoon "
    "Six Seven Eight Nine Ten Eleven Twelve Twenty Thirty Forty Fifty Sixty Seventy Eighty "
    "Ninety Hundred Thousand"
)
_SPEECH = re.compile(r"\b(said|says|asked|asks|replied|whispered|shouted|called|told|"
                     r"answered|murmured|cried|laughed|smiled|nodded|frowned)\b")
#: the words that set a passage's time of day (DAY when none does); "every morning" is a habit,
#: not the scene's time, and "a dark coat" is no night
_TIMES = tuple((when, re.compile(rf"(?<!every )(?<!each )\b(?:{words})\b", re.I))
               for when, words in (
    ("DAWN", r"dawn|daybreak|sunrise|first light|cockcrow|the light came up"),
    ("DUSK", r"dusk|sunset|sundown|twilight|nightfall|the light (?:was )?(?:fading|failing)"),
    ("NIGHT", r"night|tonight|midnight|evening|darkness|"
              r"(?:in|into|of|after|before|through) (?:the )?dark\b|"
              r"(?:was|is|grew|got|getting|growing|went) dark|moon|moonlight|stars|lamplight|"
              r"small hours|the light had gone|(?:one|two|three|four) in the morning"),
    ("DAY", r"morning|noon|midday|afternoon|sunlight|sunshine|daylight|sunny|breakfast|lunch"),
))
#: words that say it is dark, not only late
_DARK = re.compile(r"\bdark|\bmoon|\bstars\b|lamplight|the light had gone", re.I)
#: an opening that moves the story to a later day ("The next morning", "Two days later", "The
#: funeral was on Thursday")
_LATER_DAY = re.compile(r"^In the morning\b|"
                        r"(?i:\b(?:the next|next|the following) (?:day|morning|afternoon|evening|"
                        r"night|week)|\b(?:days|weeks|months|years) later\b|\bthe day after\b)|"
                        r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b")
#: words that put a passage outdoors or indoors (the INT./EXT. guess, by plain matching)
_OUTDOORS = re.compile(r"\b(?:street|beach|field|forest|outside|outdoors|road|sea|shore|garden|"
                       r"hill|yard|marsh|lane|bridge|river|pass|verge|green|churchyard|sky|"
                       r"pier|harbour|harbor|quay|orchard|moor|cliff|alley|car park|track|"
                       r"path|meadow|wood|woods|mountain|lake|dock)\b", re.I)
_INDOORS = re.compile(r"\b(?:inside|indoors|kitchen|room|bedroom|hall|hallway|office|corridor|"
                      r"ceiling|stairs|staircase|cellar|attic|bar|counter|bakery|shop|"
                      r"restaurant|pub|ward|cabin|parlour|parlor|study|landing|table|"
                      r"fireplace|hearth|cowshed|shed|barn|byre|stable|church|kirk|chapel|"
                      r"vestry|scullery|walk-in|lounge|garage|workshop)\b", re.I)
_SETTINGS = (("EXT", _OUTDOORS), ("INT", _INDOORS))
_MOODS = (
    ("tense", r"\b(fear|afraid|danger|threat|tense|nervous|storm|scream|blood|run)\w*"),
    ("melancholic", r"\b(sad|grief|tears|cry|cried|loss|lonely|alone|funeral|dead)\w*"),
    ("warm", r"\b(love|laugh|smile|warm|kind|hug|together|home|tender)\w*"),
    ("mysterious", r"\b(secret|strange|mystery|hidden|shadow|whisper|unknown)\w*"),
    ("hopeful", r"\b(hope|light|dawn|begin|new|promise|future)\w*"),
)
_THEME_WORDS = {
    "love": r"\b(love|loved|loving|heart|kiss)\b", "loss": r"\b(loss|lost|grief|dead|death)\b",
    "family": r"\b(mother|father|sister|brother|son|daughter|family|parent)s?\b",
    "memory": r"\b(remember|memory|memories|past|forgot|forget)\w*",
    "identity": r"\b(who (?:am|are) (?:I|you)|name|self|mirror)\b",
    "fear": r"\b(fear|afraid|terror|dread)\w*", "home": r"\b(home|house|return)\w*",
    "freedom": r"\b(free|freedom|escape|leave|left)\b",
    "trust": r"\b(trust|lie|lied|secret|betray)\w*", "time": r"\b(years?|clock|time|age)\b",
}


_NAME = r"[A-Z][a-z]+(?: [A-Z][a-z]+)*"
#: "- Tuck (protagonist), also ...: <who he is>" in a cast list such as the architect's
#: synthesis reads
_LEAD = re.compile(r"(?m)^[-*\s]*([A-Z][^()\n:]{0,80}?) \(protagonist\)[^:\n]*(?::\s+(.*))?$")
#: one person under two names: "Thomas Ashworth, whom the whole village called Tuck",
#: "Margaret Hale, known as Peg", "Lofty, who was six foot five and whose name was Arthur Small"
_KNOWN_AS = re.compile(rf"\b({_NAME}),? (?:(?:whom|who)\b[^.;\"\u201c]{{0,60}}?\bcalled|"
                       rf"(?:who|whose)\b[^.;\"\u201c]{{0,60}}?\b(?:real |proper |full )?"
                       rf"name was|(?:better |also )?known as) ({_NAME})")
#: a name someone has gone by: "Terence Bright had been Tel since he was nine", "Edith Kelly
#: was eighty-four and had been Nan to the whole street"
_NICKNAMED = re.compile(rf"\b({_NAME})\b[^.;\"\u201c]{{0,40}}?\bhad (?:always )?been ({_NAME}) "
                        r"(?:since|to|for|ever since)\b")
#: what comes before a thing's name, not a person's: "her old Honda", "Tom's Land Rover",
#: "the Plough and Harrow"
_BEFORE_THING = (r"(?:(?i:\b(?:the|a|an|her|his|their|my|our|its|your|this|that))|'s|"
                 r"\bthe\s+[A-Z][a-z]+\s+and)\s+(?:[a-z]+\s+)?")
#: the everyday form of a given name and its formal forms: one person, whom the story names
#: both ways ("Danny" and, from his mother, "Daniel")
_FORMAL = {short: formal for forms, formal in (
    ("Dan Danny", "Daniel"), ("Tom Tommy", "Thomas"), ("Bill Billy Will Willie", "William"),
    ("Bob Bobby Rob Robbie", "Robert"), ("Jim Jimmy Jamie", "James"),
    ("Mike Mick Mickey", "Michael"), ("Dave Davy", "David"), ("Joe Joey", "Joseph"),
    ("Sam Sammy", "Samuel Samantha"), ("Kate Katie Kathy", "Katherine Catherine"),
    ("Liz Lizzie Beth Betty", "Elizabeth"), ("Meg Maggie Peggy", "Margaret"),
    ("Jenny", "Jennifer"), ("Sue Susie", "Susan"), ("Alex", "Alexander Alexandra"),
    ("Chris", "Christopher Christine"), ("Nick", "Nicholas"), ("Tony", "Anthony"),
    ("Andy", "Andrew"), ("Pat Paddy", "Patrick Patricia"), ("Ted Eddie", "Edward"),
    ("Harry", "Henry Harold"), ("Jack Johnny", "John"), ("Charlie", "Charles Charlotte"),
    ("Fred Freddie", "Frederick"), ("Matt", "Matthew"), ("Ben", "Benjamin"),
    ("Annie", "Anne Anna"), ("Sally", "Sarah"), ("Molly Polly", "Mary"),
    ("Nell Nellie", "Eleanor Helen Ellen"), ("Becky", "Rebecca"), ("Vicky", "Victoria"),
    ("Mo", "Maureen Maurice Morris"), ("Terry Tel", "Terence"), ("Des Dez", "Desmond"),
    ("Edie", "Edith"), ("Gerry", "Gerald Gerard Geraldine"), ("Ken Kenny", "Kenneth"),
    ("Len Lenny", "Leonard"), ("Ron Ronnie", "Ronald"), ("Don Donnie", "Donald"),
    ("Phil", "Philip Phillip"), ("Steve", "Stephen Steven"), ("Tim", "Timothy"),
    ("Val", "Valerie"), ("Bernie", "Bernard Bernadette"), ("Frank Frankie", "Francis Frances"),
) for short in forms.split()}
#: a title keeps a name a person's after "the" ("the Reverend Hale")
_TITLES = _wordset("Reverend Father Mother Sister Brother Doctor Dr Professor Captain Sergeant "
                   "Inspector Lady Lord Sir Dame Aunt Uncle Old Young Little")


_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Capt|Lt|Col|Gen|Rev|Mt)\.$")
_BULLET = re.compile(r"^(?:[-*\u2022]\s+|\d{1,3}[.)]\s+)")


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for block in re.split(r"\n\s*", text):
        block = _BULLET.sub("", re.sub(r"\s+", " ", block).strip())
        if not block or (block.isupper() and len(block.split()) <= 6):  # a heading
            continue
        pending = ""
        for part in _SENTENCE.split(block):
            part = part.strip()
            if len(part) <= 1:
                continue
            pending = f"{pending} {part}".strip() if pending else part
            if not _ABBREV.search(pending):  # "Mrs." does not end a sentence
                out.append(pending)
                pending = ""
        if pending:
            out.append(pending)
    return out


def _is_prose(paragraph: str) -> bool:
    """Not a heading or an instruction line ("Analyse this story:")."""
    stripped = paragraph.strip()
    if stripped.endswith(":"):
        return False
    return len(_WORD.findall(stripped)) >= 8 or stripped.endswith((".", "!", "?", '"', "\u201d"))


def paragraphs(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    parts = [p for p in parts if _is_prose(p)] or parts
    if len(parts) <= 1:  # no blank lines: group sentences in fours
        sents = sentences(text)
        parts = [" ".join(sents[i:i + 4]) for i in range(0, len(sents), 4)]
    return parts


@dataclass
class TextFacts:
    """What plain rules can see in a text (computed lazily)."""

    text: str

    @cached_property
    def sentences(self) -> list[str]:
        return sentences(self.text)

    @cached_property
    def paragraphs(self) -> list[str]:
        return paragraphs(self.text)

    @cached_property
    def quotes(self) -> list[str]:
        return [q.strip() for q in _QUOTE.findall(self.text) if len(q.split()) >= 2]

    @cached_property
    def title(self) -> str | None:
        """A short line standing alone near the top, not an instruction, nor the heading of
        the list under it ("CHARACTERS" over "- Rosa Amati (protagonist)")."""
        lines = [ln.strip().lstrip("#").strip() for ln in self.text.strip().splitlines()][:5]
        for line, below in zip(lines[:4], [*lines[1:], ""], strict=False):
            if line and len(line) <= 80 and not line.endswith((".", "!", "?", ",", ":", ";")) \
                    and len(line.split()) <= 10 and not _BULLET.match(line) \
                    and not _BULLET.match(below):
                return line
        return None

    @cached_property
    def first_told(self) -> str:
        """The first sentence of a line that is neither a heading nor an item of a list: ""
        for a text of lists (the synthesis reads the analysis as one)."""
        for line in self.text.splitlines():
            line = line.strip()
            if line and not _BULLET.match(line) and not line.isupper() and _is_prose(line):
                return next(iter(sentences(line)), "")
        return ""

    @cached_property
    def _mid_sentence_caps(self) -> Counter[tuple[str, bool]]:
        counts: Counter[tuple[str, bool]] = Counter()
        for sent in self.sentences:
            if sent[-1:] not in _ENDS:
                continue  # a heading's words are capitalised: "Chapter 7: One Cut" names no one
            for match in _CAP_PHRASE.finditer(sent):
                phrase = _trim(match.group(0))
                if not phrase:
                    continue
                at_start = match.start() == 0 or not sent[: match.start()].strip(" \"'\u201c")
                counts[(phrase, at_start)] += 1
        return counts

    @cached_property
    def names(self) -> list[str]:
        """Capitalised names, most mentioned first (people and places alike)."""
        mid: Counter[str] = Counter()
        start: Counter[str] = Counter()
        for (phrase, at_start), n in self._mid_sentence_caps.items():
            (start if at_start else mid)[phrase] += n
        total: Counter[str] = Counter()
        # "The Trust" opening a sentence is no name because "Point of the Strangers" is one
        mid_words = {w for phrase in mid for w in phrase.split() if w[:1].isupper()}
        for phrase in set(mid) | set(start):
            if phrase in mid or (" " in phrase and phrase.split()[0] in mid_words | _TITLES) or (
                start[phrase] >= 2 and self._speaks(phrase)
                and not re.search(rf"\b{re.escape(phrase.lower())}\b", self.text)
            ):  # '"Back," said Tom.' opens lines, but "back" is a word of the text
                total[phrase] = mid[phrase] + start[phrase]
        # fold "Maya" into "Maya Reyes" when both occur
        for phrase in list(total):
            for longer in total:
                if longer != phrase and longer.startswith(phrase + " ") and phrase in total:
                    total[longer] += total.pop(phrase)
                    break
        # and "Quill" into "Mara Quill"; "Moody", the surname of Kit and of Agnes, is neither
        for phrase in [p for p in total if " " not in p]:
            family = [n for n in total if n.endswith(" " + phrase) and " " in n]
            if len(family) == 1:
                total[family[0]] += total.pop(phrase)
            elif len(family) > 1:
                total.pop(phrase)
        return [p for p, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))]

    @cached_property
    def places(self) -> list[str]:
        found: Counter[str] = Counter()
        strong: set[str] = set()
        for match in _PLACE_AFTER.finditer(self.text):
            preposition, raw = match.group(1), match.group(2).strip()
            words = raw.split()
            if raw[:1].isupper():
                phrase = _trim(raw)
                if phrase:
                    found[phrase] += 1
                    if preposition in _STRONG_PLACE or _PLACE_SUFFIX.search(phrase):
                        strong.add(phrase)
            elif words and words[-1].lower() in SETTINGS:
                found["the " + raw.lower()] += 1
        # "looked at Theo" is not a place: a capitalised name needs "in"/"into"/"near"...
        # or a place-like suffix somewhere, and must not speak
        # "the dark kitchen" is "the kitchen" when both occur
        for phrase in [p for p in found if p.startswith("the ") and len(p.split()) > 2]:
            short = "the " + phrase.split()[-1]
            if short in found:
                found[short] += found.pop(phrase)
        return [self._as_written(p) for p, _ in found.most_common()
                if p.startswith("the ") or (p in strong and (self._names_a_place(p) or (
                    not self._speaks(p) and not self._mostly_elsewhere(p))))]

    def _as_written(self, place: str) -> str:
        """A name the text always gives with its "the" keeps it: "the Feathers" (a name with
        its kind of place is whole without: "Oxley Drain", also "the drain")."""
        if place.startswith("the ") or place.split()[-1].lower() in _PLACE_KINDS:
            return place
        mentions, after_the = self._mentions(place, r"\b[Tt]he\s+")
        return f"the {place}" if mentions and after_the == mentions else place

    def _mostly_elsewhere(self, phrase: str) -> bool:
        """Named mostly outside a place phrase ("the legs of Biscuit", but "led Biscuit",
        "Biscuit's lead rope"): a pony or a person, not a location. A place-like suffix
        ("Vell Street") settles it."""
        if _PLACE_SUFFIX.search(phrase):
            return False
        mentions, placed = self._mentions(phrase, rf"{_PREPOSITION}\s+(?:the\s+|a\s+|an\s+)?")
        return placed * 2 < mentions

    def _mentions(self, word: str, before: str) -> tuple[int, int]:
        """How often ``word`` stands in the text, and how often right after ``before``."""
        escaped = re.escape(word)
        return (len(re.findall(rf"\b{escaped}\b", self.text)),
                len(re.findall(rf"{before}{escaped}\b", self.text)))

    @cached_property
    def scenes(self) -> list[str]:
        """Scene-sized passages: the text between scene breaks (chapters, "* * *"), split again
        where a paragraph opens on a new time or place once the scene so far has run long
        enough (``openings.opens_scene``); sentences of what always happens count for nothing.
        """
        breaks = [b.strip() for b in _SCENE_BREAK.split(self.text) if b.strip()]
        breaks = [b for b in breaks if len(_WORD.findall(b)) >= 8]
        out: list[str] = []
        for section in breaks if len(breaks) >= 2 else [self.text]:
            current: list[str] = []
            words, here, now = 0, set[str](), None
            for para in paragraphs(section):
                first = next(iter(sentences(para)), "")
                if current and opens_scene(first, here, now, words):
                    out.append("\n\n".join(current))
                    current, words, here, now = [], 0, set(), None
                current.append(para)
                # what always happens ("Every October the village held its fair") is no scene
                words += sum(len(_WORD.findall(s)) for s in sentences(para) if not _HABIT.match(s))
                told = sentences(_SPOKEN.sub(" ", para))
                here.update(*(places_in(s) for s in told))
                now = next((t for s in reversed(told) if (t := clock(s)) is not None), now)
            if current:
                out.append("\n\n".join(current))
        return out

    @cached_property
    def characters(self) -> list[str]:
        """Names that behave like people: they speak or act, and are not places or the title."""
        place_set = set(self.places)
        title_words = set((self.title or "").split())
        people: list[tuple[int, str]] = []
        for name in self.names:
            if name in place_set or (set(name.split()) <= title_words and name != self.title) \
                    or re.search(r"['\u2019]s ", name) \
                    or (_PLACE_SUFFIX.search(name) and not self._speaks(name)) \
                    or self._names_a_place(name):
                continue  # "Hamish Dunn's Range Rover", "The Inchcarra Hotel"
            head = name.removeprefix("the ").split()[0]  # "the Englishman": not every "the"
            mentions, placed = self._mentions(
                head, r"\b(?:in|at|of|to|from|near|into|on)\s+(?:the\s+)?")
            if mentions and placed * 2 >= mentions and not self._speaks(name):
                continue  # mostly a destination: a place, not a person
            if self._thing(name) or self._known_as.get(name, name) != name \
                    or name in self.animals:
                continue
            if not (self._speaks(name) or self._acts(name) or self._addressed(name)) and (
                    " " not in name or self._only_listed(name)):
                continue  # "Mull, Skye, Ireland even": one word that never says or does;
                # "Marling, Coombe, Hatherby Halt, Little Sutton": stops on a line
            people.append((2 * mentions + (1 if self._speaks(name) else 0), name))
        people.sort(key=lambda sn: (-sn[0], sn[1]))
        return [n for _, n in people]

    def _addressed(self, name: str) -> bool:
        """Given a courtesy title ("old Mr. Foster from the farm"): a person, though the story
        has them do nothing but stand in a crowd."""
        return re.search(rf"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+{re.escape(name)}\b", self.text) \
            is not None

    def _names_a_place(self, name: str) -> bool:
        """A name the text puts after "the" and before a kind of place ("the Feathers public
        bar", "the Feathers car park"): a pub or a hotel, whatever else it does ("the Feathers
        needed thirty-two to win")."""
        bare = re.escape(name.removeprefix("the "))
        after = re.finditer(rf"\bthe {bare} (?:public |saloon |lounge |back |front )?"
                            r"([a-z]+(?: park)?)\b", self.text)
        return any(m.group(1).replace(" ", "-") in SETTINGS for m in after)

    def _only_listed(self, name: str) -> bool:
        """Whether every mention of ``name`` is an item of a list of capitalised names
        ("Marling, Coombe, Hatherby Halt, Little Sutton, and then ...")."""
        escaped = re.escape(name)
        mentions = len(re.findall(rf"\b{escaped}\b", self.text))
        listed = len(re.findall(rf"[A-Z][\w'\u2019-]*,\s+{escaped}\b"
                                rf"|\b{escaped},\s+(?:and\s+)?[A-Z]", self.text))
        return bool(mentions) and listed >= mentions

    @cached_property
    def animals(self) -> dict[str, str]:
        """Named animals and their kind, by how the story introduces them: "her Shetland pony,
        Biscuit", "a collie named Tess", "The heifer was called Blodwen", "Moss, her collie"
        ("the dog Harry bought" names no dog; one who speaks is a person). They are no cast: a
        first AD books them with a wrangler."""
        out: dict[str, str] = {}
        for pattern in _ANIMAL_NAMED:
            for match in pattern.finditer(self.text):
                name, kind = match.group("name"), match.group("kind").lower()
                if re.search(r"[A-Z][a-z]+\s$", self.text[max(0, match.start() - 30):
                                                          match.start("name")]):
                    continue  # "Anna Bell, her dog at her heels": the end of a longer name
                if name not in _STOP and not self._says_a_line(name):  # "Anna, her dog at heel,"
                    breed = match.group("breed") if "breed" in pattern.groupindex else None
                    out.setdefault(name, f"{breed or ''}{kind}")
        for name in self.names:  # one never introduced as one, known by what it does
            if " " not in name and name not in out and name not in _STOP \
                    and not self._says_a_line(name) and (found := self._behaves_as_animal(name)):
                out[name] = found
        return out

    def _behaves_as_animal(self, name: str) -> str:
        """The kind of animal ``name`` is by what the narration has it do ("Fly ... whining",
        "Bosun stayed pressed against his legs, beating them with his tail"), as the
        sentences naming it call its kind ("the dog"); "" when nothing it does is an
        animal's."""
        told = [s for s in self.sentences if re.search(rf"\b{re.escape(name)}\b", s)]
        if not any(re.search(rf"\b{re.escape(name)}\b[^.;\"\u201c]{{0,80}}?{_BEAST_DOES}", s)
                   for s in told):
            return ""
        # soon after its name: '"Bosun," said Agnes, and the dog went'; not "licked the
        # greyhound's ear", another animal's
        kinds = Counter(m.lower() for s in told for m in re.findall(
            rf"\b{re.escape(name)}\b[^.;]{{0,40}}?\b(?:the|her|his|their)\s+(?:old\s+)?"
            rf"({_ANIMAL_KINDS})\b(?!['\u2019])", s, re.I))
        return kinds.most_common(1)[0][0] if kinds else "animal"

    @cached_property
    def creatures(self) -> list[str]:
        """The named animals as a breakdown lists them: "Biscuit (Shetland pony)"."""
        return [f"{name} ({kind})" for name, kind in self.animals.items()]

    @cached_property
    def lead(self) -> str:
        """The main character: the one a cast list labels "(protagonist)", else the most
        named. The synthesis reads the chunks' cast, not the story, where the most named is
        whoever has the longest description."""
        found = _LEAD.search(self.text)
        return found.group(1).strip() if found else next(iter(self.characters), "")

    @cached_property
    def lead_description(self) -> str:
        """What a cast list says of its "(protagonist)" after the colon; "" without one."""
        found = _LEAD.search(self.text)
        return (found.group(2) or "").strip() if found else ""

    @cached_property
    def _known_as(self) -> dict[str, str]:
        """The text's "A, whom everyone called B" pairs: the less named of the two is the
        other's alias."""
        counts = {n: len(self.mentions(n)) for n in self.names}
        out: dict[str, str] = {}
        for before, other in _NICKNAMED.findall(self.text):  # named once, gone by since
            if other in counts and before != other and counts.get(before, 0) < counts[other]:
                out[before] = other
        for before, other in _KNOWN_AS.findall(self.text):
            words = before.split()  # "every October Thomas Ashworth, whom ...": the name ends it
            one = next((n for n in (" ".join(words[i:]) for i in range(len(words)))
                        if n in counts), None)
            if one is not None and other in counts and one != other:
                less, more = sorted((one, other), key=lambda n: (counts[n], n != other))
                out[less] = more
        for short, formal in _FORMAL.items():  # "Friday, Daniel," to Danny: his mother's word
            full = next((n for f in formal.split() for n in counts
                         if n == f or n.startswith(f + " ")), None)  # Mo is Maureen Kelly
            if short in counts and full is not None and short not in out and full not in out:
                less, more = sorted((short, full), key=lambda n: (counts[n], n == full))
                out[less] = more
        return out

    def _thing(self, name: str) -> bool:
        """Mostly named after "her", "the", "Tom's" ("her old Honda"), never speaking, or the
        name the text gives to "it" ("The family called it Old Nonna", a sourdough starter): a
        thing (a car, a breed, a pub), not a person."""
        if re.search(rf"\b(?:called|named|christened|nicknamed) it,? {re.escape(name)}\b",
                     self.text):
            return True
        words = name.split()
        if words[0] in _TITLES or words[0] == "the" or self._speaks(name):
            return False
        mentions, owned = self._mentions(words[0], _BEFORE_THING)
        return mentions > 0 and owned * 2 > mentions

    def _says_a_line(self, name: str) -> bool:
        """Tagged as the speaker right after a line ('," said Anna', '" Anna said'); stricter
        than ``_speaks``, which "was called Blodwen" and '"Bosun," said Agnes' also pass."""
        first = re.escape(name.split()[0])
        return bool(re.search(rf"[\"\u201d]\W{{0,2}}\s*(?:{_SPEECH.pattern}\s+{first}\b|"
                              rf"{first}\s+{_SPEECH.pattern})", self.text))

    def _acts(self, name: str) -> bool:
        """The subject of a verb somewhere ("Bosun went ahead", "Tom's face fell" does not
        count), and not a place ("a university in Norway has asked")."""
        return bool(re.search(_NOT_PLACED + rf"\b{re.escape(name)}\s+(?:[a-z]+ly\s+)?"
                              + _VERB, self.text))

    def _speaks(self, name: str) -> bool:
        """Said or asked something: the subject of a speech verb just before or after it, and
        not a place ("a university in Norway has asked", "her supervisor in Edinburgh would
        say")."""
        first = _NOT_PLACED + rf"\b{re.escape(name.split()[0])}\b"
        gap = r"[^\w\"\u201c\u201d]+(?:\w+[^\w\"\u201c\u201d]+)?"  # '"How was Edinburgh?" Tom said'
        return bool(re.search(first + gap + _SPEECH.pattern, self.text) or
                    re.search(_SPEECH.pattern + gap + first, self.text))

    @cached_property
    def themes(self) -> list[str]:
        scored = [(len(re.findall(p, self.text, re.I)), t) for t, p in _THEME_WORDS.items()]
        return [t for n, t in sorted(scored, key=lambda x: (-x[0], x[1])) if n > 0] or ["change"]

    @cached_property
    def keywords(self) -> list[str]:
        counts = Counter(w.lower() for w in _WORD.findall(self.text) if len(w) > 4
                         and w not in _STOP and w.lower() not in _COMMON)
        return [w for w, _ in counts.most_common(12)]

    @cached_property
    def objects(self) -> list[str]:
        """The things the narration shows ("calving ropes", "head torch"), most named first:
        a props master's list (``things.py``)."""
        return things(self.text)

    def mood(self, text: str | None = None) -> str:
        text = self.text if text is None else text
        scored = [(len(re.findall(p, text, re.I)), m) for m, p in _MOODS]
        best = max(scored)
        return best[1] if best[0] else "quiet"

    def time_of_day(self, text: str | None = None) -> str:
        return _cue(self.text if text is None else text, _TIMES) or "DAY"

    @cached_property
    def scene_times(self) -> list[str]:
        """Each scene's DAY/NIGHT/DAWN/DUSK: its opening's words or a word its text repeats
        (one stray "morning" in talk does not move it), else the scene before it's (a scene
        goes on at the same time), else the first time named, else DAY.

        A clock time that opens a scene with no word of the time ("At half past nine Jonty
        took the bins out") is read forward from the last time the story told on that day:
        after a NIGHT scene at half past five it is night still.
        """
        own: list[str | None] = []
        then: int | None = None  # the story's clock, in minutes from midnight, where known
        for index, scene in enumerate(self.scenes):
            first = next(iter(sentences(scene)), "")
            said, dial = _cue(first, _TIMES, habits=False), clock(first)
            if self.later_day(scene):  # a named day too: "They closed at six on Friday"
                then = None
            if said is None and dial is not None and then is not None:
                then = forward(then, dial)
                own.append(part_of_day(then))
                continue
            when = said or _cue(scene, _TIMES, least=2 if index else 1, habits=False)
            if dial is not None and when:
                then = on_the_day(dial, when, first)
                if when == "DAY" and part_of_day(then) == "DAWN":  # "In the morning ... at five"
                    when = "DAWN"
                elif when == "NIGHT" and 17 * 60 <= then < 20 * 60 \
                        and not _DARK.search(first):  # "At six that evening", "At half past
                    when = "DUSK"  # five ... the last time that night"; not "the light had gone"
            own.append(when)
        # dawn and dusk are moments: the scenes before the first time named are not at dawn
        return _carried(own, next((w for w in own if w in ("DAY", "NIGHT")), "DAY"))

    def later_day(self, passage: str) -> bool:
        """The passage opens on a later day ("The next morning", "Two days later")."""
        return bool(_LATER_DAY.search(" ".join(sentences(passage)[:1])))

    def setting(self, text: str) -> str:
        """INT or EXT: the words of the passage's opening, else of all of it; INT when none."""
        return _cue(text, _SETTINGS) or "INT"

    def setting_of(self, place: str) -> str | None:
        """INT or EXT by the kind of place ("the kitchen", "the marsh road"), else None."""
        *_, last = place.split()
        return next((kind for kind, pattern in _SETTINGS if pattern.fullmatch(last)), None)

    @cached_property
    def scene_settings(self) -> list[str]:
        """Each scene's INT/EXT: its own words, else the scene before it's (a punt coming down
        the drain after the marsh road is still outdoors), else INT."""
        return _carried([_cue(scene, _SETTINGS) for scene in self.scenes], "INT")

    def sentences_of(self, passage: str | None) -> list[str]:
        return sentences(passage) if passage else []

    def opening(self, passage: str) -> list[str]:
        """The passage's first three sentences of narration that tell this scene, not what
        always happens: where a scene is set is said first."""
        told = sentences(self.narration(passage))
        return [s for s in told if not _HABIT.match(s) and len(s.split()) > 2][:3]

    def told_about(self, place: str) -> list[str]:
        """The story's sentences of narration (no speech, no heading) that name ``place``, in
        full or as its kind ("the drain"): what the story itself says of it."""
        names = called(place)
        return [s for s in self.sentences
                if s[-1:] in _ENDS and not _QUOTE_MARK.search(s)
                and any(re.search(rf"\b{re.escape(n)}\b", s.lower()) for n in names)]

    def someone_in(self, place: str) -> bool:
        """Whether the narration puts a person in ``place`` or moves one through it ("They had
        a row about it in the yard", "Nell went down to the study"): a set a production builds
        or finds. A place only passed on the way to other news ("restaurants in Lyon", "the
        village came past them") is backdrop."""
        kinds = {name.split()[-1] for name in called(place)}
        return any(kinds & self.entered_by_someone(s) for s in self.told_about(place))

    def entered_by_someone(self, passage: str) -> set[str]:
        """The kinds of place the passage's narration puts a person in or moves one through
        (``openings.entered`` of a sentence that names someone)."""
        people = [name.split()[0] for name in self.characters]
        return set().union(*(
            entered(s) for s in sentences(self.narration(passage))
            if _PERSON_WORD.search(s) or any(re.search(rf"\b{re.escape(n)}\b", s) for n in people)))

    def narration(self, passage: str) -> str:
        """The passage without its quoted speech: what the story tells, not what people say."""
        return _SPOKEN.sub(" ", passage)

    def quotes_in(self, passage: str) -> list[str]:
        return [q.strip() for q in _QUOTE.findall(passage) if len(q.split()) >= 2]

    def speaker_of(self, quote: str) -> str:
        """The character named next to ``quote`` with a speech verb ("said Tuck", "Clare
        shouted"), or the turn of an exchange a bare line takes; "" when the text does not
        say (nothing is guessed)."""
        at = self.text.find(quote)
        if at < 0 or not quote:
            return ""
        return self._tagged(quote, at) or self._turn(at)

    @cached_property
    def _paragraph_spans(self) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", self.text)]

    @cached_property
    def _paragraph_starts(self) -> list[int]:
        return [start for start, _ in self._paragraph_spans]

    def _turn(self, at: int, depth: int = 0) -> str:
        """Whose turn an untagged line is, in an exchange of two told one paragraph a line:
        not the one who spoke the line before, but the other, who spoke the line before that
        or whom the narration before the exchange opens on ('Theo Lind arrived at ten past
        four.' / '"You're early," Rosa said.' / '"You say that every day."' is Theo's). A
        narration beat after the line must name no one; its "she" or "he" picks between the
        two ('"Every day it's true." She handed him an apron.' is Rosa's), or after
        narration, the one person of that pronoun it names. A line after a beat is whoever
        the beat opens on ('Mrs. Halvorsen made a noise ... "Who'll keep the starter?"'),
        unless its own tag says "she" of a he."""
        spans = self._paragraph_spans
        index = bisect.bisect_right(self._paragraph_starts, at) - 1
        if index < 2 or depth > 3:
            return ""
        paragraph = self.text[slice(*spans[index])]
        if not _QUOTE.match(paragraph):  # the line follows a beat: whoever the beat opens on
            head = _OPENING_NAME.match(paragraph)
            who = self._called(head.group(1)) if head else ""
            line = _QUOTE.search(paragraph)
            tag = _PRONOUN_TAG.match(paragraph[line.end():]) if line else None
            if tag and self._pronouns.get(who) not in (
                    (tag.group("before") or tag.group("after")).lower(), None):
                return ""  # 'Tom Reid waved. "Later," she said.': not his line
            return who
        told = self.narration(paragraph).strip(" ,.;:!?-\u2014")
        if head := _OPENING_NAME.match(told):  # '"I know ..." Agnes sat down across from
            who = self._called(head.group(1))  # her': a beat that opens on one person is hers
            if who and self._named_in(told) == [who]:
                return who
        if self._named_in(told):
            return ""
        beat = re.match(r"(he|she)\b", told, re.I)
        if told and not beat:
            return ""
        previous = self._said_by(spans[index - 1], depth)
        if not previous and beat:  # '"They want to move the closing up," he said.' after
            # 'Danny came at ten ...': the one he the narration before names (one whose he or
            # she the story never settles may be the one)
            start, end = spans[index - 1]
            fits = [n for n in self._named_in(self.narration(self.text[start:end]))
                    if self._pronouns.get(n) in (beat.group(1).lower(), None)]
            return fits[0] if len(fits) == 1 else ""
        if not previous:
            return ""
        # the other: who spoke the line before that, or whom the narration before the
        # exchange opens on ("Theo Lind arrived"; not "... the notice Danny had printed")
        start, end = spans[index - 2]
        if _QUOTE.match(self.text, start, end):
            other = self._said_by((start, end), depth)
        else:
            head = _OPENING_NAME.match(self.text, start, end)
            other = self._called(head.group(1)) if head else ""
        if not other or other == previous:
            return ""
        if beat is None:
            return other
        pronoun = beat.group(1).lower()
        fits = [n for n in (other, previous) if self._pronouns.get(n) == pronoun]
        return fits[0] if len(fits) == 1 else ""

    def _said_by(self, span: tuple[int, int], depth: int) -> str:
        """Who speaks the paragraph at ``span``, if it has a line: its tag, else its turn in
        the exchange."""
        quote = _QUOTE.search(self.text, *span)
        if quote is None:
            return ""
        return self._tagged(quote.group(1), quote.start(1)) \
            or self._turn(quote.start(1), depth + 1)

    def _called(self, word: str) -> str:
        """The one character a single word names ("Halvorsen", "Rosa"); "" for none or two."""
        found = [n for n in self.characters if word in (n.split()[0], n.split()[-1])]
        return found[0] if len(found) == 1 else ""

    def _named_in(self, text: str) -> list[str]:
        """The characters ``text`` names by their first name, in the cast's order."""
        return [n for n in self.characters
                if re.search(rf"\b{re.escape(n.removeprefix('the ').split()[0])}\b", text)]

    def _tagged(self, quote: str, at: int) -> str:
        after = self.text[at + len(quote): at + len(quote) + 50]
        before = re.split(r"\n\s*\n", self.text[max(0, at - 50): at])[-1]  # this paragraph
        for name in self.characters:
            first = re.escape(name.split()[0])
            if re.match(rf"^\W{{0,3}}\s*(?:{_SPEECH.pattern})\s+(?:\w+\.?\s+)?{first}\b", after) \
                    or re.match(rf"^\W{{0,3}}\s*{_TITLE}{first}\b(?:\s+\w+)?\s+{_SPEECH.pattern}",
                                after) \
                    or re.search(rf"\b{first}\b(?:,? who|\s+\w+)?\s+{_SPEECH.pattern}"
                                 rf"(?:,(?:\s+[\w'\u2019-]+){{1,4}},)?\W{{0,3}}\s*\W?$", before):
                # "Sam said, quietly, "...", "She rang Agnes, who said, "...""
                return name
        if re.search(rf"\b(?:and|then)\s+{_SPEECH.pattern}(?:,(?:\s+[\w'\u2019-]+){{1,4}},)?"
                     r"\W{0,3}\s*\W?$", before):  # "... looked down at the coffin and said,
            told = self.narration(self.text[self.text.rfind("\n", 0, at) + 1: at])  # in his
            named = self._named_in(told)  # ordinary voice, "Walter, ...": the one it names
            return named[0] if len(named) == 1 else ""
        return self._pronoun_speaker(quote, at, after, before)

    def _pronoun_speaker(self, quote: str, at: int, after: str, before: str) -> str:
        """For a pronoun tag ('"Get on," she said.'), the one person the paragraph's narration
        before the line names ("Clare pulled up beside him on her old Honda."), when the story
        calls them by that pronoun; else "" (two people named, or none, is no answer)."""
        tag = _PRONOUN_TAG.match(after)
        if not tag:
            return ""
        pronoun = (tag.group("before") or tag.group("after")).lower()
        told = self.narration(self.text[self.text.rfind("\n", 0, at) + 1: at])  # its paragraph
        named = [n for n in self.characters
                 if re.search(rf"\b{re.escape(n.split()[0])}\b", told)]
        named = [n for n in named  # "Reverend Hale" is "Reverend Amos Hale"
                 if not any(m != n and set(n.split()) < set(m.split()) for m in named)]
        if len(named) != 1 or self._pronouns.get(named[0]) not in (pronoun, None):
            return ""
        return named[0]

    @cached_property
    def _pronouns(self) -> dict[str, str | None]:
        """Each character's "he" or "she". First by the sentence after one that opens on
        their name ("Theo Lind arrived at ten past four. He was nineteen"); else by the
        subject pronouns after the name in the sentences that name only them ("Clare pulled
        up ... and she ..."), where a point of view's "she" can outnumber his own; "his" and
        "her" are as often someone else's. None on a tie."""
        firsts = {n: re.compile(rf"\b{re.escape(n.split()[0])}\b") for n in self.characters}
        counts = {n: Counter[str]() for n in self.characters}
        opening = {n: Counter[str]() for n in self.characters}
        for sentence, after in itertools.pairwise([*self.sentences, ""]):
            here = [n for n, pattern in firsts.items() if pattern.search(sentence)]
            if len(here) == 1:  # a pronoun before the name is someone else's: "He stood at
                # the oche ..., and Nan turned round in her wheelchair"
                named = firsts[here[0]].search(sentence)
                told = self.narration(sentence[named.start() if named else 0:]).lower()
                counts[here[0]]["he"] += len(re.findall(r"\b(?:he|himself)\b", told))
                counts[here[0]]["she"] += len(re.findall(r"\b(?:she|herself)\b", told))
                head = _OPENING_NAME.match(sentence)
                word = re.match(r"(He|She)\b", after)
                if head and word and head.group(1) == here[0].split()[0]:
                    opening[here[0]][word.group(1).lower()] += 1
        out: dict[str, str | None] = {}
        for name in self.characters:
            for c in (opening[name], counts[name]):
                if c["he"] != c["she"]:
                    out[name] = "he" if c["he"] > c["she"] else "she"
                    break
            else:
                out[name] = None
        return out

    def pairs(self, name: str | None = None) -> list[tuple[tuple[str, str], str]]:
        """Pairs of characters named in one sentence, with the first such sentence."""
        people = self.characters[:8]
        found: dict[tuple[str, str], str] = {}
        for sent in self.sentences:
            here = [p for p in people if re.search(rf"\b{re.escape(p.split()[0])}\b", sent)]
            for i, a in enumerate(here):
                for b in here[i + 1:]:
                    if name and name not in (a, b):
                        continue
                    key = (a, b) if name in (None, a) else (b, a)
                    found.setdefault(key, sent)
        return list(found.items())

    def aliases(self, name: str) -> list[str]:
        """Other names in the text sharing a word with ``name`` ("Maya" for "Maya Reyes"),
        and its other name where the text gives one ("Tuck" is "Thomas Ashworth"), which is
        no one else's alias for the word it shares with them ("Clare Ashworth")."""
        if not name:
            return []
        words = set(name.split())
        out = [n for n in self.names if n != name and n not in self.characters
               and self._known_as.get(n, name) == name  # "Thomas Ashworth" is Tuck's only
               and (set(n.split()) & words or n in self._known_as)]
        out += [n for n, known in self._known_as.items() if known == name and n not in out]
        first = name.split()[0]
        if " " in name and first not in out and re.search(rf"\b{re.escape(first)}\b(?!\s+"
                                                          rf"{re.escape(name.split()[1])})",
                                                          self.text):
            out.insert(0, first)
        return out

    def mentions(self, name: str) -> list[str]:
        """Sentences naming ``name`` (by its first word as well, or its noun: "the village")."""
        words = name.split()
        first = words[-1] if words[0].lower() in ("the", "a", "an") else words[0]
        return [s for s in self.sentences if name in s or re.search(rf"\b{re.escape(first)}\b", s)]


#: the last words of a place's proper name that narration also says alone ("the drain")
_PLACE_KINDS = frozenset((
    "street", "road", "lane", "avenue", "square", "park", "hill", "bay", "harbour", "harbor",
    "station", "bridge", "river", "lake", "island", "cafe", "bar", "hotel", "house", "hall",
    "church", "market", "beach", "point", "valley", "forest", "wood", "woods", "castle",
    "tower", "court", "gardens", "heights", "falls", "port", "drain", "canal", "creek",
    "brook", "marsh", "moor", "fen", "common", "farm", "mill", "inn", "lodge", "manor",
    "cottage", "shop", "bakery", "pub", "tavern", "chapel", "school", "quay", "pier", "green",
))


def called(place: str) -> tuple[str, ...]:
    """How narration names a place: in full, and a proper name ending in a kind of place by
    that word ("Oxley Drain" as "the drain"; "Kestrel Pippin" is no "the pippin")."""
    *_, last = place.split()
    if place[:1].isupper() and last != place and last.lower() in _PLACE_KINDS:
        return (place.lower(), f"the {last.lower()}")
    return (place.lower(),)


_ANIMAL_KINDS = (
    r"pony|horse|mare|stallion|foal|colt|donkey|mule|dog|collie|sheepdog|terrier|spaniel|"
    r"labrador|retriever|lurcher|greyhound|hound|puppy|cat|kitten|cow|heifer|calf|bull|"
    r"bullock|ox|goat|sheep|ewe|ram|lamb|pig|sow|hen|cockerel|rooster|goose|gander|duck|"
    r"parrot|budgie|hawk|falcon|owl|raven|ferret|rabbit|tortoise"
)
_ANIMAL_NAME = r"(?P<name>[A-Z][a-z]+)\b"
#: what only an animal does: "whining", "wagged", "with his tail", "licked the greyhound's ear"
_BEAST_DOES = (r"\b(?:barked|barking|whined|whining|wagged|wagging|growled|growling|yelped|"
               r"howled|purred|neighed|whinnied|bleated|snuffled|(?:his|her|its) (?:tail|paws?|"
               r"muzzle|snout|hooves|mane|ears pricked)|licked)\b")
#: how a story names an animal: "her Shetland pony, Biscuit", "a collie named Tess", "The
#: heifer was called Blodwen", "Moss, her collie"
_ANIMAL_NAMED = (
    re.compile(r"\b(?:[Tt]he|[Aa]n?|[Hh]er|[Hh]is|[Tt]heir|[Ii]ts|[Oo]ur|[Mm]y)\s+"
               r"(?:[\w'\u2019-]+\s+){0,3}?(?P<breed>[A-Z][a-z]+\s+)?"
               rf"(?P<kind>{_ANIMAL_KINDS})(?:,\s+|\s+(?:was\s+)?(?:called|named)\s+)"
               + _ANIMAL_NAME),
    re.compile(_ANIMAL_NAME + r",\s+(?:the|a|an|her|his|their|its|our|my)\s+"
               rf"(?:[\w'\u2019-]+\s+){{0,3}}?(?P<kind>{_ANIMAL_KINDS})\b"),
)


#: a title before a name in a speech tag: '," Mrs. Halvorsen said'
_TITLE = r"(?:(?:Mrs|Mr|Ms|Dr|Miss)\.?\s+)?"
#: the name a sentence opens on, after any title: "Mrs. Halvorsen was already waiting"
_OPENING_NAME = re.compile(rf"[\"\u201c]?\s*{_TITLE}([A-Z][\w'\u2019-]+)")
#: a person as narration refers to one
_PERSON_WORD = re.compile(r"\b(?:[Hh]e|[Ss]he|[Tt]hey|I|[Ww]e|him|her|them|us|me)\b")
#: a speech tag of a pronoun right after a line: '" she said', '," said he'
_PRONOUN_TAG = re.compile(rf"^\W{{0,3}}\s*(?:(?P<before>he|she)\s+{_SPEECH.pattern}|"
                          rf"{_SPEECH.pattern}\s+(?P<after>he|she))\b")


#: a sentence that tells what always happens ("Every October the village held its fair on the
#: night of the first frost") says nothing of when this scene is
_HABIT = re.compile(r"(?:Every|Each)\b")


def _cue(text: str, kinds: tuple[tuple[str, re.Pattern[str]], ...], least: int = 1,
         habits: bool = True) -> str | None:
    """The kind whose words come first in the passage's opening two sentences (an opening sets
    the scene), else the kind named most often, and at least ``least`` times, in all of it,
    else None. With ``habits=False`` a sentence of what always happens is not read."""
    told = sentences(text)
    if not habits:
        told = [s for s in told if not _HABIT.match(s)]
        text = " ".join(told)
    opening = " ".join(told[:2])
    first = min(((m.start(), kind) for kind, pattern in kinds
                 if (m := pattern.search(opening))), default=None)
    if first is not None:
        return first[1]
    counts = [(len(pattern.findall(text)), -order, kind)
              for order, (kind, pattern) in enumerate(kinds)]
    best = max(counts)
    return best[2] if best[0] >= least else None


def _carried(own: list[str | None], first: str) -> list[str]:
    """Each scene's own value, else the one before it's (a scene goes on as the last did);
    ``first`` for the opening scenes that have none."""
    out: list[str] = []
    for value in own:
        out.append(value or (out[-1] if out else first))
    return out


def _trim(phrase: str) -> str:
    words = [w for w in phrase.split() if not _CONTRACTION.match(w)
             or w.split("'")[0].split("\u2019")[0] not in _STOP]
    if len(words) != len(phrase.split()) and len(words) < len(phrase.split()):
        return ""  # "You've", "It'll": a pronoun, not a name
    if words:  # "Biscuit's lead rope" names Biscuit
        words[-1] = _POSSESSIVE.sub("", words[-1])
    while words and words[0].rstrip(".") in _STOP:
        words.pop(0)
    while words and words[-1].rstrip(".") in _STOP | {"of", "the"}:
        words.pop()
    out = " ".join(words)
    return out if len(out) > 1 and out not in _STOP else ""


_COMMON = _wordset(
    "about above after again against because been before being below between could doing "
    "during every from have having here into itself just more most other over same should "
    "some such than that their them then there these they this those through under until "
    "very what when where which while with would your yours thing things something nothing "
    "everything anything looked looking said asked went came back still there again little "
    "think thought know knew could would shall might right left away down once time long "
    "around another without himself herself themselves myself other first last never always "
    "though whole morning evening night eyes hand hands face head voice moment way "
    "story text part answer words word"
)
