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
from novelcrew.errors import InvalidInput
from novelcrew_director.inputs import whole_number
from novelcrew_director.settings import config_dir

CONFIG_DIR_ENV = "NOVELCREW_DIRECTOR_CONFIG_DIR"
AGENT_KEYS = {
    "Scene Analysis Director": "scene_analysis_director",
    "Cinematography Specialist": "cinematography_specialist",
}
TASK_KEYS = ("scene_breakdown", "shot_list")
#: sampling per task: a close, grounded reading for the breakdown, a little more freedom for
#: the shots; a job overrides them with ``config: {"temperature": ..., "max_tokens": ...}``
#: (every task) or ``config: {"tasks": {"shot_list": {"temperature": ...}}}`` (one task)
TASK_SETTINGS: dict[str, dict[str, Any]] = {
    "scene_breakdown": {"temperature": 0.3, "max_tokens": 4000},
    "shot_list": {"temperature": 0.5, "max_tokens": 4000},
}
PLACEHOLDERS = ("scene_number", "scene_context", "breakdown", "feedback", "schema", "language")
#: the director's texts, as every crew's YAML is loaded (``novelcrew.crewai.yaml_config``)
DirectorConfig = CrewTexts


def task_settings(config: Any, task_key: str) -> dict[str, Any]:
    """Temperature and max tokens for ``task_key``: the defaults, then the job's ``config``
    (top level, then ``tasks.<key>``); out-of-range values are an ``InvalidInput``."""
    settings: dict[str, Any] = dict(TASK_SETTINGS.get(task_key, {}))
    config = config if isinstance(config, dict) else dict(config or {})
    per_task = config.get("tasks")
    for layer in (config, per_task.get(task_key) if isinstance(per_task, dict) else None):
        if not isinstance(layer, dict):
            continue
        temperature = layer.get("temperature")
        max_tokens = whole_number(layer.get("max_tokens"))
        if temperature is not None:
            if isinstance(temperature, bool) or not isinstance(temperature, int | float) \
                    or not 0 <= temperature <= 2:
                raise InvalidInput(f"config temperature {temperature!r} is not a number in "
                                   "0-2", {"task": task_key})
            settings["temperature"] = float(temperature)
        if max_tokens is not None:
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) \
                    or max_tokens < 256:
                raise InvalidInput(f"config max_tokens {max_tokens!r} is not an integer of at "
                                   "least 256", {"task": task_key})
            settings["max_tokens"] = max_tokens
    return settings


def load_config(override_dir: str | Path | None = None,
                settings: Settings | None = None) -> DirectorConfig:
    """The shipped texts, overridden by ``override_dir`` (or the ``config_dir`` of
    ``settings``' ``[plugin_config.director]``, or ``$NOVELCREW_DIRECTOR_CONFIG_DIR``)."""
    return load_crew_yaml("novelcrew_director", agents=AGENT_KEYS.values(), tasks=TASK_KEYS,
                          override_dir=override_dir or config_dir(settings) or None,
                          placeholders=PLACEHOLDERS)
