"""The plugin as installed: listed by novelcrew, and a small public face."""

from __future__ import annotations

import novelcrew_eval
from novelcrew.plugins import load


def test_the_plugin_is_listed_with_its_hooks_and_crew() -> None:
    plugins = load(["eval"])
    info = plugins.infos["eval"]
    assert info.error is None
    assert info.hooks == ["register_commands", "register_crews"]
    assert info.crews == ["eval-judge"]


def test_the_public_names_are_exactly_the_intended_ones() -> None:
    assert set(novelcrew_eval.__all__) == {
        "CHECKS", "METRICS", "Gold", "GoldError", "LoadedGold", "ResultError", "StoryScore",
        "load_gold", "overall", "score",
    }
    assert all(hasattr(novelcrew_eval, name) for name in novelcrew_eval.__all__)
