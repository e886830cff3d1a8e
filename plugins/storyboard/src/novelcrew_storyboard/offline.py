"""The offline stand-in's part of the storyboard: looks the story ties to one person, and
shot actions from the plan's own words.

No model reads the story, so a trait counts only when the words tie it to the character:
the sentence names nobody else (the caller passes only those), the trait is someone's
("her grey eyes", "with a scar", "Hamish's beard"), and a his/her agrees with the pronouns the
story uses around the character. A bare word such as "thin" counts only in the character's
own description, or as "was thin" / "a thin man" in the story: "a thin rain" is no build.
Rather nothing than a wrong face, since every prompt repeats it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from novelcrew_storyboard.answers import CharacterAnswer, clean
from novelcrew_storyboard.models import CharacterLook, Trait
from novelcrew_storyboard.prompts import first_sentence, sentences
from novelcrew_storyboard.source import CharacterFacts, SceneFacts, ShotFacts
from novelcrew_storyboard.speech import speech_tag, without_speech

__all__ = ["offline_character", "offline_shot", "pronoun_of"]

_BUILD = ("broad-shouldered", "heavyset", "muscular", "stocky", "slight", "wiry", "petite",
          "gaunt", "burly", "lanky", "stout", "lean", "tall", "thin", "small", "short", "slim",
          "plump", "frail", "stooped", "skinny", "big", "long-armed", "long-legged",
          "barrel-chested", "round-shouldered", "upright")
#: a height as people say it: "six foot five", "five feet two"
_HEIGHT = re.compile(r"\b(?P<value>(?:four|five|six|seven) (?:foot|feet)(?: (?:one|two|three|four|"
                     r"five|six|seven|eight|nine|ten|eleven))?)\b")
_BUILD_WORDS = "|".join(_BUILD)
_DEGREE = r"(?:very |quite |too |so |rather |about |nearly |almost |over |under )?"
#: "Agnes herself was seventy-eight, very small": what "<name> was" says, up to one clause on
_WAS = (r"(?:{name})(?: herself| himself)?,? (?:who )?(?:was|is|looked|seemed) "
        r"(?:[^.,;:!?]{{0,40}}, )?")
_AGE_WORD = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
             r"(?:-(?:one|two|three|four|five|six|seven|eight|nine))?|eleven|twelve|thirteen|"
             r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|ten|nine|eight|seven|six)")
#: an age in words, not years: "was very old now", "was elderly" ("old enough", "old
#: friends" say no age)
_AGE_SAID = (r"(?P<value>old|elderly|young|middle-aged|ancient)\b"
             r"(?! (?:enough|friends?|news|school|times|age|hands?|habits?)\b)")
#: a build word before a person word: "a tall, thin man", "a big, pink, cheerful man"
_BUILD_NOUN = re.compile(
    rf"\b(?:a|an) (?:[a-z-]+,? )?(?P<value>{_BUILD_WORDS}),? (?:[a-z-]+,? ){{0,2}}"
    r"(?:man|woman|boy|girl|lad|lass|figure|fellow|child|person|youth)\b")
#: whose a trait is: a pronoun, "with", "had grown a", or a possessive name
_OWNER = (r"(?P<owner>\b(?:her|his|their|with(?: a| an| her| his| their)?|"
          r"(?:had|has|grew|had grown|has grown|wore|wears|sported) (?:a|an))|\b[A-Z][\w-]*'s)")
_MODS = r"(?:[A-Za-z-]+,? ){0,2}"
_HAIR = re.compile(rf"{_OWNER} (?P<value>{_MODS}hair)\b")
_EYES = re.compile(rf"{_OWNER} (?P<value>{_MODS}eyes)\b")
_SKIN = re.compile(rf"{_OWNER} (?P<value>{_MODS}(?:skin|complexion))\b")
_FEATURE = re.compile(
    rf"{_OWNER} (?P<value>(?:[A-Za-z-]+ )?(?:scar|tattoo|beard|moustache|mustache|spectacles|"
    r"glasses|freckles|limp)(?: (?:on|across|over) (?:his|her|their|the) (?:[A-Za-z-]+ )?"
    r"(?:face|cheek|chin|jaw|eye|eyebrow|brow|forehead|lip|nose|neck|throat|hand|palm|wrist|"
    r"arm|forearm|shoulder|chest|back|leg|knee|temple|ear|head|scalp)s?)?)\b")
#: in the character's own description a feature needs no owner: "a scar across her left palm"
_FEATURE_BARE = re.compile(_FEATURE.pattern.replace(_OWNER, r"(?P<owner>\b(?:a|an))"))
_AGE = re.compile(r"\b(?P<value>\d{1,2}[- ]year[- ]old|in (?P<owner>his|her|their) "
                  r"(?:early |mid-|late )?(?:twenties|thirties|forties|fifties|sixties|"
                  r"seventies|eighties))\b")
_SHE = re.compile(r"\b(?:she|her|hers|herself)\b", re.I)
_HE = re.compile(r"\b(?:he|him|his|himself)\b", re.I)
_EMPTY = ("hair", "eyes", "skin", "complexion")
#: how someone looks for a moment, not how they look: "his wet hair", "her tired eyes"
_PASSING = frozenset({"wet", "damp", "soaked", "soaking", "dripping", "sweaty", "tangled",
                      "windblown", "wind-blown", "messy", "dishevelled", "tousled", "tired",
                      "red-rimmed", "bloodshot", "streaming", "closed", "shut", "open",
                      "narrowed", "wide", "frightened", "flushed"})


def pronoun_of(sentences: Iterable[str]) -> str | None:
    """"her" or "his" when the sentences about the character use one clearly more."""
    text = " ".join(sentences)
    she, he = len(_SHE.findall(text)), len(_HE.findall(text))
    if she >= 2 and she >= 2 * he:
        return "her"
    if he >= 2 and he >= 2 * she:
        return "his"
    return None


def _owned(match: re.Match[str], facts: CharacterFacts, pronoun: str | None) -> bool:
    owner = (match.groupdict().get("owner") or "").lower().split()[-1:]
    owner = owner[0] if owner else ""
    if owner in ("her", "his"):
        return pronoun is None or owner == pronoun
    if owner.endswith("'s"):  # only the character's own name: "Hamish's beard"
        names = {w.lower() for n in (facts.name, *facts.aliases) for w in n.split()}
        return owner[:-2] in names
    return True


_TITLES = frozenset({"mr", "mrs", "miss", "ms", "dr", "reverend", "rev", "father", "mother",
                     "sister", "brother", "sergeant", "sgt", "constable", "pc", "inspector",
                     "captain", "sir", "lady", "lord", "aunt", "uncle", "old", "young"})


def _calls(name: str, aliases: Iterable[str] = ()) -> list[str]:
    """What names a person in a sentence, longest first: the whole name, each alias, and the
    name's first word after any title ("Clare" for Clare Ashworth; not "Ashworth", which her
    brother shares)."""
    words = [w for w in name.split() if w.lower().strip(".") not in _TITLES]
    return sorted({n for n in (name, *aliases, *words[:1]) if n}, key=len, reverse=True)


def _named(calls: Iterable[str], text: str) -> bool:
    low = text.lower()
    return any(re.search(rf"\b{re.escape(n.lower())}\b", low) for n in calls)


def _named_before(text: str, position: int, facts: CharacterFacts) -> bool:
    """Whether the sentence names the character before ``position``: in "she looked at Mara
    with tired eyes" the eyes are someone else's."""
    return _named(_calls(facts.name, facts.aliases), text[:position])


