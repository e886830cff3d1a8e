"""novelcrew-eval: score story analyses against gold annotations (``novelcrew eval``)."""

from __future__ import annotations

from novelcrew_eval.gold import Gold, GoldError, LoadedGold, load_gold
from novelcrew_eval.result import ResultError
from novelcrew_eval.score import CHECKS, METRICS, StoryScore, overall, score

__all__ = [
    "CHECKS",
    "METRICS",
    "Gold",
    "GoldError",
    "LoadedGold",
    "ResultError",
    "StoryScore",
    "load_gold",
    "overall",
    "score",
]
