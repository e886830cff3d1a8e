"""A crew's agents and tasks as crewAI users write them: ``config/agents.yaml`` and
``config/tasks.yaml`` in the plugin's package, overridable from a folder without a fork.

One loader for every plugin that builds its crewAI agents and tasks per job (a crew made with
``@CrewBase`` reads its YAML itself). The files are read and checked without importing crewAI,
so a broken edit fails the job with a message naming the file and the key, not half-way
through a kickoff.

An override folder may hold an ``agents.yaml`` and/or a ``tasks.yaml``; each entry in it
replaces the shipped entry's fields one by one, so a studio retunes one backstory by writing
just that field::

    texts = load_crew_yaml("my_plugin", agents=["writer"], tasks=["draft"],
                           override_dir=settings.config_dir, placeholders=["story"])
    description, expected = texts.tasks["draft"].render(story=text)

Placeholders are ``{name}`` for the names given; other braces (JSON examples in a prompt) stay
as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from novelcrew.errors import PluginError

__all__ = ["AgentText", "CrewTexts", "TaskText", "fill", "load_crew_yaml"]

AGENT_FIELDS = ("role", "goal", "backstory")
TASK_FIELDS = ("description", "expected_output")


@dataclass(frozen=True)
class AgentText:
    """One agent's texts (``agents.yaml`` entry ``key``)."""

    key: str
    role: str
    goal: str
    backstory: str


@dataclass(frozen=True)
class TaskText:
    """One task's texts (``tasks.yaml`` entry ``key``) and the key of its agent."""

    key: str
    description: str
    expected_output: str
    agent: str
    #: the ``{name}`` placeholders ``render`` fills (empty: the names passed to it)
    placeholders: tuple[str, ...] = ()

    def render(self, **values: str) -> tuple[str, str]:
        """Description and expected output with the placeholders filled (a missing value is
        left empty)."""
        names = self.placeholders or tuple(values)
        return fill(self.description, values, names), fill(self.expected_output, values, names)


@dataclass(frozen=True)
class CrewTexts:
    """Every agent's and task's texts of one crew, and the files they came from."""

    agents: dict[str, AgentText]
    tasks: dict[str, TaskText]
    source: str

    def agent(self, key: str) -> AgentText:
        return self.agents[key]

    def role(self, task: str) -> str:
        """The role of the agent that does ``task``."""
        return self.agents[self.tasks[task].agent].role

    def task_template(self, task: str) -> str:
        """Everything of a task and its agent that goes into a prompt (for token budgets)."""
        text, agent = self.tasks[task], self.agents[self.tasks[task].agent]
        return "\n".join((agent.role, agent.goal, agent.backstory, text.description,
                          text.expected_output))


def fill(template: str, values: Mapping[str, Any], names: Iterable[str] | None = None) -> str:
    """Replace ``{name}`` for ``names`` (default: the keys of ``values``) and nothing else."""
    wanted = tuple(values if names is None else names)
    if not wanted:
        return template
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, wanted)) + r")\}")
    return pattern.sub(lambda m: str(values.get(m.group(1), "")), template)


def _read(package: str, name: str, folder: Path | None) -> tuple[dict[str, Any], str]:
    """The shipped file's entries, with the folder's entries laid over them field by field."""
    shipped = files(package).joinpath("config", name)
    data = _parse(shipped.read_text(encoding="utf-8"), f"{package}/config/{name}")
    source = f"{package}/config/{name}"
    if folder is not None and (folder / name).is_file():
        source = str(folder / name)
        for key, value in _parse((folder / name).read_text(encoding="utf-8"), source).items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    return data, source


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PluginError(f"{source} is not valid YAML: {exc}", {"file": source}) from exc
    if not isinstance(data, dict):
        raise PluginError(f"{source} must map keys to entries", {"file": source})
    return data


def _entry(raw: dict[str, Any], key: str, fields: tuple[str, ...], source: str
           ) -> dict[str, str]:
    entry = raw.get(key)
    if not isinstance(entry, dict):
        raise PluginError(f"{source}: missing entry {key!r}", {"file": source, "key": key})
    text = {f: str(entry[f]).strip() for f in fields if entry.get(f) is not None}
    missing = [f for f in fields if not text.get(f)]
    if missing:
        raise PluginError(f"{source}: {key!r} lacks {', '.join(missing)}",
                          {"file": source, "key": key, "missing": missing})
    return text


def load_crew_yaml(package: str, *, agents: Iterable[str], tasks: Iterable[str],
                   override_dir: str | Path | None = None, placeholders: Iterable[str] = (),
                   required: Mapping[str, Iterable[str]] | None = None,
                   default_agents: Mapping[str, str] | None = None) -> CrewTexts:
    """Read ``<package>/config/{agents,tasks}.yaml``, overridden from ``override_dir``.

    ``agents`` and ``tasks`` are the keys the crew uses (other entries are ignored); each
    needs its texts, and each task an ``agent`` that is one of them (``default_agents`` gives
    one where the YAML names none). ``required`` names placeholders a task's description must
    keep (an edit that drops the story text's placeholder would send prompts without it).
    Any problem is a ``PluginError`` naming the file and the key.
    """
    folder = Path(override_dir).expanduser() if override_dir else None
    agents_raw, agents_src = _read(package, "agents.yaml", folder)
    tasks_raw, tasks_src = _read(package, "tasks.yaml", folder)
    names = tuple(placeholders)
    agent_texts = {key: AgentText(key=key, **_entry(agents_raw, key, AGENT_FIELDS, agents_src))
                   for key in agents}
    task_texts: dict[str, TaskText] = {}
    for key in tasks:
        text = _entry(tasks_raw, key, TASK_FIELDS, tasks_src)
        agent = str(tasks_raw[key].get("agent") or "").strip() \
            or (default_agents or {}).get(key, "")
        if agent not in agent_texts:
            raise PluginError(f"{tasks_src}: task {key!r} names unknown agent {agent!r}",
                              {"file": tasks_src, "task": key})
        task_texts[key] = TaskText(key=key, agent=agent, placeholders=names, **text)
    for key, needed in (required or {}).items():
        for name in needed:
            if "{" + name + "}" not in task_texts[key].description:
                raise PluginError(f"{tasks_src}: task {key!r} must contain {{{name}}}",
                                  {"file": tasks_src, "task": key})
    return CrewTexts(agents=agent_texts, tasks=task_texts, source=f"{agents_src}, {tasks_src}")
