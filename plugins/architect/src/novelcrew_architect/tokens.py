"""Token estimates without a tokenizer: good enough to keep prompts under a budget.

Providers count English prose at roughly four characters or three quarters of a word a token;
taking the larger of the two keeps dense text (names, numbers, JSON) from slipping past.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\S+")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def estimate_tokens(text: str) -> int:
    """An upper-leaning estimate of the tokens in ``text``."""
    if not text:
        return 0
    return tokens_for(len(text), count_words(text))


def tokens_for(chars: int, words: int) -> int:
    """``estimate_tokens`` of a text of ``chars`` characters and ``words`` words (for code
    that keeps running counts instead of re-reading a growing text)."""
    if chars <= 0:
        return 0
    return max(-(-chars // 4), -(-words * 4 // 3))


def tokens_to_chars(tokens: int) -> int:
    """Characters of prose that fit in ``tokens`` (the inverse of ``estimate_tokens``)."""
    return max(0, tokens * 4)
