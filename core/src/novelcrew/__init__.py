"""novelcrew: an AI-agent job server that turns stories into film production plans."""

from novelcrew.context import RunContext, ToolContext
from novelcrew.hookspecs import hookimpl
from novelcrew.jobs import Job, JobCreate, JobEvent, JobStatus
from novelcrew.specs import Crew, Health, JobBackendSpec, Model, Tool

__all__ = [
    "Crew",
    "Health",
    "Job",
    "JobBackendSpec",
    "JobCreate",
    "JobEvent",
    "JobStatus",
    "Model",
    "RunContext",
    "Tool",
    "ToolContext",
    "hookimpl",
]
