"""What routes depend on, as ``Annotated`` aliases; all of it lives on ``app.state``.

The getters are ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a thread.

Tests override any of these with ``app.dependency_overrides[get_settings_dep] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from novelcrew.backends.base import JobBackend
from novelcrew.errors import InvalidInput, JobNotFound
from novelcrew.jobs import Job
from novelcrew.plugins import Plugins
from novelcrew.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_plugins_dep(request: Request) -> Plugins:
    return request.app.state.plugins  # type: ignore[no-any-return]


async def get_backend_dep(request: Request) -> JobBackend:
    return request.app.state.backend  # type: ignore[no-any-return]


async def get_tenant(request: Request) -> str | None:
    """The tenant of the request's API key: only its jobs are visible. None for an admin key,
    or on a server without keys: every job is.

    ``require_key`` (a router dependency, so solved before a route's own) sets it; were it
    not run on a server with keys, this refuses to answer rather than treat the request as
    an admin's."""
    if request.app.state.api_keys.enabled and getattr(request.state, "key", None) is None:
        raise RuntimeError("the API key was not checked before the tenant was asked for")
    return getattr(request.state, "tenant", None)


async def visible_job(backend: JobBackend, job_id: str, tenant: str | None) -> Job:
    """The job, or ``JobNotFound`` when it does not exist or belongs to another tenant (the
    same answer: a tenant cannot tell another's job ids from unknown ones)."""
    job = await backend.get(job_id)
    if tenant is not None and job.tenant != tenant:
        raise JobNotFound(f"no job with id {job_id!r}", {"job_id": job_id})
    return job


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PluginsDep = Annotated[Plugins, Depends(get_plugins_dep)]
BackendDep = Annotated[JobBackend, Depends(get_backend_dep)]
TenantDep = Annotated[str | None, Depends(get_tenant)]


async def one_value_per_query_parameter(request: Request) -> None:
    """Refuse a query parameter given twice (422). Every parameter of this API takes one
    value, and FastAPI would settle a repeat silently (the last value wins):
    ``?status=queued&status=failed`` must not list the failed jobs only."""
    items = request.query_params.multi_items()
    if len(items) == len(request.query_params):
        return
    seen: set[str] = set()
    for name, _ in items:
        if name in seen:
            raise InvalidInput(
                f"query parameter {name[:100]!r} is given more than once; each takes one value",
                {"errors": [{"loc": ["query", name[:100]], "msg": "given more than once",
                             "type": "repeated_parameter"}]})
        seen.add(name)
