"""The agents' and tasks' texts, from ``config/*.yaml`` as crewAI users expect.

The YAML ships as package data (read with ``importlib.resources``). Setting
``NOVELCREW_DIRECTOR_CONFIG_DIR`` to a folder holding an ``agents.yaml`` and/or ``tasks.yaml``
overrides the shipped texts key by key, so a studio can retune the prompts without forking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from novelcrew.errors import InvalidInput, PluginError
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
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


@dataclass(frozen=True)
class AgentText:
    role: str
    goal: str
    backstory: str


@dataclass(frozen=True)
class TaskText:
    description: str
    expected_output: str
    agent: str

    def render(self, **values: str) -> tuple[str, str]:
        """Description and expected output with the known placeholders filled in."""
        return fill(self.description, values), fill(self.expected_output, values)


@dataclass(frozen=True)
class DirectorConfig:
    agents: dict[str, AgentText]
    tasks: dict[str, TaskText]

    def agent(self, key: str) -> AgentText:
        return self.agents[key]


def task_settings(config: Any, task_key: str) -> dict[str, Any]:
    """Temperature and max tokens for ``task_key``: the defaults, then the job's ``config``
    (top level, then ``tasks.<key>``); out-of-range values are an ``InvalidInput``."""
    settings: dict[str, Any] = dict(TASK_SETTINGS.get(task_key, {}))
    config = config if isinstance(config, dict) else dict(config or {})
    per_task = config.get("tasks")
    for layer in (config, per_task.get(task_key) if isinstance(per_task, dict) else None):
        if not isinstance(layer, dict):
            continue
        temperature, max_tokens = layer.get("temperature"), layer.get("max_tokens")
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


def fill(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` for the known placeholders only; JSON braces stay as written."""
    return _PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), "")), template)


def _read(name: str, override_dir: Path | None) -> dict[str, Any]:
    shipped = files("novelcrew_director").joinpath("config", name).read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(shipped) or {}
    if override_dir is not None and (override_dir / name).is_file():
        try:
            extra = yaml.safe_load((override_dir / name).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise PluginError(f"{override_dir / name} is not valid YAML: {exc}") from exc
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    return data


def load_config(override_dir: str | Path | None = None) -> DirectorConfig:
    """The shipped texts, overridden by ``override_dir`` (or ``$NOVELCREW_DIRECTOR_CONFIG_DIR``)."""
    if override_dir is None:
        override_dir = config_dir() or None
    folder = Path(override_dir).expanduser() if override_dir else None
    agents_raw, tasks_raw = _read("agents.yaml", folder), _read("tasks.yaml", folder)
    try:
        agents = {
            key: AgentText(role=str(agents_raw[key]["role"]).strip(),
                           goal=str(agents_raw[key]["goal"]).strip(),
                           backstory=str(agents_raw[key]["backstory"]).strip())
            for key in AGENT_KEYS.values()
        }
        tasks = {
            key: TaskText(description=str(tasks_raw[key]["description"]).strip(),
                          expected_output=str(tasks_raw[key]["expected_output"]).strip(),
                          agent=str(tasks_raw[key]["agent"]).strip())
            for key in TASK_KEYS
        }
    except (KeyError, TypeError) as exc:
        raise PluginError(f"director config is missing {exc}; see the shipped YAML") from exc
    for key, task in tasks.items():
        if task.agent not in agents:
            raise PluginError(f"director task {key!r} names unknown agent {task.agent!r}")
    return DirectorConfig(agents=agents, tasks=tasks)
