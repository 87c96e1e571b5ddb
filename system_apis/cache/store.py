"""Two cache levels: L1 in this process (cachetools), L2 in Redis shared by every replica.

L2 is an optimisation, never a dependency: each Redis call is bounded by a short timeout, a
failure is counted and latches L2 off for a moment, and the cache carries on with L1 alone.
Invalidations are published on a Redis channel so the L1 copies of other replicas go too;
when the listener loses Redis it clears L1 on reconnecting, because it may have missed some.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fnmatch
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import cachetools
import msgspec
from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["Codec", "InvalidationResult", "LockHandle", "Stored", "TwoLevelCache", "TwoLevelStats"]

log = logging.getLogger("isthmus.cache")

T = TypeVar("T")
R = TypeVar("R")

_SCHEMA = "v1"
"""Bumped when a cached record's shape changes, so old L2 entries are simply not found."""

# Compare-and-delete: release the single-flight lock only if it is still ours.
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class _Down(enum.Enum):
    DOWN = "down"


_L2_DOWN = _Down.DOWN


class _Envelope(msgspec.Struct, Generic[T], array_like=True):
    stored_at: float
    expires_at: float
    value: T


@dataclass(frozen=True)
class Stored(Generic[T]):
    """A cached value and when (wall clock, seconds since the epoch) the backend gave it."""

    value: T
    stored_at: float
    expires_at: float


class Codec(Generic[T]):
    """msgpack encoding of one record type for L2 (msgspec, typed decoding)."""

    def __init__(self, value_type: Any) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder: msgspec.msgpack.Decoder[_Envelope[T]] = msgspec.msgpack.Decoder(
            _Envelope[value_type]
        )

    def encode(self, stored: Stored[T]) -> bytes:
        return self._encoder.encode(
            _Envelope(stored_at=stored.stored_at, expires_at=stored.expires_at, value=stored.value)
        )

    def decode(self, raw: bytes) -> Stored[T]:
        envelope = self._decoder.decode(raw)
        return Stored(
            value=envelope.value, stored_at=envelope.stored_at, expires_at=envelope.expires_at
        )


class TwoLevelStats(msgspec.Struct, kw_only=True):
    l1_entries: int = 0
    l1_max_entries: int = 0
    l1_hits: int = 0
    l2_hits: int = 0
    misses: int = 0
    sets: int = 0
    l2_configured: bool = False
    l2_available: bool = False
    """False while L2 is latched off after an error (or when no Redis is configured)."""
    l2_errors: int = 0
    l2_skipped: int = 0
    """L2 calls not attempted because L2 was latched off."""
    decode_errors: int = 0
    invalidations_published: int = 0
    invalidations_received: int = 0
    listener_connected: bool = False
    listener_reconnects: int = 0
    l1_flushes: int = 0
    """Times L1 was emptied because invalidations may have been missed while Redis was away."""


@dataclass(frozen=True)
class InvalidationResult:
    l1_removed: int
    l2_removed: int
    propagated: bool
    """True when other replicas were told (Redis reachable); False means L1-only."""


class Invalidation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What to drop, as published to the other replicas (``key`` or ``pattern``)."""

    key: str | None = None
    pattern: str | None = None
    """A glob whose only wildcard is ``*``."""
    origin: str = ""
    """The publishing replica's ``instance_id``: it has applied the message already."""


_INVALIDATION = msgspec.json.Encoder()
_INVALIDATION_DECODER = msgspec.json.Decoder(Invalidation)


@dataclass(frozen=True)
class LockHandle:
    key: str
    token: str | None
    """None when no lock is held by us (Redis absent or down, or another holder)."""
    held_elsewhere: bool


class _L1Entry:
    __slots__ = ("expires_at", "stored_at", "value")

    def __init__(self, value: object, stored_at: float, expires_at: float) -> None:
        self.value = value
        self.stored_at = stored_at
        self.expires_at = expires_at


