"""What routes depend on, as ``Annotated`` aliases; all of it lives on ``app.state``.

The getters are ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a thread.

Tests override any of these with ``app.dependency_overrides[get_settings_dep] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from novelcrew.backends.base import JobBackend
from novelcrew.plugins import Plugins
from novelcrew.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_plugins_dep(request: Request) -> Plugins:
    return request.app.state.plugins  # type: ignore[no-any-return]


async def get_backend_dep(request: Request) -> JobBackend:
    return request.app.state.backend  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PluginsDep = Annotated[Plugins, Depends(get_plugins_dep)]
BackendDep = Annotated[JobBackend, Depends(get_backend_dep)]
