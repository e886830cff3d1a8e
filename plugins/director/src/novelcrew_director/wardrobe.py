"""Wardrobe the scene's own text states, for the breakdown sheet of an untrusted model.

The ``offline`` stand-in cannot read a scene, so without this its sheet has no wardrobe and the
storyboard dresses every generated shot anew. What the text says outright is safe to take:
"Ruth stripped off her coat, pulled a long glove up to her shoulder" gives Ruth "coat" and
"long glove". A wrong attribution is worse than none (it puts one person's coat on another in
every frame), so an item counts only when

- it is a garment of a fixed vocabulary (a lower-case word, never inside a hyphenated word, not
  part of a listed idiom or of an ``of`` phrase: "coat of paint", "boot of the car"), the head
  of its phrase (not "uniform grey"), with at most two modifier words kept ("long waxed coat");
- the sentence, outside quoted speech, names exactly one of the story's characters, and that
  one is in the scene's cast (a possessive like "Bird's boots" names its owner);
- the garment is that person's: "<Name>'s coat", "<Name> in a grey coat", "<Name> came at
  ten, in a good coat", "<Name> wore/pulled on/took off ... coat", "<Name> ... his coat", or
  joined by "and" to one of these ("in jeans and a fleece");
- nothing else in the sentence could own it: no other person ("the man", "someone"), no
  other capitalised name, no pronoun of the same gender before it, and a his/her agrees with
  the character's pronoun as the story uses it (see ``Pronouns``).

Plurals of garments worn one at a time ("shirts") are clothes in a case, not an outfit, and
are left out; paired ones ("boots", "gloves") count.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    """A word list written as one string: ``"coat hat"`` -> {"coat", "hat"}."""
    return frozenset(text.split())


def _phrases(text: str) -> list[str]:
    """A list of phrases written as one comma-separated string."""
    return [part.strip() for part in text.split(",") if part.strip()]


#: one garment each (the singular); plurals of these are clothes in a case, not an outfit.
#: Left out: "boot" (a car's, or one of a pair), "bonnet" (a car's), "trainers" (people),
#: "overall" (an adjective), "shorts" (films)
SINGLE = _words("""
    coat overcoat raincoat topcoat greatcoat jacket anorak oilskin cagoule parka fleece gilet
    bodywarmer suit dress frock skirt kilt blouse shirt jumper sweater pullover jersey cardigan
    hoodie waistcoat apron pinafore smock tunic uniform cassock hat cap beret beanie
    headscarf scarf shawl glove mitten hood cloak cape gown robe tie mac balaclava
    tabard shoe slipper sandal
""")
#: worn as a pair, or one garment with a plural name
PAIRED = _words("""
    boots wellingtons wellies shoes brogues slippers sandals gloves mittens
    trousers jeans overalls dungarees oilskins breeches waders pyjamas leggings socks
""")
#: a noun that says the garment before it is worn ("her coat pocket" is her coat)
_PARTS = _words("""
    pocket pockets sleeve sleeves collar cuff cuffs hem lapel lapels lining buttons button
    zip zipper brim tails laces strap
""")
#: idioms and non-garment senses, on the lower-cased sentence (tokens joined by spaces)
IDIOMS = tuple(re.compile(p) for p in (
    r"\b(?:coat|cap|hood|boot|cloak|apron|robe|gown|mantle|shawl|suit) of\b",
    r"\bdress (?:rehearsal|code|sense|circle)\b",
    r"\bsuit (?:yourself|himself|herself|themselves|me|you|him|her|us|them)\b",
    r"\bfollow(?:s|ed|ing)? suit\b", r"\bstrong suit\b", r"\bbirthday suit\b",
    r"\bcap in hand\b", r"\bthinking cap\b", r"\bfeather in \w+ cap\b", r"\bice cap\b",
    r"\bhat (?:trick|in the ring)\b", r"\bdrop of a hat\b", r"\bold hat\b",
    r"\b(?:under|through) (?:his|her|your|my) hat\b", r"\bhats off\b",
    r"\bin (?:his|her|your|my|their|\w+ 's) shoes\b",
    r"\b(?:shaking|quaking|trembling) in (?:his|her|their) boots\b",
    r"\btoo big for (?:his|her|their) boots\b",
    r"\bhand in glove\b", r"\bkid gloves\b", r"\bgloves (?:are|were|came) off\b",
    r"\bapron strings\b", r"\b(?:wear|wears|wore|wearing) the trousers\b",
    r"\bshirt off (?:his|her|my|your) back\b", r"\bkeep (?:his|her|your) shirt on\b",
    r"\bstuffed shirt\b", r"\bjacket potato(?:es)?\b", r"\b(?:end|ended|ends) in a tie\b",
    r"\btie (?:the knot|break)\b",
))

_DETERMINERS = _words("a an the this that these those some")
_OTHER_POSSESSIVES = _words("my your our their its")
_SKIP = _words("own same one")  # "her own coat", "the same green raincoat"
#: verbs of dressing; two-word ones need their particle next to the verb
_WEAR_VERBS = _words("""
    wore wear wears wearing donned dons buttoned unbuttoned zipped unzipped doffed pulled
    tugged buttoning unbuttoning
