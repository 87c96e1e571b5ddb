"""An issuer's signing keys (JWKS), fetched with the gateway's async client and cached.

- Fetched on first use, refreshed after ``ttl_s``.
- A token naming an unknown ``kid`` triggers a refetch (the issuer may have rotated), but at
  most one per ``cooldown_s``: a flood of made-up ``kid``s costs the issuer one request.
- When the issuer is down or answers garbage, the last good key set stays in use.
- While the last fetch failed, the cache is ``unavailable`` for keys it does not hold (none
  at a cold start, or a key rotated in during the outage): callers are told to retry after
  ``UNAVAILABLE_RETRY_S`` rather than refused, and the cooldown is no longer than that, so a
  retry at the advertised time finds the issuer's keys once it is back.
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

__all__ = ["UNAVAILABLE_RETRY_S", "JwksCache"]

log = logging.getLogger("isthmus.security.jwks")

UNAVAILABLE_RETRY_S = 5.0
"""``Retry-After`` while the keys cannot be fetched; no refetch waits longer than this then."""


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
        self._last_failed = False
        self._lock: asyncio.Lock | None = None
        self.fetches = 0
        """Fetch attempts so far (tests and metrics)."""

    @property
    def has_keys(self) -> bool:
        return bool(self._keys)

    @property
    def unavailable(self) -> bool:
        """A key it lacks may exist: none are known, or the issuer failed the last fetch."""
        return not self._keys or self._last_failed

    def _cooldown(self) -> float:
        if self._last_failed:
            return min(self.cooldown_s, UNAVAILABLE_RETRY_S)
        return self.cooldown_s

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
        return (expired or unknown) and now - self._last_attempt >= self._cooldown()

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
            self._last_failed = True
            return
        self._last_failed = False
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
