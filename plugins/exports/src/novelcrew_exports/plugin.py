"""The entry point (``novelcrew_exports.plugin``): registers the story export formats."""

from __future__ import annotations

from collections.abc import Callable

from novelcrew import Export, hookimpl
from novelcrew_exports import FORMATS


@hookimpl
def register_exports(register: Callable[[Export], None]) -> None:
    for fmt in FORMATS.values():
        register(fmt)