def _first(pattern: re.Pattern[str], texts: list[str], facts: CharacterFacts,
           pronoun: str | None, limit: int = 1, *, about: str = "") -> list[Trait]:
    """The first ``limit`` traits ``pattern`` finds; in a story sentence (any text but the
    description ``about``), only after the character's name."""
    found: list[Trait] = []
    for text in texts:
        for match in pattern.finditer(text):
            value = match.group("value").strip(" ,")
            if value.lower() in _EMPTY or not _owned(match, facts, pronoun) \
                    or _PASSING & {w.strip(",").lower() for w in value.split()[:-1]}:
                continue
            if text is not about and not _named_before(text, match.start(), facts):
                continue
            article = (match.groupdict().get("owner") or "").split()[-1:]
            if article and article[0] in ("a", "an"):  # "with a scar" is "a scar"
                value = f"{article[0]} {value}"
            if any(t.value == value for t in found):
                continue  # the beard told twice is one beard
            found.append(Trait(value=value, stated=True, evidence=match.group(0).strip(" ,")))
            if len(found) >= limit:
                return found
    return found


def _was(facts: CharacterFacts, what: str) -> re.Pattern[str]:
    """``<name> was <what>``, by any of the character's names."""
    alternatives = "|".join(rf"\b{re.escape(n)}" for n in _calls(facts.name, facts.aliases))
    return re.compile(_WAS.format(name=alternatives) + _DEGREE + what)