""")
_WEAR_PHRASES = frozenset(tuple(pair.split()) for pair in _phrases("""
    put on, puts on, putting on, pulled on, pulls on, pulling on, pulled off, pulling off,
    took off, takes off, taking off, taken off, stripped off, strips off, stripping off,
    shrugged on, shrugged off, shrugged into, slipped on, slipped off, slipped into,
    changed into, dressed in, kicked off, tugged on, tugged off, hung up, had on
"""))
_FUNCTION = _words("""
    and or but nor with without in on at to from of off up down over under into onto out round
    around across against behind beside by for as that which who whom whose was were is are be
    been had has have did do does still too then while when where until than so if though
    because before after again back away now only just not tight tighter open closed flat
    loose about through across along he she it they we you i me him her us them his its their
    our your my a an the this these those there here no
""")
_PRONOUNS = {"he": "he", "him": "he", "himself": "he", "his": "he",
             "she": "she", "her": "she", "herself": "she", "hers": "she"}
_NEUTRAL_PRONOUNS = _words("they them themselves i we you us me")
_SUBORDINATE = _words("""
    who whom whose which that as while when whenever because though although until unless
    if where whereas since once
""")
#: words for a person other than the one named: their garment cannot be told from hers
PEOPLE = _words("""
    man men woman women boy boys girl girls lad lads lass child children kid kids baby
    mother father mum mam dad brother sister son daughter wife husband uncle aunt gran granny
    grandmother grandfather grandad nan cousin friend friends stranger strangers driver
    farmer vicar minister doctor vet nurse sergeant constable officer officers policeman
    policewoman waiter waitress chef porter fisherman fishermen landlord landlady owner
    partner colleague neighbour teacher priest lady ladies gentleman fellow person people
    player players guest guests visitor visitors customer customers passenger crowd team
    someone somebody anyone anybody everyone everybody nobody others another other girlfriend
    boyfriend
