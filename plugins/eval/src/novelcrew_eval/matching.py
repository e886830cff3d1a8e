"""How names, items, lines and positions are compared (the rules docs/quality.md states).

Names are *normalised* before any comparison: Unicode NFKC, lower case, curly quotes made
straight, possessive "'s" dropped, every run of non-letters/digits a single space, and leading
articles (the, a, an) removed. Token comparisons also drop honorifics (Mr, Mrs, Dr, ...), small
words (of, in, at, ...) and a plural "s"; looks also drop pronouns, "was" and hedges ("about",
"very"), so "his glasses" matches "rimless glasses" and "perhaps forty" matches "forty".
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence

__all__ = [
    "Sentences",
    "content_tokens",
    "line_key",
    "lines_match",
    "looks_match",
    "match_name",
    "names_match",
    "normalise",
    "quote_normalise",
]

_ARTICLES = {"the", "a", "an"}
_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "doctor", "sir", "madam", "mister", "prof"}
_SMALL = _ARTICLES | {"of", "in", "at", "on", "to", "and", "by", "for", "with", "from", "s"}
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u00a0": " ", "\u2014": "-", "\u2013": "-"})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def quote_normalise(text: str) -> str:
    """Straight quotes, plain dashes and single spaces: what "verbatim" forgives."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).split())


def normalise(name: str) -> str:
    """A name as compared: 'The Harbour Café' and "harbour cafe's" give 'harbour cafe'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = text.translate(_QUOTES).lower()
    text = re.sub(r"'s\b", "", text)
    words = _NON_WORD.sub(" ", text).split()
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_tokens(name: str) -> frozenset[str]:
    """The words of a name that carry meaning (no articles, honorifics, small words)."""
    return frozenset(
        _stem(w) for w in normalise(name).split() if w not in _SMALL and w not in _HONORIFICS
    )


def names_match(a: str, b: str) -> bool:
    """Equal once normalised, or the words of one are all among the words of the other."""
    if normalise(a) == normalise(b):
        return True
    ta, tb = content_tokens(a), content_tokens(b)
    return bool(ta) and bool(tb) and (ta <= tb or tb <= ta)


def match_name(names: Iterable[str], candidates: Sequence[Sequence[str]]) -> int | None:
    """The index of the candidate (a list of a person's names) that ``names`` refers to.

    An exact match (normalised) on any name wins; otherwise a partial one ("Amati" for
    "Rosa Amati": all words of one name among the words of a candidate's name) counts only
    when exactly one candidate fits, so a shared surname never picks a person at random.
    """
    names = [n for n in names if n and n.strip()]
    wanted = {normalise(n) for n in names}
    exact = [i for i, cand in enumerate(candidates) if wanted & {normalise(c) for c in cand}]
    if exact:
        return exact[0]
    partial = [
        i for i, cand in enumerate(candidates)
        if any(_partial(n, c) for n in names for c in cand)
    ]
    return partial[0] if len(partial) == 1 else None


def _partial(a: str, b: str) -> bool:
    ta, tb = content_tokens(a), content_tokens(b)
    return bool(ta) and bool(tb) and (ta <= tb or tb <= ta)


#: words that say whose a look is or how sure the teller is, not what it looks like
_LOOK_FILLER = {"he", "she", "him", "his", "her", "hers", "their", "its", "they", "was", "were",
                "is", "are", "had", "has", "have", "very", "about", "around", "perhaps", "maybe",
                "roughly", "nearly", "almost", "some", "that"}


def looks_match(a: str, b: str) -> bool:
    """The same look: the content words of one are all among the other's ('white hair' and
    'white hair cut short', 'his glasses' and 'rimless glasses'; 'grey eyes' and 'grey hair'
    are not). Pronouns, "was" and hedges are not content here: they say whose the look is or
    how sure the teller is, and a bible's value is written about the one person anyway."""
    ta, tb = (content_tokens(x) - _LOOK_FILLER for x in (a, b))
    return bool(ta) and bool(tb) and (ta <= tb or tb <= ta)


def line_key(line: str) -> str:
    """A line of dialogue as compared: words only, lower case."""
    return " ".join(_NON_WORD.sub(" ", quote_normalise(line).lower()).split())


def lines_match(gold: str, result: str) -> bool:
    """The same line: one contains the other and the shorter is at least 60% of the longer."""
    g, r = line_key(gold), line_key(result)
    if not g or not r:
        return False
    short, long = sorted((g, r), key=len)
    return short in long and len(short) >= 0.6 * len(long)


_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\n\s*\n")


class Sentences:
    """Sentence starts of a text, to measure distances between positions in sentences."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]

    def index(self, offset: int) -> int:
        """The number of the sentence that holds character ``offset`` (from 0)."""
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def __len__(self) -> int:
        return len(self.starts)
