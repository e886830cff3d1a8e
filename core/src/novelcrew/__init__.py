"""novelcrew: an AI-agent job server that turns stories into film production plans.

The names below are the public face for plugin authors and embedding apps (docs/hooks.md,
docs/plugin-author-guide.md); ``test_public_names_are_exactly_the_intended_ones`` keeps the list
exact. The public modules are listed in docs/hooks.md ("The public face"); the rest is internal
and may change without notice.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from novelcrew.context import RunContext, ToolContext
from novelcrew.errors import (
    ExportUnavailable,
    InvalidInput,
    JobCancelled,
    JobError,
    ModelError,
    NovelcrewError,
    RegistrationError,
    ToolMissing,
    TransientError,
)
from novelcrew.hookspecs import hookimpl
from novelcrew.jobs import Job, JobCreate, JobEvent, JobStatus
from novelcrew.settings import PluginSettings, Settings
from novelcrew.specs import Crew, Export, Health, JobBackendSpec, Model, Renderer, Tool

try:
    __version__ = _version("novelcrew")
except _PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Crew",
    "Export",
    "ExportUnavailable",
    "Health",
    "InvalidInput",
    "Job",
    "JobBackendSpec",
    "JobCancelled",
    "JobCreate",
    "JobError",
    "JobEvent",
    "JobStatus",
    "Model",
    "ModelError",
    "NovelcrewError",
    "PluginSettings",
    "RegistrationError",
    "Renderer",
    "RunContext",
    "Settings",
    "Tool",
    "ToolContext",
    "ToolMissing",
    "TransientError",
    "__version__",
    "hookimpl",
]
