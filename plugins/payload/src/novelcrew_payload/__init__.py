"""novelcrew-payload: Novel Movie's Payload CMS (projects, stories) as tools and an observer."""

from novelcrew_payload.config import PayloadConfig, PayloadSettings, payload_config
from novelcrew_payload.enums import ProjectStatus, StoryStatus, WorkflowStep
from novelcrew_payload.errors import (
    PayloadAuthError,
    PayloadBadId,
    PayloadCollectionNotFound,
    PayloadError,
    PayloadNotFound,
    PayloadUnavailable,
    PayloadValidationError,
)
from novelcrew_payload.observer import PayloadSyncError


def __getattr__(name: str) -> object:
    # the client imports httpx (about half a second): `novelcrew plugins` should not pay it
    if name == "PayloadClient":
        from novelcrew_payload.client import PayloadClient

        return PayloadClient
    raise AttributeError(name)


def __dir__() -> list[str]:
    return sorted({*globals(), "PayloadClient"})


__all__ = [
    "PayloadAuthError",
    "PayloadBadId",
    "PayloadClient",
    "PayloadCollectionNotFound",
    "PayloadConfig",
    "PayloadError",
    "PayloadNotFound",
    "PayloadSettings",
    "PayloadSyncError",
    "PayloadUnavailable",
    "PayloadValidationError",
    "ProjectStatus",
    "StoryStatus",
    "WorkflowStep",
    "payload_config",
]
