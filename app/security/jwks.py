"""An issuer's signing keys (JWKS), fetched with the gateway's async client and cached.

- Fetched on first use, refreshed after ``ttl_s``.
- A token naming an unknown ``kid`` triggers a refetch (the issuer may have rotated), but at
  most one per ``cooldown_s``: a flood of made-up ``kid``s costs the issuer one request.
- When the issuer is down or answers garbage, the last good key set stays in use.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

__all__ = ["JwksCache"]

log = logging.getLogger("isthmus.security.jwks")


class JwksCache:
    def __init__(
        self,
        jwks_url: str,
        *,
        ttl_s: float = 600.0,
        cooldown_s: float = 30.0,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_url = jwks_url
        self.ttl_s = ttl_s
        self.cooldown_s = cooldown_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt = -math.inf
        self._lock: asyncio.Lock | None = None
        self.fetches = 0
        """Fetch attempts so far (tests and metrics)."""

    @property
    def has_keys(self) -> bool:
        return bool(self._keys)

    async def key_for(self, kid: str | None, http: httpx.AsyncClient) -> jwt.PyJWK | None:
        if self._needs_fetch(kid):
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:  # one fetch at a time; the others reuse its result
                if self._needs_fetch(kid):
                    await self._fetch(http)
        return self._lookup(kid)

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            # Without a kid the key is unambiguous only if the issuer publishes exactly one.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _needs_fetch(self, kid: str | None) -> bool:
        now = self._clock()
        expired = self._fetched_at is None or now - self._fetched_at >= self.ttl_s
        unknown = self._lookup(kid) is None
        return (expired or unknown) and now - self._last_attempt >= self.cooldown_s

    async def _fetch(self, http: httpx.AsyncClient) -> None:
        self._last_attempt = self._clock()
        self.fetches += 1
        try:
            response = await http.get(self.jwks_url, timeout=self.timeout_s)
            response.raise_for_status()
            keys = _parse(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning(
                "JWKS fetch failed; keeping %d known keys",
                len(self._keys),
                extra={"jwks_url": self.jwks_url, "error": type(exc).__name__},
            )
            return
        self._keys = keys
        self._fetched_at = self._clock()


def _parse(document: Any) -> dict[str, jwt.PyJWK]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str, jwt.PyJWK] = {}
    for raw in document["keys"]:
        if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
            continue
        # Symmetric keys in a public JWKS would be a misconfiguration: never verify with them.
        if raw.get("kty") == "oct":
            continue
        try:
            key = jwt.PyJWK(raw)
        except jwt.PyJWKError:
            continue  # a key type we cannot use must not make the whole set unusable
        keys[str(raw.get("kid", ""))] = key
    if not keys:
        raise ValueError("JWK set holds no usable signing key")
    return keys
