"""The pathrag plugin's settings: ``NOVELCREW_PATHRAG_*`` (Novel Movie's ``PATHRAG_API_URL``
kept as an alias), or ``[plugin_config.pathrag]`` in novelcrew.toml."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field

from novelcrew import PluginSettings


class PathragSettings(PluginSettings):
    """Where the knowledge graph lives and how hard to try a remote one."""

    plugin: ClassVar[str] = "pathrag"
    model_config = PluginSettings.config_for("pathrag")

    #: the remote PathRAG service; unset: the embedded graph in ``NOVELCREW_DATA_DIR``
    url: str | None = Field(
        None, validation_alias=AliasChoices("NOVELCREW_PATHRAG_URL", "PATHRAG_API_URL", "url"))
    #: seconds for one HTTP request to the remote service
    timeout: float = Field(30.0, gt=0)
    #: retries of one call after a connection error, a timeout or a 5xx
    retries: int = Field(3, ge=0)
    #: keep writes the remote service could not take in an outbox under the data directory
    #: and replay them when it is back (off: such a write fails the job as before)
    outbox: bool = True
    #: the longest wait between two tries of the service while writes are queued
    outbox_retry_max_seconds: float = Field(30.0, gt=0)
