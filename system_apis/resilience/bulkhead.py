"""Bulkheads: caps on requests in flight to one backend, per process or shared by every replica.

``LocalSlots`` is the one implementation of a per-process cap: ``ResilientBackend`` uses it so a
hung backend holds a bounded number of tasks and sockets, and the Intacct client uses it for
the vendor's per-company concurrency limit (two is common). ``SharedSlots`` keeps N replicas
within such a limit together, holding each slot as a short lease in a Redis sorted set on top
of a ``LocalSlots``; when Redis cannot be reached the cap falls back to this process's share,
so a Redis outage never stops ERP calls (give each process its share, ``local_limit``, so that
the processes together stay within the limit then too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["ConcurrencySlots", "LocalSlots", "SharedSlots"]

log = logging.getLogger("isthmus.concurrency")

_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
  return 1
end
return 0
"""


class ConcurrencySlots(Protocol):
    def slot(self, wait_s: float) -> AbstractAsyncContextManager[None]:
        """Hold one slot for the body; ``TimeoutError`` when none frees up within ``wait_s``."""
        ...


class LocalSlots:
    """At most ``limit`` holders in this process; counts who holds and who was turned away."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.refused = 0
        """Acquisitions that timed out waiting for a slot."""
        self._semaphore = asyncio.Semaphore(limit)

    async def acquire(self, wait_s: float | None) -> None:
        """Take a slot, waiting at most ``wait_s`` (None: as long as it takes).

        A free slot is taken without yielding to the event loop; ``TimeoutError`` when none
        frees up in time. Every successful ``acquire`` must be followed by one ``release``.
        """
        if self._semaphore.locked():
            try:
                async with asyncio.timeout(None if wait_s is None else max(0.0, wait_s)):
                    await self._semaphore.acquire()
            except TimeoutError:
                self.refused += 1
                raise
        else:
            await self._semaphore.acquire()
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._semaphore.release()

    @contextlib.asynccontextmanager
    async def slot(self, wait_s: float) -> AsyncIterator[None]:
        await self.acquire(wait_s)
        try:
            yield
        finally:
            self.release()


class SharedSlots:
    """At most ``limit`` holders across every process using the same Redis ``key``.

    ``local_limit`` (default ``limit``): this process's share, its cap while Redis cannot be
    reached, so that the processes together stay within ``limit`` then too.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        key: str,
        limit: int,
        lease_s: float = 35.0,
        redis_timeout_s: float = 0.25,
        poll_s: float = 0.005,
        local_limit: int | None = None,
    ) -> None:
        self._redis = redis
        self._key = key
        self._limit = limit
        self._lease_ms = int(lease_s * 1000)
        self._redis_timeout = redis_timeout_s
        self._poll = poll_s
        self._local = LocalSlots(limit)
        # Held besides a local slot only while Redis is unreachable.
        self._fallback = LocalSlots(limit if local_limit is None else min(limit, local_limit))
        self._script = redis.register_script(_ACQUIRE)
        self._redis_down_until = 0.0

    @contextlib.asynccontextmanager
    async def slot(self, wait_s: float) -> AsyncIterator[None]:
        fallback = False
        async with asyncio.timeout(wait_s):
            await self._local.acquire(None)
            try:
                token = await self._acquire_shared()
                if token is None:
                    await self._fallback.acquire(None)
                    fallback = True
            except BaseException:
                self._local.release()
                raise
        try:
            yield
        finally:
            self._local.release()
            if fallback:
                self._fallback.release()
            if token is not None:
                await self._release_shared(token)

    async def _acquire_shared(self) -> str | None:
        token = secrets.token_hex(8)
        while True:
            if time.monotonic() < self._redis_down_until:
                return None
            try:
                async with asyncio.timeout(self._redis_timeout):
                    granted = await self._script(
                        keys=[self._key], args=[self._limit, self._lease_ms, token]
                    )
            except (RedisError, OSError, TimeoutError) as exc:
                self._redis_down_until = time.monotonic() + 1.0
                log.warning(
                    "shared request slots unavailable, capping per process: %s", type(exc).__name__
                )
                return None
            if int(granted) == 1:
                return token
            await asyncio.sleep(self._poll * (0.5 + random.random()))

    async def _release_shared(self, token: str) -> None:
        # A release that fails leaves the slot taken until its lease ends (``lease_s``).
        try:
            async with asyncio.timeout(self._redis_timeout * 4):
                await self._redis.zrem(self._key, token)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning(
                "shared request slot not released, it expires with its lease: %s",
                type(exc).__name__,
            )
