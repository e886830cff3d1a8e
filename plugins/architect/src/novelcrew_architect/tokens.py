"""Token estimates without a tokenizer: good enough to keep prompts under a budget.

Providers count English prose at roughly four characters or three quarters of a word a token;
taking the larger of the two keeps dense text (names, numbers, JSON) from slipping past.
"""

from __future__ import annotations

import math
import re

_WORD = re.compile(r"\S+")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def estimate_tokens(text: str) -> int:
    """An upper-leaning estimate of the tokens in ``text``."""
    if not text:
        return 0
    return max(math.ceil(len(text) / 4), math.ceil(count_words(text) * 4 / 3))


def tokens_to_chars(tokens: int) -> int:
    """Characters of prose that fit in ``tokens`` (the inverse of ``estimate_tokens``)."""
    return max(0, tokens * 4)
