"""The crew's agents and tasks as crewAI users write them: ``config/agents.yaml`` and
``config/tasks.yaml`` inside the package, overridden key by key from a folder named by
``NOVELCREW_ARCHITECT_CONFIG_DIR`` (either file may be left out).

Loaded and checked without crewAI (``novelcrew.crewai.yaml_config``), so a broken edit fails
the job with a clear message instead of half-way through a kickoff.
"""

from __future__ import annotations

from functools import lru_cache

from novelcrew import Settings
from novelcrew.crewai.yaml_config import CrewTexts, load_crew_yaml
from novelcrew_architect.settings import config_dir

#: the variable ArchitectSettings.config_dir reads
CONFIG_DIR_ENV = "NOVELCREW_ARCHITECT_CONFIG_DIR"
ANALYST = "story_structure_analyst"
ARCHITECT = "knowledge_graph_architect"
ANALYSE_TASK = "analyse_chunk"
SYNTHESIS_TASK = "synthesise_story"
#: the architect's texts, as every crew's YAML is loaded
CrewConfig = CrewTexts


def load_config(settings: Settings | None = None) -> CrewConfig:
    """Read and check both YAML files (cached per config folder), the folder from
    ``settings`` (a job's) or the environment."""
    return _load(config_dir(settings))


@lru_cache(maxsize=8)
def _load(folder: str) -> CrewConfig:
    # crewAI fills the placeholders at kickoff; the story's text must have its place
    return load_crew_yaml("novelcrew_architect", agents=(ANALYST, ARCHITECT),
                          tasks=(ANALYSE_TASK, SYNTHESIS_TASK), override_dir=folder or None,
                          default_agents={ANALYSE_TASK: ANALYST, SYNTHESIS_TASK: ARCHITECT},
                          required={ANALYSE_TASK: ("chunk_text",),
                                    SYNTHESIS_TASK: ("analysis_summary",)})