def _build(description: str, sentences: list[str], facts: CharacterFacts) -> Trait:
    low = description.lower()
    word = next((w for w in _BUILD if re.search(rf"\b{w}\b", low)), "")
    if word:
        return Trait(value=word, stated=True, evidence=word)
    said = _was(facts, rf"(?P<value>{_BUILD_WORDS})\b")
    for sentence in sentences:
        match = said.search(sentence) or _BUILD_NOUN.search(sentence)
        if match and (match.re is said or _named_before(sentence, match.start(), facts)):
            return Trait(value=match.group("value"), stated=True,
                         evidence=match.group(0).strip(" ,"))
    tall = _was(facts, _HEIGHT.pattern)  # "Lofty, who was six foot five"
    for sentence in sentences:
        match = tall.search(sentence)
        if match:
            return Trait(value=match.group("value"), stated=True,
                         evidence=match.group(0).strip(" ,"))
    return Trait()


def _age(texts: list[str], facts: CharacterFacts, pronoun: str | None, about: str) -> Trait:
    """"in her forties", "a 12-year-old", or "Agnes was seventy-eight" (as years old)."""
    found = _first(_AGE, texts, facts, pronoun, about=about)
    if found:
        return found[0]
    said = _was(facts, rf"(?:perhaps |about |nearly |almost )?(?P<value>{_AGE_WORD})\b"
                       r"(?![- ](?:yards|feet|foot|miles|minutes|hours|days|weeks|months|"
                       r"pounds|years ago|per|of|times|percent|hundred|thousand|o'clock|"
                       r"metres|meters|steps|inches))")
    for text in texts:
        match = said.search(text)
        if match:
            return Trait(value=f"{match.group('value')} years old", stated=True,
                         evidence=match.group(0).strip(" ,"))
    said = _was(facts, _AGE_SAID)  # "Reverend Hale ... He was very old now, and deaf"
    for text in texts:
        match = said.search(text)
        if match:
            return Trait(value=match.group("value"), stated=True,
                         evidence=match.group(0).strip(" ,"))
    return Trait()


def offline_character(facts: CharacterFacts, description: str,
                      sentences: list[str]) -> CharacterAnswer:
    """Traits the words tie to the character; ``sentences`` name no other character, and
    ``description`` is about them (empty when it names someone else). Read in narration only:
    what a line of dialogue says ("a man with a moustache and glasses") is no look of its
    speaker, and its pronouns are no clue to theirs."""
    description = without_speech(description)[0]
    sentences = [rest for rest, _ in map(without_speech, sentences) if rest]
    texts = [t for t in (description, *sentences) if t]
    pronoun = pronoun_of(texts)

    def one(pattern: re.Pattern[str]) -> Trait:
        return next(iter(_first(pattern, texts, facts, pronoun, about=description)), Trait())

    features = _first(_FEATURE, texts, facts, pronoun, limit=2, about=description)
    if not features and description:
        features = _first(_FEATURE_BARE, [description], facts, pronoun, limit=2,
                          about=description)
    return CharacterAnswer(
        id=facts.id, age_range=_age(texts, facts, pronoun, description),
        build=_build(description, sentences, facts),
        skin=one(_SKIN), hair=one(_HAIR), eyes=one(_EYES), distinguishing_features=features)


