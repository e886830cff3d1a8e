"""API keys and the rate limit, as FastAPI dependencies.

A configured key is ``key`` (an admin key: it sees every job) or ``key:tenant`` (it sees
only the jobs its tenant's keys submitted; another tenant's job is a 404, as if it did not
exist). ``require_key`` puts the tenant on ``request.state`` for ``deps.TenantDep``.

A key comes as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` (FastAPI's
``APIKeyHeader`` and ``HTTPBearer`` security schemes, which also describe it in the OpenAPI
document) and is compared with every configured key in constant time. A key is never logged nor
echoed: a request is known by the key's position (``key-1``, ...), which the request log shows.

``app.py`` puts ``require_key`` on every router but ``/health`` when the server has keys,
``limit_by_client`` when it has none, and ``limit_by_client`` on ``/health`` in either case.
The budget is spent before the key is checked, so guessing keys costs a client its budget too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from novelcrew.api.ratelimit import RateLimit
from novelcrew.errors import Unauthorized
from novelcrew.settings import split_api_key

api_key_header = APIKeyHeader(name="X-API-Key", scheme_name="ApiKeyHeader", auto_error=False,
                              description="One of the server's `NOVELCREW_API_KEYS`.")
bearer = HTTPBearer(scheme_name="BearerAuth", auto_error=False,
                    description="One of the server's `NOVELCREW_API_KEYS`.")


class ApiKeys:
    """The configured keys; ``identify`` names the one a request presents."""

    def __init__(self, keys: Sequence[SecretStr]) -> None:
        pairs = [split_api_key(k.get_secret_value(), i) for i, k in enumerate(keys)
                 if k.get_secret_value()]
        self._keys = [key.encode() for key, _ in pairs]
        self._tenants = [tenant for _, tenant in pairs]
        #: a key's client id for the rate limit: the same in every API instance
        self._clients = [f"key:{hashlib.sha256(key).hexdigest()[:24]}" for key in self._keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def identify(self, presented: str | None) -> int | None:
        """The index of the key presented, or None when it is no configured key."""
        if not presented:
            return None
        given = presented.encode()
        found: int | None = None
        for i, key in enumerate(self._keys):  # compare with every key: no early exit
            if hmac.compare_digest(given, key):
                found = i
        return found

    def name(self, index: int) -> str:
        return f"key-{index + 1}"

    def client(self, index: int) -> str:
        return self._clients[index]

    def tenant(self, index: int) -> str | None:
        """The tenant key ``index`` is bound to; None for an admin key."""
        return self._tenants[index]


def client_ip(request: Request) -> str:
    return f"ip:{request.client.host}" if request.client else "ip:unknown"


async def limit_by_client(request: Request) -> None:
    """Spend one request of the client's (its IP address's) budget."""
    limit: RateLimit = request.app.state.rate_limit
    await limit.hit(client_ip(request))


async def require_key(
    request: Request,
    api_key: Annotated[str | None, Security(api_key_header)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> str:
    """The name of the request's key (``key-1``...); 401 without a valid one."""
    keys: ApiKeys = request.app.state.api_keys
    limit: RateLimit = request.app.state.rate_limit
    presented = api_key if api_key is not None else (
        credentials.credentials if credentials is not None else None)
    index = keys.identify(presented)
    await limit.hit(keys.client(index) if index is not None else client_ip(request))
    if index is None:
        if api_key is None and credentials is None and "authorization" in request.headers:
            # another scheme (Basic, Payload's "users API-Key"), or a bare key: say which
            raise Unauthorized("the Authorization header must be 'Bearer <key>' (or send "
                               "X-API-Key: <key>)")
        given = "x-api-key" in request.headers or "authorization" in request.headers
        raise Unauthorized("wrong API key" if given else
                           "an API key is required: send X-API-Key or Authorization: Bearer")
    name = keys.name(index)
    request.state.key = name  # for the request log
    request.state.tenant = keys.tenant(index)
    return name
