"""API keys: ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``, compared in constant time.

A key is never logged nor echoed: a request is known by the key's position (``key-1``, ...).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from pydantic import SecretStr

#: routes anyone may call, key or not
PUBLIC_PATHS = frozenset({"/health"})


class KeyChecker:
    def __init__(self, keys: Sequence[SecretStr]) -> None:
        self._keys = [k.get_secret_value().encode() for k in keys if k.get_secret_value()]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def identify(self, headers: dict[bytes, bytes]) -> str | None:
        """The id of the key the request carries, or None when it has no valid key."""
        presented = headers.get(b"x-api-key")
        if presented is None:
            auth = headers.get(b"authorization")
            if auth is not None:
                scheme, _, value = auth.partition(b" ")
                if scheme.lower() == b"bearer":
                    presented = value.strip()
        if not presented:
            return None
        found: str | None = None
        for i, key in enumerate(self._keys):  # compare with every key: no early exit
            if hmac.compare_digest(presented, key):
                found = f"key-{i + 1}"
        return found
