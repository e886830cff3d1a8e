"""novelcrew-payload: Novel Movie's Payload CMS (projects, stories) as tools and an observer."""

from novelcrew_payload.client import PayloadClient
from novelcrew_payload.config import PayloadConfig, payload_config
from novelcrew_payload.enums import ProjectStatus, StoryStatus, WorkflowStep
from novelcrew_payload.errors import (
    PayloadAuthError,
    PayloadCollectionNotFound,
    PayloadError,
    PayloadNotFound,
    PayloadUnavailable,
    PayloadValidationError,
)
from novelcrew_payload.observer import PayloadSyncError

__all__ = [
    "PayloadAuthError",
    "PayloadClient",
    "PayloadCollectionNotFound",
    "PayloadConfig",
    "PayloadError",
    "PayloadNotFound",
    "PayloadSyncError",
    "PayloadUnavailable",
    "PayloadValidationError",
    "ProjectStatus",
    "StoryStatus",
    "WorkflowStep",
    "payload_config",
]
