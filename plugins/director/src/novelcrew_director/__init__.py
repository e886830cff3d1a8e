"""novelcrew director plugin: from a story's scenes to a shootable, shot-by-shot plan."""

from novelcrew_director.inputs import Constraints, DirectorInput, Preferences
from novelcrew_director.models import (
    FailedScene,
    ModelInfo,
    PlannedScene,
    PlanWarning,
    ScenePlan,
    Shot,
    Totals,
)

__all__ = [
    "Constraints",
    "DirectorInput",
    "FailedScene",
    "ModelInfo",
    "PlanWarning",
    "PlannedScene",
    "Preferences",
    "ScenePlan",
    "Shot",
    "Totals",
]
