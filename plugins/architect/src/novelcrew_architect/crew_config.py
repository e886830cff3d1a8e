"""The crew's agents and tasks as crewAI users write them: ``config/agents.yaml`` and
``config/tasks.yaml`` inside the package, or a folder named by
``NOVELCREW_ARCHITECT_CONFIG_DIR`` holding edited copies (either file may be left out).

Loaded and checked without crewAI, so a broken edit fails the job with a clear message
instead of half-way through a kickoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from novelcrew.errors import JobError
from novelcrew_architect.settings import config_dir

#: the variable ArchitectSettings.config_dir reads
CONFIG_DIR_ENV = "NOVELCREW_ARCHITECT_CONFIG_DIR"
ANALYST = "story_structure_analyst"
ARCHITECT = "knowledge_graph_architect"
ANALYSE_TASK = "analyse_chunk"
SYNTHESIS_TASK = "synthesise_story"
REQUIRED_AGENTS: dict[str, tuple[str, ...]] = {
    ANALYST: ("role", "goal", "backstory"),
    ARCHITECT: ("role", "goal", "backstory"),
}
REQUIRED_TASKS: dict[str, tuple[str, ...]] = {
    ANALYSE_TASK: ("description", "expected_output"),
    SYNTHESIS_TASK: ("description", "expected_output"),
}


@dataclass(frozen=True)
class AgentConfig:
    key: str
    role: str
    goal: str
    backstory: str


@dataclass(frozen=True)
class TaskConfig:
    key: str
    description: str
    expected_output: str
    agent: str


@dataclass(frozen=True)
class CrewConfig:
    agents: dict[str, AgentConfig]
    tasks: dict[str, TaskConfig]
    source: str

    def task_template(self, key: str) -> str:
        """Everything of a task and its agent that goes into a prompt (for token budgets)."""
        task = self.tasks[key]
        agent = self.agents[task.agent]
        return "\n".join((agent.role, agent.goal, agent.backstory, task.description,
                          task.expected_output))


def _read(name: str) -> tuple[dict[str, Any], str]:
    folder = config_dir()
    if folder and (Path(folder) / name).is_file():
        path = Path(folder) / name
        return yaml.safe_load(path.read_text("utf-8")) or {}, str(path)
    text = resources.files("novelcrew_architect").joinpath("config", name).read_text("utf-8")
    return yaml.safe_load(text) or {}, f"novelcrew_architect/config/{name}"


def _clean(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def load_config() -> CrewConfig:
    """Read and check both YAML files (cached per config folder)."""
    return _load(config_dir())


@lru_cache(maxsize=8)
def _load(_folder: str) -> CrewConfig:
    agents_raw, agents_src = _read("agents.yaml")
    tasks_raw, tasks_src = _read("tasks.yaml")
    for required, raw, src in ((REQUIRED_AGENTS, agents_raw, agents_src),
                               (REQUIRED_TASKS, tasks_raw, tasks_src)):
        for key, fields in required.items():
            entry = raw.get(key)
            if not isinstance(entry, dict):
                raise JobError(f"{src}: missing entry {key!r}", {"file": src, "key": key})
            missing = [f for f in fields if not _clean(entry.get(f))]
            if missing:
                raise JobError(f"{src}: {key!r} lacks {', '.join(missing)}",
                               {"file": src, "key": key, "missing": missing})
    agents = {
        key: AgentConfig(key=key, role=_clean(agents_raw[key]["role"]),
                         goal=_clean(agents_raw[key]["goal"]),
                         backstory=_clean(agents_raw[key]["backstory"]))
        for key in REQUIRED_AGENTS
    }
    defaults = {ANALYSE_TASK: ANALYST, SYNTHESIS_TASK: ARCHITECT}
    tasks = {
        key: TaskConfig(key=key, description=_clean(tasks_raw[key]["description"]),
                        expected_output=_clean(tasks_raw[key]["expected_output"]),
                        agent=_clean(tasks_raw[key].get("agent")) or defaults[key])
        for key in REQUIRED_TASKS
    }
    for task in tasks.values():
        if task.agent not in agents:
            raise JobError(f"{tasks_src}: task {task.key!r} names unknown agent {task.agent!r}",
                           {"file": tasks_src, "task": task.key})
    for key, placeholder in ((ANALYSE_TASK, "{chunk_text}"),
                             (SYNTHESIS_TASK, "{analysis_summary}")):
        if placeholder not in tasks[key].description:
            raise JobError(f"{tasks_src}: task {key!r} must contain {placeholder}",
                           {"file": tasks_src, "task": key})
    return CrewConfig(agents=agents, tasks=tasks, source=f"{agents_src}, {tasks_src}")
