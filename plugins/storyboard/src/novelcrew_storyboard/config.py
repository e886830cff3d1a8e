"""The agents' and tasks' texts, from ``config/*.yaml`` as crewAI users expect.

``NOVELCREW_STORYBOARD_CONFIG_DIR`` (the ``config_dir`` setting) may name a folder with an
``agents.yaml`` and/or ``tasks.yaml`` whose keys override the shipped ones, so a studio retunes
prompts without a fork.
"""

from __future__ import annotations

from pathlib import Path

from novelcrew.crewai.yaml_config import CrewTexts, load_crew_yaml

AGENT_KEYS = ("visual_development_artist", "storyboard_artist")
TASK_KEYS = ("character_looks", "location_looks", "style_guide", "shot_prompts")
PLACEHOLDERS = ("material", "ids", "feedback")
#: the storyboard's texts, as every crew's YAML is loaded (``novelcrew.crewai.yaml_config``)
StoryboardConfig = CrewTexts


def load_config(override_dir: str | Path | None = None) -> StoryboardConfig:
    """The shipped texts, overridden key by key by the YAML in ``override_dir``."""
    return load_crew_yaml("novelcrew_storyboard", agents=AGENT_KEYS, tasks=TASK_KEYS,
                          override_dir=override_dir, placeholders=PLACEHOLDERS)
