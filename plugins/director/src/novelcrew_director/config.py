"""The agents' and tasks' texts, from ``config/*.yaml`` as crewAI users expect.

The YAML ships as package data (read with ``importlib.resources``). Setting
``NOVELCREW_DIRECTOR_CONFIG_DIR`` to a folder holding an ``agents.yaml`` and/or ``tasks.yaml``
overrides the shipped texts key by key, so a studio can retune the prompts without forking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from novelcrew import Settings
from novelcrew.crewai.yaml_config import CrewTexts, load_crew_yaml
from novelcrew_director.settings import config_dir

CONFIG_DIR_ENV = "NOVELCREW_DIRECTOR_CONFIG_DIR"
AGENT_KEYS = {
    "Scene Analysis Director": "scene_analysis_director",
    "Cinematography Specialist": "cinematography_specialist",
}
TASK_KEYS = ("scene_breakdown", "shot_list")
#: sampling per task: a close, grounded reading for the breakdown, a little more freedom for
#: the shots. A job's ``config: {"temperature": ..., "max_tokens": ...}`` (every task) and,
#: over it, ``config: {"tasks": {"shot_list": {"temperature": ...}}}`` (one task) win over
#: these (core's rule: the most specific setting wins, ``novelcrew.llm.sampling``)
TASK_SETTINGS: dict[str, dict[str, Any]] = {
    "scene_breakdown": {"temperature": 0.3, "max_tokens": 4000},
    "shot_list": {"temperature": 0.5, "max_tokens": 4000},
}
PLACEHOLDERS = ("scene_number", "scene_context", "breakdown", "feedback", "schema", "language")
#: the director's texts, as every crew's YAML is loaded (``novelcrew.crewai.yaml_config``)
DirectorConfig = CrewTexts


def load_config(override_dir: str | Path | None = None,
                settings: Settings | None = None) -> DirectorConfig:
    """The shipped texts, overridden by ``override_dir`` (or the ``config_dir`` of
    ``settings``' ``[plugin_config.director]``, or ``$NOVELCREW_DIRECTOR_CONFIG_DIR``)."""
    return load_crew_yaml("novelcrew_director", agents=AGENT_KEYS.values(), tasks=TASK_KEYS,
                          override_dir=override_dir or config_dir(settings) or None,
                          placeholders=PLACEHOLDERS)
