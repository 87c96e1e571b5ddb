"""Per-client rate limits: one budget per client across all replicas (Redis), per instance without.

Keyed by the authenticated client, not the IP: every Salesforce org's callouts leave from
Salesforce's shared addresses. Fixed windows aligned to the clock, counted atomically in Redis
by a Lua script (INCR + PEXPIRE in one step), so N replicas share one budget. When Redis fails
or is slow (50 ms), each instance falls back to its own in-process counter for a while.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.settings import RateLimitSettings

__all__ = [
    "Decision",
    "LocalCounter",
    "RateLimiter",
    "RedisCounter",
    "rate_limit_headers",
]

log = logging.getLogger("isthmus.security.rate_limit")

REDIS_TIMEOUT_S = 0.05
REDIS_RETRY_AFTER_S = 1.0
"""After a Redis failure, use the local counter this long before trying Redis again."""

_INCR_WITH_TTL = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""

LEASE_SHARE = 0.002
"""A replica takes this share of a client's budget from Redis at a time (at most LEASE_MAX),
so a busy client costs one Redis round trip per lease instead of one per request. Tokens a
replica leased but did not use are lost to the window: the budget is never exceeded, and
under-used by at most a lease per replica."""
LEASE_MAX = 50


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    shared: bool
    """True when counted in Redis (all replicas), False for the per-instance fallback."""


class RedisCounter:
    def __init__(
        self, redis: Redis, prefix: str = "isthmus:rl", timeout_s: float = REDIS_TIMEOUT_S
    ) -> None:
        self._script = redis.register_script(_INCR_WITH_TTL)
        self._prefix = prefix
        self._timeout_s = timeout_s

    async def hit(self, client: str, window: int, window_s: int, tokens: int = 1) -> int:
        """Take ``tokens`` from the window's shared count; returns the count after taking."""
        key = f"{self._prefix}:{client}:{window}"
        async with asyncio.timeout(self._timeout_s):
            count = await self._script(keys=[key], args=[window_s * 1000 + 1000, tokens])
        return int(count)


@dataclass
class _Lease:
    window: int
    next_count: int
    """The shared count the next locally spent token stands for."""
    last_count: int
    """The last shared count this lease holds."""


class LocalCounter:
    """In-process fixed windows; old windows are dropped as new ones start."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._window = -1

    def hit(self, client: str, window: int) -> int:
        if window != self._window:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            self._window = window
        key = (client, window)
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]


class RateLimiter:
    def __init__(
        self,
        settings: RateLimitSettings,
        *,
        clock: Callable[[], float] = time.time,
        redis_timeout_s: float = REDIS_TIMEOUT_S,
    ) -> None:
        """``clock``: the wall clock windows are aligned to. ``redis_timeout_s``: a slower Redis
        counts as down (the per-instance counter takes over for a while)."""
        self.settings = settings
        self._clock = clock
        self._redis_timeout_s = redis_timeout_s
        self._local = LocalCounter()
        self._redis: RedisCounter | None = None
        self._redis_down_until = 0.0
        self._leases: dict[str, _Lease] = {}

    def bind(self, redis: Redis | None) -> None:
        self._redis = (
            RedisCounter(redis, timeout_s=self._redis_timeout_s) if redis is not None else None
        )

    def limit_for(self, client: str) -> int:
        return self.settings.per_client.get(client, self.settings.requests)

    async def hit(self, client: str) -> Decision:
        now = self._clock()
        window_s = self.settings.window_s
        window = int(now // window_s)
        reset_s = max(1, math.ceil((window + 1) * window_s - now))
        limit = self.limit_for(client)
        count = await self._shared_hit(client, window, now, limit)
        shared = count is not None
        if count is None:
            limit = max(1, math.floor(limit * self.settings.local_fraction))
            count = self._local.hit(client, window)
        return Decision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(0, limit - count),
            reset_s=reset_s,
            shared=shared,
        )

    async def _shared_hit(self, client: str, window: int, now: float, limit: int) -> int | None:
        if self._redis is None or now < self._redis_down_until:
            return None
        lease = self._leases.get(client)
        if lease is not None and lease.window == window and lease.next_count <= lease.last_count:
            lease.next_count += 1
            return lease.next_count - 1
        size = max(1, min(LEASE_MAX, int(limit * LEASE_SHARE)))
        try:
            total = await self._redis.hit(client, window, self.settings.window_s, size)
            self._leases[client] = _Lease(
                window=window, next_count=total - size + 2, last_count=total
            )
            return total - size + 1
        except (RedisError, OSError, TimeoutError) as exc:
            self._redis_down_until = now + REDIS_RETRY_AFTER_S
            log.warning(
                "rate limit falling back to the per-instance counter",
                extra={"error": type(exc).__name__},
            )
            return None


def rate_limit_headers(decision: Decision, window_s: int) -> dict[str, str]:
    # The names Litestar's own rate-limit middleware uses (draft-ietf-httpapi-ratelimit-headers).
    return {
        "ratelimit-policy": f"{decision.limit}; w={window_s}",
        "ratelimit-limit": str(decision.limit),
        "ratelimit-remaining": str(decision.remaining),
        "ratelimit-reset": str(decision.reset_s),
    }
