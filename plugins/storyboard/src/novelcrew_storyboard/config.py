"""The agents' and tasks' texts, from ``config/*.yaml`` as crewAI users expect.

``NOVELCREW_STORYBOARD_CONFIG_DIR`` (the ``config_dir`` setting) may name a folder with an
``agents.yaml`` and/or ``tasks.yaml`` whose keys override the shipped ones, so a studio retunes
prompts without a fork.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from novelcrew.errors import PluginError

AGENT_KEYS = ("visual_development_artist", "storyboard_artist")
TASK_KEYS = ("character_looks", "location_looks", "style_guide", "shot_prompts")
_PLACEHOLDER_RE = re.compile(r"\{(material|ids|feedback)\}")


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
        def fill(template: str) -> str:
            return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), ""), template)

        return fill(self.description), fill(self.expected_output)


@dataclass(frozen=True)
class StoryboardConfig:
    agents: dict[str, AgentText]
    tasks: dict[str, TaskText]

    def role(self, task: str) -> str:
        return self.agents[self.tasks[task].agent].role


def _read(name: str, folder: Path | None) -> dict[str, Any]:
    text = files("novelcrew_storyboard").joinpath("config", name).read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text) or {}
    if folder is not None and (folder / name).is_file():
        try:
            extra = yaml.safe_load((folder / name).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise PluginError(f"{folder / name} is not valid YAML: {exc}") from exc
        for key, value in extra.items():
            data[key] = {**data[key], **value} if isinstance(data.get(key), dict) \
                and isinstance(value, dict) else value
    return data


def load_config(override_dir: str | Path | None = None) -> StoryboardConfig:
    """The shipped texts, overridden key by key by the YAML in ``override_dir``."""
    folder = Path(override_dir).expanduser() if override_dir else None
    agents_raw, tasks_raw = _read("agents.yaml", folder), _read("tasks.yaml", folder)
    try:
        agents = {key: AgentText(*(str(agents_raw[key][f]).strip()
                                   for f in ("role", "goal", "backstory")))
                  for key in AGENT_KEYS}
        tasks = {key: TaskText(*(str(tasks_raw[key][f]).strip()
                                 for f in ("description", "expected_output", "agent")))
                 for key in TASK_KEYS}
    except (KeyError, TypeError) as exc:
        raise PluginError(f"storyboard config is missing {exc}; see the shipped YAML") from exc
    for key, task in tasks.items():
        if task.agent not in agents:
            raise PluginError(f"storyboard task {key!r} names unknown agent {task.agent!r}")
    return StoryboardConfig(agents=agents, tasks=tasks)