""")

_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['\u2019\-](?=[^\W\d_]))*|\d+|[^\s\w]", re.U)
_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")
_OPEN_QUOTE = re.compile(r"[\"\u201c].*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"\u201c\u2018'(]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Revd|Capt|Sgt)\.$")


def sentences(text: str) -> list[list[str]]:
    """The text's sentences as tokens, quoted speech dropped (what is said is not seen).

    Per line, so a quotation left open at a paragraph's end (speech running on) takes only
    the rest of its own paragraph with it.
    """
    out: list[list[str]] = []
    for line in text.splitlines():
        narration = _OPEN_QUOTE.sub("", _QUOTED.sub(" ", line))
        carry = ""
        for part in _SENTENCE_END.split(narration):
            if _ABBREVIATION.search(part):
                carry += part + " "
                continue
            tokens = _TOKEN.findall(carry + part)
            carry = ""
            if tokens:
                out.append(tokens)
    return out


def _base(token: str) -> tuple[str, bool]:
    """``"Ruth's"`` -> ("Ruth", True): the word and whether it is a possessive."""
    for suffix in ("'s", "\u2019s"):
        if token.endswith(suffix) and len(token) > 2:
            return token[: -len(suffix)], True
    return token, False


@dataclass(frozen=True)
class Mention:
    """A character named in a sentence: tokens ``start``..``end`` (exclusive)."""

    start: int
    end: int
    ids: frozenset[str]
    exact: bool  # the full name or an alias, not one word of a longer name
    possessive: bool


class Names:
    """The story's characters by the names and aliases the architect gave them.

    Only capitalised names of two letters or more count ("the" and "H." as aliases are noise
    of an extraction); one word of a longer name ("Pugh", "Hotel") is a mention too, of every
    character it could be, so that a sentence naming someone by surname alone is not taken
    for a sentence naming one person.
    """

    def __init__(self, names: Mapping[str, str]) -> None:
        self.full: dict[tuple[str, ...], str] = {}
        self.words: dict[str, set[str]] = {}
        for name, cid in names.items():
            words = tuple(w for w in _TOKEN.findall(name.strip()))
            letters = "".join(words).replace(".", "")
            if not words or not words[0][:1].isupper() or len(letters) < 2 or (
                    len(letters) <= 2 and name.strip().endswith(".")):
                continue
            self.full.setdefault(words, cid)
            for word in words:
                if word[:1].isupper() and len(word) >= 3:
                    self.words.setdefault(word, set()).add(cid)
        self._longest = max((len(k) for k in self.full), default=0)

    def find(self, tokens: list[str]) -> list[Mention]:
        """Every character named in ``tokens``, full names before single words."""
        found: list[Mention] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                *head, last = tokens[i:i + size]
                word, possessive = _base(last)
                cid = self.full.get((*head, word))
                if cid is not None:
                    found.append(Mention(i, i + size, frozenset({cid}), True, possessive))
                    i += size
                    break
            else:
                word, possessive = _base(tokens[i])
                if word in self.words:
                    found.append(Mention(i, i + 1, frozenset(self.words[word]), False,
                                         possessive))
                i += 1
        return found


class Pronouns:
    """How the story refers to each character: "he", "she", "mixed" or "unknown".

    Counted in the sentences that name only that character, after the name, and without the
    object forms ("him", "behind her"), which are mostly someone else ("Sam looked at her"):
    he/his/himself against she/her (possessive)/hers/herself. Clear when one side has at
    least twice the other; "unknown" with none at all, "mixed" otherwise.
    """

    def __init__(self, names: Names, texts: Iterable[str]) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        for text in texts:
            for tokens in sentences(text):
                mentions = names.find(tokens)
                ids = {cid for m in mentions for cid in m.ids}
                if len(ids) != 1:
                    continue
                counts = self.counts.setdefault(ids.pop(), {"he": 0, "she": 0})
                for k in range(min(m.end for m in mentions), len(tokens)):
                    word = tokens[k].lower()
                    if word == "him" or (word == "her" and not _possessive_her(tokens, k)):
                        continue
                    if word in _PRONOUNS:
                        counts[_PRONOUNS[word]] += 1

    def of(self, cid: str) -> str:
        counts = self.counts.get(cid, {"he": 0, "she": 0})
        he, she = counts["he"], counts["she"]
        if he == she == 0:
            return "unknown"
        if he >= 2 * she:
            return "he"
        if she >= 2 * he:
            return "she"
        return "mixed"

    def allows(self, cid: str, pronoun: str, *, next_to_name: bool) -> bool:
        """Whether ``pronoun`` (his/her) may refer to the character: never against a clear
        pronoun, and with a mixed one only ``next_to_name`` ("Fiona in her apron")."""
        gender = self.of(cid)
        return gender in ("unknown", _PRONOUNS[pronoun]) or (next_to_name and gender == "mixed")


def _idiom_tokens(tokens: list[str]) -> set[int]:
    """Indices of the tokens inside an idiom or a non-garment sense."""
    lowered = [t.lower().replace("\u2019", "'") for t in tokens]
    lowered = [f"{b} 's" if p else b for b, p in (_base(t) for t in lowered)]
    joined = " ".join(lowered)
    starts, pos = [], 0
    for token in lowered:
        starts.append(pos)
        pos += len(token) + 1
    marked: set[int] = set()
    for pattern in IDIOMS:
        for match in pattern.finditer(joined):
            marked.update(i for i, s in enumerate(starts) if match.start() <= s < match.end())
    return marked


def _is_head(tokens: list[str], i: int) -> bool:
    """Whether the garment word at ``i`` ends its noun phrase ("coat," not "uniform grey")."""
    if i + 1 >= len(tokens) or not tokens[i + 1][:1].isalpha():
        return True
    after = tokens[i + 1]
    word = after.lower()
    return (word in _FUNCTION or word in _PARTS or word.endswith(("ly", "ed", "ing"))
            or after[:1].isupper())


def _is_modifier(token: str) -> bool:
    """A word that may stand between a determiner and a garment ("long", "waxed", "tweed")."""
    word = token.lower()
    return (token[:1].islower() and not _base(token)[1] and word not in _FUNCTION
            and word not in _WEAR_VERBS and word not in PEOPLE and word not in _SKIP)


@dataclass
class _Phrase:
    """A garment's noun phrase: the item's words and the token that introduces it."""

    item: str
    #: index of the word before the modifiers (a determiner, possessive, "in", a verb), or -1
    anchor: int


def _phrase(tokens: list[str], i: int) -> _Phrase | None:
    """The noun phrase ending at garment ``i``; None for a run of words it cannot read."""
    modifiers: list[str] = []
    j = i - 1
    while j >= 0 and _is_modifier(tokens[j]):
        if len(modifiers) == 4:
            return None
        modifiers.insert(0, tokens[j])
        j -= 1
    while j >= 0 and tokens[j].lower() in _SKIP:
        j -= 1
    if j >= 1 and tokens[j].lower() == "of" and tokens[j - 1].lower() == "pair":
        j -= 2  # "a pair of enormous wellingtons"
    return _Phrase(item=" ".join([*modifiers[-2:], tokens[i]]), anchor=j)


def _possessive_her(tokens: list[str], k: int) -> bool:
    """Whether "her" at ``k`` is a possessive ("her coat", "her own cup"), not an object
    ("behind her", "gave her a coat")."""
    after = tokens[k + 1] if k + 1 < len(tokens) else ""
    return after[:1].isalpha() and after.lower() not in _FUNCTION


def _blocked(tokens: list[str], lo: int, hi: int, mentions: list[Mention], *,
             strict: bool, gender: str | None = None) -> bool:
    """Whether tokens ``lo``..``hi`` hold someone else who could own a garment after them.

    Always: a word for another person, or a capitalised word that is no character, no title
    right before one ("PC Owen Jenkins") and no thing ("the Land Rover"). ``gender`` (a
    his/her's): a pronoun of that gender that is no possessive. ``strict`` (a verb's subject):
    any pronoun but a possessive, and any subordinate clause ("as", "while", "who").
    """
    named = {k for m in mentions for k in range(m.start, m.end)}
    titles = {m.start - 1 for m in mentions}
    for k in range(max(lo, 0), hi):
        token, word = tokens[k], tokens[k].lower()
        if k in named or k in titles or not token[:1].isalpha():
            continue
        if _base(word)[0] in PEOPLE:  # "the man", "her mother's funeral"
            return True
        before = tokens[k - 1] if k > 0 else ""
        if token[:1].isupper() and k > 0 and word != "i" and not (
                before.lower() in _DETERMINERS | _OTHER_POSSESSIVES | {"his", "her"}
                or (before[:1].isupper() and k - 1 not in named)):
            return True
        possessive = word == "his" or (word == "her" and _possessive_her(tokens, k))
        if gender and _PRONOUNS.get(word) == gender and not possessive:
            return True
        if strict and (word in _SUBORDINATE or word in _NEUTRAL_PRONOUNS
                       or (word in _PRONOUNS and not possessive)):
            return True
    return False


def _wear_verb(tokens: list[str], k: int) -> int | None:
    """The first token of a verb of dressing that ends at ``k``, if one does."""
    if k >= 1 and (tokens[k - 1].lower(), tokens[k].lower()) in _WEAR_PHRASES:
        return k - 1
    if k >= 0 and tokens[k].lower() in _WEAR_VERBS:
        return k
    return None


def sentence_items(tokens: list[str], names: Names, cast: set[str],
                   pronouns: Pronouns) -> list[tuple[str, str]]:
    """``(character id, item)`` for each garment the sentence gives one cast member."""
    mentions = names.find(tokens)
    ids = {cid for m in mentions for cid in m.ids}
    if len(ids) != 1 or not ids <= cast or not any(m.exact for m in mentions):
        return []
    (cid,) = ids
    idioms = _idiom_tokens(tokens)
    out: list[tuple[str, str]] = []
    last = -1  # the previous garment given to the character
    for i, token in enumerate(tokens):
        if (token not in SINGLE and token not in PAIRED) or i in idioms \
                or not _is_head(tokens, i):
            continue
        phrase = _phrase(tokens, i)
        if phrase is not None and _owned(tokens, phrase.anchor, mentions, cid, pronouns, last):
            out.append((cid, phrase.item))
            last = i
    return out


def _owned(tokens: list[str], a: int, mentions: list[Mention], cid: str,
           pronouns: Pronouns, last: int) -> bool:
    """Whether the garment whose phrase follows token ``a`` is the named character's."""
    if a < 0:
        return False
    word, possessive = _base(tokens[a])
    if possessive:  # "Ruth's coat", never "her father's coat"
        return any(m.start <= a < m.end and m.possessive and m.exact for m in mentions)
    anchor = word.lower()
    names = [m for m in mentions if m.exact and m.end <= a]
    if anchor in _OTHER_POSSESSIVES or not names:
        return False  # "their coats", or the garment comes before the name
    pronoun = anchor if anchor in ("his", "her") else None
    name, gender = names[-1], _PRONOUNS[pronoun] if pronoun else None
    pre = a - 1 if anchor in _DETERMINERS or pronoun else a  # the word that opens the phrase
    opener = tokens[pre].lower() if pre >= 0 else ""
    # "in jeans and a fleece": the owner of the garment before "and"
    joined = last >= 0 and ((last == pre - 1 and opener in ("and", ","))
                            or (last == pre - 2 and tokens[pre - 1:pre + 1] == [",", "and"]))
    # "Tuck in his dark suit", "Fiona, in her apron"
    adjacent = opener == "in" and (name.end == pre or (name.end == pre - 1
                                                       and tokens[pre - 1] == ","))
    if pronoun and not pronouns.allows(cid, pronoun, next_to_name=joined or adjacent):
        return False
    if joined:
        return True
    before = not _blocked(tokens, 0, name.start, mentions, strict=False, gender=gender)
    if adjacent:
        return before
    # "Danny came at ten, in a good coat"
    if opener == "in" and pre >= 1 and tokens[pre - 1] == "," and name.start == 0:
        return before and not _blocked(tokens, name.end, pre, mentions, strict=True,
                                       gender=gender)
    # "Ruth stripped off her coat, pulled a long glove up"
    verb = _wear_verb(tokens, pre)
    if verb is not None and not _blocked(tokens, name.end, verb, mentions, strict=True,
                                         gender=gender):
        return before
    # "Tom had come in behind her, with the cold still on his jumper"
    if pronoun:
        return before and not _blocked(tokens, name.end, a, mentions, strict=False,
                                       gender=gender)
    return False