class TwoLevelCache:
    """L1 (bounded by entries) over an optional Redis L2, with cross-replica invalidation.

    ``redis``: a ``redis.asyncio.Redis`` built with short socket timeouts, or None for L1 only.
    ``l2_timeout``: the most one L2 call may take on the request path (seconds).
    ``l2_retry_after``: after an L2 error, L2 is skipped for this long, then tried again.
    ``admin_timeout``: bound on admin calls (pattern invalidation scans the keyspace).
    ``clock``: wall clock for ages shared across replicas (``time.time``).
    Call ``start()`` once the event loop runs (subscribes to invalidations) and ``aclose()``
    at shutdown. The Redis client itself belongs to the caller, who closes it.
    """

    def __init__(
        self,
        redis: Redis | None,
        *,
        l1_max_entries: int = 10_000,
        namespace: str = "isthmus",
        instance_id: str | None = None,
        l2_timeout: float = 0.05,
        l2_retry_after: float = 1.0,
        admin_timeout: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._l1: cachetools.TLRUCache[str, _L1Entry] = cachetools.TLRUCache(
            maxsize=l1_max_entries, ttu=lambda _key, entry, _now: entry.expires_at, timer=clock
        )
        self.namespace = namespace
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        self._prefix = f"{namespace}:{_SCHEMA}:"
        self._lock_prefix = f"{namespace}:lock:"
        self.channel = f"{namespace}:invalidate"
        self._l2_timeout = l2_timeout
        self._l2_retry_after = l2_retry_after
        self._admin_timeout = admin_timeout
        self._l2_down_until = 0.0
        self._reads: dict[str, asyncio.Task[bytes | _Down | None]] = {}
        self._invalidation_callbacks: list[Callable[[], None]] = []
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closing = False
        self._stats = TwoLevelStats(l1_max_entries=l1_max_entries, l2_configured=redis is not None)

    # ------------------------------------------------------------------ reads and writes

    def peek(self, key: str) -> Stored[Any] | None:
        """The L1 entry, without touching Redis or the counters."""
        entry = self._l1.get(key)
        if entry is None:
            return None
        return Stored(value=entry.value, stored_at=entry.stored_at, expires_at=entry.expires_at)

    async def get(self, key: str, codec: Codec[T], *, fresh_for: float) -> Stored[T] | None:
        """The newest known value for ``key``: L1 when it is younger than ``fresh_for``,
        else L2 when that holds something newer (another replica refreshed it), else L1."""
        local = self._l1.get(key)
        if local is not None and self._clock() - local.stored_at < fresh_for:
            self._stats.l1_hits += 1
            return cast(Stored[T], self.peek(key))
        remote = await self._read_l2(key, codec)
        if remote is not None and (local is None or remote.stored_at > local.stored_at):
            self._stats.l2_hits += 1
            self._l1[key] = _L1Entry(remote.value, remote.stored_at, remote.expires_at)
            return remote
        if local is not None:
            self._stats.l1_hits += 1
            return cast(Stored[T], self.peek(key))
        self._stats.misses += 1
        return None

    async def _read_l2(self, key: str, codec: Codec[T]) -> Stored[T] | None:
        # Concurrent readers of one key share one Redis GET: a hot key must not open a
        # connection per waiting request.
        task = self._reads.get(key)
        if task is None:
            task = asyncio.ensure_future(self._l2(lambda r: _get_bytes(r, self._prefix + key)))
            self._reads[key] = task
            task.add_done_callback(lambda done: self._forget_read(key, done))
        raw = await asyncio.shield(task)
        if raw is None or raw is _L2_DOWN:
            return None
        return self._decode(codec, raw)

    def _decode(self, codec: Codec[T], raw: bytes) -> Stored[T] | None:
        try:
            return codec.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._stats.decode_errors += 1
            return None

    def _forget_read(self, key: str, task: asyncio.Task[bytes | _Down | None]) -> None:
        if self._reads.get(key) is task:
            del self._reads[key]

    async def set(
        self,
        key: str,
        value: T,
        codec: Codec[T],
        *,
        keep_for: float,
        stored_at: float | None = None,
    ) -> None:
        """Store in L1 and L2; both drop the entry after ``keep_for`` seconds."""
        stored_at = self._clock() if stored_at is None else stored_at
        stored = Stored(value=value, stored_at=stored_at, expires_at=stored_at + keep_for)
        self._l1[key] = _L1Entry(value, stored.stored_at, stored.expires_at)
        self._stats.sets += 1
        left_ms = int((stored.expires_at - self._clock()) * 1000)
        if left_ms > 0:
            raw = codec.encode(stored)
            await self._l2(lambda r: r.set(self._prefix + key, raw, px=left_ms))

    # ------------------------------------------------------------------ single-flight lock

    async def acquire_lock(self, key: str, *, ttl: float) -> LockHandle:
        """A short Redis lock so that one replica at a time fetches ``key`` from the backend.

        Without a reachable Redis nobody else can be told, so the caller goes ahead.
        """
        token = secrets.token_hex(8)
        got = await self._l2(
            lambda r: r.set(self._lock_prefix + key, token, nx=True, px=max(1, int(ttl * 1000)))
        )
        if got is _L2_DOWN:
            return LockHandle(key=key, token=None, held_elsewhere=False)
        if got:
            return LockHandle(key=key, token=token, held_elsewhere=False)
        return LockHandle(key=key, token=None, held_elsewhere=True)

    async def release_lock(self, lock: LockHandle) -> None:
        if lock.token is None:
            return
        token = lock.token
        await self._l2(lambda r: r.eval(_RELEASE_LOCK, 1, self._lock_prefix + lock.key, token))

    async def wait_for_peer(
        self, key: str, codec: Codec[T], *, newer_than: float, until: float, poll: float
    ) -> Stored[T] | None:
        """Poll L2 while another replica holds ``key``'s lock, until its value lands.

        Returns None when the lock went away without a newer value (the other replica
        failed), when L2 fails, or at ``until`` (``time.monotonic()``).
        """
        while time.monotonic() < until:
            # The lock first, then the value: the holder stores its value before it releases
            # the lock, so a lock seen free means the value (if any) is there to be read.
            held = await self._l2(lambda r: r.exists(self._lock_prefix + key))
            if held is _L2_DOWN:
                return None
            raw = await self._l2(lambda r: _get_bytes(r, self._prefix + key))
            if raw is _L2_DOWN:
                return None
            if raw is not None:
                found = self._decode(codec, raw)
                if found is None:
                    return None
                if found.stored_at > newer_than:
                    self._l1[key] = _L1Entry(found.value, found.stored_at, found.expires_at)
                    return found
            if not held:
                return None
            await asyncio.sleep(min(poll, max(0.0, until - time.monotonic())))
        return None

    # ------------------------------------------------------------------ invalidation

    async def invalidate_key(self, key: str) -> InvalidationResult:
        return await self._invalidate(Invalidation(key=key))

    async def invalidate_matching(self, pattern: str) -> InvalidationResult:
        """Drop every key matching a glob whose only wildcard is ``*`` (see ``system_apis.cache.keys``)."""
        return await self._invalidate(Invalidation(pattern=pattern))

    async def _invalidate(self, message: Invalidation) -> InvalidationResult:
        l1_removed = self._apply_locally(message)
        l2_removed: int | _Down = 0
        if message.key is not None:
            key = message.key
            l2_removed = await self._l2(lambda r: r.delete(self._prefix + key))
        else:
            pattern = message.pattern or ""
            l2_removed = await self._l2(
                lambda r: self._delete_matching(r, pattern), bound=self._admin_timeout
            )
        payload = _INVALIDATION.encode(msgspec.structs.replace(message, origin=self.instance_id))
        published = await self._l2(lambda r: r.publish(self.channel, payload))
        propagated = published is not _L2_DOWN
        if propagated:
            self._stats.invalidations_published += 1
        return InvalidationResult(
            l1_removed=l1_removed,
            l2_removed=0 if l2_removed is _L2_DOWN else int(l2_removed),
            propagated=propagated,
        )

    async def _delete_matching(self, redis: Redis, pattern: str) -> int:
        removed = 0
        batch: list[str] = []
        async for name in redis.scan_iter(match=self._prefix + pattern, count=500):
            batch.append(name)
            if len(batch) >= 500:
                removed += await redis.unlink(*batch)
                batch.clear()
        if batch:
            removed += await redis.unlink(*batch)
        return removed

    def on_invalidate(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever anything is invalidated or L1 is flushed (here or by a
        replica), so memos derived from cached values can be dropped with them."""
        self._invalidation_callbacks.append(callback)

    def _notify_invalidated(self) -> None:
        for callback in self._invalidation_callbacks:
            callback()

    def _apply_locally(self, message: Invalidation) -> int:
        self._notify_invalidated()
        if message.key is not None:
            return 1 if self._l1.pop(message.key, None) is not None else 0
        pattern = message.pattern or ""
        doomed = [key for key in list(self._l1.keys()) if fnmatch.fnmatchcase(key, pattern)]
        for key in doomed:
            self._l1.pop(key, None)
        return len(doomed)

    def clear_l1(self) -> None:
        self._l1.clear()
        self._notify_invalidated()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, wait_subscribed: float = 1.0) -> None:
        """Listen for other replicas' invalidations; waits (bounded) until subscribed."""
        if self._redis is None or self._listener is not None:
            return
        self._closing = False
        self._listener = asyncio.create_task(self._listen(), name="isthmus-cache-invalidations")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_subscribed):
                await self._subscribed.wait()

    async def aclose(self) -> None:
        self._closing = True
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        for task in list(self._reads.values()):
            task.cancel()

    async def _listen(self) -> None:
        assert self._redis is not None
        backoff = 0.05
        connected_before = False
        while not self._closing:
            pubsub = self._redis.pubsub()
            try:
                async with asyncio.timeout(1.0):
                    await pubsub.subscribe(self.channel)
                if connected_before:
                    # Invalidations sent while we were away are lost: forget everything local.
                    self.clear_l1()
                    self._stats.l1_flushes += 1
                    self._stats.listener_reconnects += 1
                connected_before = True
                self._stats.listener_connected = True
                self._subscribed.set()
                backoff = 0.05
                while not self._closing:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._receive(message["data"])
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("cache invalidation listener lost Redis: %s", type(exc).__name__)
            finally:
                self._stats.listener_connected = False
                self._subscribed.clear()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(0.2):
                        # Typed in some redis releases, not in others: called through Any.
                        await cast(Any, pubsub).aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    def _receive(self, data: bytes) -> None:
        try:
            message = _INVALIDATION_DECODER.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if message.origin == self.instance_id:
            return
        self._stats.invalidations_received += 1
        self._apply_locally(message)

    # ------------------------------------------------------------------ L2 guard

    async def _l2(
        self, op: Callable[[Redis], Awaitable[R]], *, bound: float | None = None
    ) -> R | _Down:
        """Run one Redis call; on any Redis trouble count it, latch L2 off, answer DOWN."""
        if self._redis is None:
            return _L2_DOWN
        if time.monotonic() < self._l2_down_until:
            self._stats.l2_skipped += 1
            return _L2_DOWN
        try:
            async with asyncio.timeout(bound or self._l2_timeout):
                return await op(self._redis)
        except (RedisError, OSError, TimeoutError) as exc:
            self._stats.l2_errors += 1
            self._l2_down_until = time.monotonic() + self._l2_retry_after
            log.warning(
                "Redis L2 failed (%s); serving from L1 for %.1f s",
                type(exc).__name__,
                self._l2_retry_after,
            )
            return _L2_DOWN

    def snapshot(self) -> TwoLevelStats:
        stats = msgspec.structs.replace(self._stats)
        stats.l1_entries = len(self._l1)
        stats.l2_available = self._redis is not None and time.monotonic() >= self._l2_down_until
        return stats


async def _get_bytes(redis: Redis, name: str) -> bytes | None:
    raw = await redis.get(name)
    # Entries are msgpack: a client built with decode_responses=True cannot read them.
    return raw if isinstance(raw, bytes) else None
