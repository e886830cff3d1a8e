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

from novelcrew.errors import PluginError
from novelcrew_director.settings import config_dir

CONFIG_DIR_ENV = "NOVELCREW_DIRECTOR_CONFIG_DIR"
AGENT_KEYS = {
    "Scene Analysis Director": "scene_analysis_director",
    "Cinematography Specialist": "cinematography_specialist",
}
TASK_KEYS = ("scene_breakdown", "shot_list")
PLACEHOLDERS = ("scene_number", "scene_context", "breakdown", "feedback")
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