def _visible(sentence: str) -> bool:
    """Whether a sentence shows something: not a line of dialogue, its bare tag, or a line
    left open (a speech that runs on into the next paragraph)."""
    if sentence.count('"') % 2 or sentence.count("\u201c") != sentence.count("\u201d"):
        return False
    rest, _ = without_speech(sentence)
    return bool(rest) and speech_tag(rest) is None


#: a sentence with someone in it: a pronoun of a person, or a capitalised word (a name)
#: other than one of the words a sentence about a thing opens on
_PERSON_IN = re.compile(r"\b(?:he|she|him|his|her|hers|himself|herself|they|them|I|you|we)\b"
                        r"|\b(?!(?:It|Its|The|A|An|This|That|There|On|In|At|Above|Inside|"
                        r"Under|Beside|Behind)\b)[A-Z][a-z]")


def _thing_told(note: str, text: str) -> str:
    """For an insert noted "The crock.", the scene's sentence that shows the thing alone
    ("It sat where it always sat, ...: a brown stoneware crock with a chipped lip ..."), so
    the image prompt draws that crock; "" when every sentence with it has someone in it, as
    an insert frames no one."""
    words = note.rstrip(".").split()
    if not words:
        return ""
    noun = re.compile(rf"\b{re.escape(words[-1].lower())}\b", re.I)
    alone = [s for s in sentences(text)
             if noun.search(s) and _visible(s) and not _PERSON_IN.search(s)]
    return clean(alone[0], 300) if alone else ""


def offline_shot(shot: ShotFacts, scene: SceneFacts, cast: list[CharacterLook]) -> tuple[str, str]:
    """Action and composition from the plan's and the story's own words.

    The action is the shot's notes; else, for a shot of someone but the master, a sentence of
    the scene that names its first subject (the nth such sentence for shot n, so the singles
    of a scene differ); else the scene's summary, which the master and the empty frames share.
    """
    action = clean(first_sentence(shot.notes))
    summary = clean(first_sentence(scene.summary))
    if action and not cast and shot.coverage == "insert":
        action = _thing_told(action, scene.text) or action
    if not action and cast and shot.coverage != "master":
        about = [s for s in sentences(scene.text) if _named(_calls(cast[0].name), s)]
        about = [s for s in about if clean(s) != summary] or about
        # what can be seen first: a line of dialogue or its bare tag ("Tuck said") shows
        # nothing, and a line without its tag does not say who speaks
        about = [s for s in about if _visible(s)] or about
        if about:
            action = clean(about[(shot.number - 1) % len(about)], 300)
    action = action or summary
    return action, offline_composition(shot.coverage, [c.name for c in cast])


def offline_composition(coverage: str, people: list[str]) -> str:
    """The plan's coverage as a DP frames it, for an image model: "over Theo Lind's shoulder
    onto Rosa Amati", not the crew's shorthand ("over-the-shoulder on Rosa Amati and Theo
    Lind", a bare "insert" after "insert shot"); the first subject is the one the shot is on.
    An unknown coverage is kept as written; no coverage and nobody gives nothing."""
    names = ", ".join(people[:-1]) + f" and {people[-1]}" if len(people) > 1 else "".join(people)
    kind = coverage.strip().lower()
    if kind == "master":
        return f"full view of the setting with {names} in it" if names \
            else "full view of the setting"
    if kind == "single" and len(people) == 1:
        return f"{people[0]} alone in frame"
    if kind == "over-the-shoulder" and people:
        return f"over {people[1]}'s shoulder onto {people[0]}" if len(people) > 1 \
            else f"over a shoulder onto {people[0]}"
    if kind == "insert" and not people:
        return "the detail fills the frame"
    if kind == "two-shot" and people:
        return f"{names} together in frame"
    if kind in ("single", "") and people:
        return f"{names} in frame"
    return coverage.strip() + (f" on {names}" if names else "")
