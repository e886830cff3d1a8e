"""The architect plugin's settings: ``NOVELCREW_ARCHITECT_*``, or ``[plugin_config.architect]`` in
novelcrew.toml."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from novelcrew import PluginSettings, Settings


class ArchitectSettings(PluginSettings):
    """Where edited copies of the crew's YAML live (either file may be left out)."""

    plugin: ClassVar[str] = "architect"
    model_config = PluginSettings.config_for("architect")

    #: a folder holding an edited ``agents.yaml`` and/or ``tasks.yaml``
    config_dir: Path | None = None


def config_dir(settings: Settings | None = None) -> str:
    """``[plugin_config.architect] config_dir`` of ``settings`` (novelcrew.toml), else
    ``NOVELCREW_ARCHITECT_CONFIG_DIR`` (or ``.env``), or "" for the shipped texts. A bad
    value raises ``SettingsError`` naming it (``PluginSettings.of``): the job fails with
    ``settings_error``."""
    folder = ArchitectSettings.of(settings).config_dir
    return str(folder.expanduser()) if folder else ""