MAX_PER_CHARACTER = 3


@functools.lru_cache(maxsize=8)
def _reading(names: tuple[tuple[str, str], ...], texts: tuple[str, ...]) -> tuple[Names, Pronouns]:
    """The names and pronouns of a story, read once for all its scenes (a plan asks once per
    scene, and counting pronouns reads the whole story)."""
    index = Names(dict(names))
    return index, Pronouns(index, texts)


def scene_wardrobe(text: str, cast: Iterable[str], names: Mapping[str, str],
                   story_texts: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(character id, item)`` the scene's ``text`` states, in text order.

    ``names`` maps every name and alias of the story's characters to an id; ``cast`` holds the
    ids of the scene's characters; ``story_texts`` (the whole story, else the scene) is where
    each character's pronoun is counted. At most ``MAX_PER_CHARACTER`` items per character,
    one per garment (the first wording of it).
    """
    index, pronouns = _reading(tuple(names.items()), tuple(story_texts) or (text,))
    members = set(cast)
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for tokens in sentences(text):
        for cid, item in sentence_items(tokens, index, members, pronouns):
            garment = item.split()[-1].lower()
            if (cid, garment) in seen or sum(c == cid for c, _ in out) >= MAX_PER_CHARACTER:
                continue
            seen.add((cid, garment))
            out.append((cid, item))
    return out
