"""novelcrew storyboard plugin: a visual bible and generation-ready prompts for every shot."""

from novelcrew_storyboard.inputs import StoryboardInput, StyleHints
from novelcrew_storyboard.models import (
    CharacterLook,
    Clip,
    LocationLook,
    Storyboard,
    StoryboardScene,
    StoryboardShot,
    StoryboardWarning,
    StyleGuide,
    Trait,
    VisualBible,
)

__all__ = [
    "CharacterLook",
    "Clip",
    "LocationLook",
    "Storyboard",
    "StoryboardInput",
    "StoryboardScene",
    "StoryboardShot",
    "StoryboardWarning",
    "StyleGuide",
    "StyleHints",
    "Trait",
    "VisualBible",
]
