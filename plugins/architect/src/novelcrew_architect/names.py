"""Telling when two names mean the same character or place.

Chunks of one story name people differently ("Dr. Maya Okafor", "Maya", "Okafor", "Dr. Okafor")
and places loosely ("the Harbour Café", "harbour cafe"). Names are compared by a normalised key:
no titles, accents, punctuation or leading articles, lower case.
"""

from __future__ import annotations

import re
import unicodedata

TITLES = frozenset({
    "dr", "doctor", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "lady",
    "lord", "madam", "madame", "mme", "mlle", "monsieur", "herr", "frau", "senor", "senora",
    "capt", "captain", "lt", "lieutenant", "sgt", "sergeant", "det", "detective", "inspector",
    "officer", "agent", "judge", "rev", "reverend", "father", "fr", "sister", "brother",
    "aunt", "auntie", "uncle", "grandma", "grandpa", "granny", "old", "young", "little",
    "king", "queen", "prince", "princess", "general", "colonel", "major", "nurse", "chief",
})
MALE_TITLES = frozenset({
    "mr", "sir", "lord", "king", "prince", "father", "fr", "brother", "uncle", "grandpa",
    "monsieur", "herr", "senor",
})
FEMALE_TITLES = frozenset({
    "mrs", "ms", "miss", "lady", "dame", "queen", "princess", "mother", "sister", "aunt",
    "auntie", "grandma", "granny", "madam", "madame", "mme", "mlle", "frau", "senora",
})
ARTICLES = frozenset({"the", "a", "an"})
SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"})


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"'s\b", "", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def name_tokens(name: str) -> tuple[str, ...]:
    """The tokens that identify a person: no titles, suffixes or articles."""
    tokens = [t for t in _fold(name).split() if t not in ARTICLES]
    core = [t for t in tokens if t not in TITLES and t not in SUFFIXES]
    # "Father" alone, "The Captain": the title is the name
    return tuple(core or tokens)


def name_key(name: str) -> str:
    return " ".join(name_tokens(name))


def place_key(name: str) -> str:
    """A place's key: folded, without leading articles ("The Old Mill" == "old mill")."""
    tokens = _fold(name).split()
    while tokens and tokens[0] in ARTICLES:
        tokens = tokens[1:]
    return " ".join(tokens)


def text_key(text: str) -> str:
    """Folded text for de-duplicating descriptions, themes and summaries."""
    return " ".join(_fold(text).split())


def has_title(name: str) -> bool:
    return any(t in TITLES for t in _fold(name).split())


def title_genders(name: str) -> set[str]:
    """``{"m"}``, ``{"f"}`` (or both, or none) from the gendered titles a name carries."""
    tokens = set(_fold(name).split())
    return ({"m"} if tokens & MALE_TITLES else set()) | ({"f"} if tokens & FEMALE_TITLES
                                                         else set())
