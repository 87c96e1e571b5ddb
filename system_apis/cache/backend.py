"""``CachedBackend``: an ``ErpBackend`` over another one, answering from L1/L2 when it can.

Per data kind (``credit``, ``item``, ``price``, ``availability``) a ``KindPolicy`` says how long a
value is fresh, how long after that it may still be served at once while a background
refresh runs (stale-while-revalidate), and up to what age it may be served when the backend
fails or runs out of time (stale-if-error, flagged ``degraded``).

A read goes:

1. fresh in cache → answer (``freshness.cached``);
2. stale → answer at once (``stale``) and refresh in the background;
3. otherwise → one live call per key (single flight: local future + a short Redis lock so
   replicas share it), raced against ``ctx.deadline`` minus a margin. It answers live when the
   backend does in time; else the known value with ``degraded: true`` and its age; with
   nothing known the backend's error is raised (the process layer reports ``unavailable``).
   A live call that loses the race carries on in the background, bounded by
   ``refresh_timeout``, and fills the cache for the next request.

Not found and business refusals are answers, not failures: they are raised, never masked by
a cached value. Orders, order status and pings pass straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from system_apis.cache.keys import (
    KINDS,
    Kind,
    pattern_for,
)
from system_apis.cache.passthrough import PassThrough
from system_apis.cache.reads import (
    Read,
    availability_read,
    credit_read,
    item_read,
    price_read,
)
from system_apis.cache.store import (
    InvalidationResult,
    Stored,
    TwoLevelCache,
    TwoLevelStats,
)
from system_apis.contract import (
    Availability,
    CallContext,
    CustomerCredit,
    ErpBackend,
    Freshness,
    Item,
    Price,
    PriceQuery,
)
from system_apis.errors import BackendRejectedError, BackendTimeoutError, NotFoundError

__all__ = [
    "CachePolicy",
    "CacheSnapshot",
    "CachedBackend",
    "KindPolicy",
    "KindStats",
    "WarmReport",
]

log = logging.getLogger("isthmus.cache")


@dataclass(frozen=True)
class KindPolicy:
    """Ages in seconds, counted from when the backend gave the value."""

    fresh_seconds: float
    stale_seconds: float
    """After freshness: served at once while a background refresh runs."""
    error_seconds: float
    """Oldest age still served (``degraded``) when the backend fails or is too slow."""

    @property
    def keep_seconds(self) -> float:
        return max(self.fresh_seconds + self.stale_seconds, self.error_seconds)


@dataclass(frozen=True)
class CachePolicy:
    # Credit moves with every order and payment; item master and UoM barely move; prices
    # and availability sit in between.
    credit: KindPolicy = KindPolicy(fresh_seconds=30, stale_seconds=60, error_seconds=15 * 60)
    item: KindPolicy = KindPolicy(
        fresh_seconds=3600, stale_seconds=6 * 3600, error_seconds=7 * 86400
    )
    price: KindPolicy = KindPolicy(fresh_seconds=300, stale_seconds=900, error_seconds=4 * 3600)
    availability: KindPolicy = KindPolicy(fresh_seconds=60, stale_seconds=240, error_seconds=3600)
    deadline_margin: float = 0.02
    """A live call gives up this long before ``ctx.deadline`` so the stale answer is in time."""
    refresh_timeout: float = 5.0
    """Bound on one backend fill or refresh, which may outlive the request that started it."""
    lock_seconds: float = 2.0
    """Lifetime of the cross-replica single-flight lock in Redis."""
    lock_poll_seconds: float = 0.01
    """How often a replica waiting on another's fill looks for the value."""
    warm_concurrency: int = 8

    def for_kind(self, kind: Kind) -> KindPolicy:
        policy: KindPolicy = getattr(self, kind)
        return policy


class KindStats(msgspec.Struct, kw_only=True):
    hits: int = 0
    stale: int = 0
    """Served stale at once, refresh in the background."""
    misses: int = 0
    """Nothing usable cached (or too old): a live call was awaited."""
    degraded: int = 0
    """Served an old value because the backend failed or was too slow."""
    live: int = 0
    """Answered from a live call."""
    errors: int = 0
    """Raised to the caller: nothing usable cached and the backend failed or was too slow."""
    backend_calls: int = 0
    backend_failures: int = 0
    filled_by_peer: int = 0
    """Fills answered by another replica's call (seen in L2 while it held the lock)."""


class CacheSnapshot(msgspec.Struct, kw_only=True):
    vendor: str
    kinds: dict[str, KindStats]
    fills_in_flight: int
    cache: TwoLevelStats


@dataclass
class WarmReport:
    loaded: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """Key → error kind, for what could not be loaded."""


_LIVE = Freshness()


class CachedBackend(PassThrough):
    """``ErpBackend`` answering reference data from a ``TwoLevelCache`` over ``inner``.

    ``inner``: usually a ``ResilientBackend`` over an adapter, so an open breaker answers
    from cache in milliseconds. ``cache``: may be shared by several backends (keys carry the
    vendor). ``clock``: wall clock for ages (must match the cache's).
    """

    def __init__(
        self,
        inner: ErpBackend,
        *,
        cache: TwoLevelCache,
        policy: CachePolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(inner)
        self.cache = cache
        self._policy = policy or CachePolicy()
        self._clock = clock
        self._fills: dict[str, asyncio.Task[Any]] = {}
        self._stats = {kind: KindStats() for kind in KINDS}

    # ------------------------------------------------------------------ cached reads

    async def get_customer_credit(self, ctx: CallContext, customer_id: str) -> CustomerCredit:
        credit: CustomerCredit = await self._read(ctx, credit_read(self._inner, ctx, customer_id))
        return credit

    async def get_item(self, ctx: CallContext, item_id: str) -> Item:
        item: Item = await self._read(ctx, item_read(self._inner, ctx, item_id))
        return item

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        price: Price = await self._read(ctx, price_read(self._inner, ctx, query))
        return price

    async def get_availability(
        self, ctx: CallContext, item_id: str, warehouse_ids: tuple[str, ...] = ()
    ) -> tuple[Availability, ...]:
        rows: tuple[Availability, ...] = await self._read(
            ctx, availability_read(self._inner, ctx, item_id, warehouse_ids)
        )
        return rows

    # ------------------------------------------------------------------ the read path

    async def _read(self, ctx: CallContext, read: Read) -> Any:
        policy = self._policy.for_kind(read.kind)
        stats = self._stats[read.kind]
        known = await self.cache.get(read.key, read.codec, fresh_for=policy.fresh_seconds)
        if known is not None:
            age = self._age(known)
            if age < policy.fresh_seconds:
                stats.hits += 1
                return read.mark(known.value, Freshness(cached=True, age_seconds=age))
            if age < policy.fresh_seconds + policy.stale_seconds:
                stats.stale += 1
                self._fill(ctx, read, known)
                return read.mark(known.value, Freshness(cached=True, age_seconds=age, stale=True))
            if age >= policy.error_seconds:
                known = None  # too old to stand in even for a failing backend
        # Another request may have filled it while we looked in Redis.
        latest = self.cache.peek(read.key)
        if latest is not None and self._age(latest) < policy.fresh_seconds:
            stats.hits += 1
            return read.mark(latest.value, Freshness(cached=True, age_seconds=self._age(latest)))
        stats.misses += 1
        fill = self._fill(ctx, read, known)
        wait = None
        if ctx.deadline is not None:
            wait = max(0.0, ctx.deadline - self._policy.deadline_margin - time.monotonic())
        done, _ = await asyncio.wait({fill}, timeout=wait)
        error: BaseException | None
        if fill in done:
            error = fill.exception() if not fill.cancelled() else asyncio.CancelledError()
            if error is None:
                stats.live += 1
                return read.mark(fill.result(), _LIVE)
            if isinstance(error, NotFoundError | BackendRejectedError):
                raise error  # an answer, not a failure: never hidden behind a cached value
        else:
            error = None
        if known is not None:
            stats.degraded += 1
            age = self._age(known)
            return read.mark(
                known.value, Freshness(cached=True, age_seconds=age, stale=True, degraded=True)
            )
        stats.errors += 1
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise error
        raise BackendTimeoutError(
            f"{self.vendor} did not answer before the deadline and nothing is cached",
            vendor=self.vendor,
        )

    def _age(self, stored: Stored[Any]) -> float:
        return max(0.0, self._clock() - stored.stored_at)

    def _fill(self, ctx: CallContext, read: Read, known: Stored[Any] | None) -> asyncio.Task[Any]:
        """The one backend call for ``read.key`` in this process, started if none runs."""
        task = self._fills.get(read.key)
        if task is None:
            task = asyncio.create_task(
                self._run_fill(ctx, read, known), name=f"isthmus-cache-fill:{read.key}"
            )
            self._fills[read.key] = task
            task.add_done_callback(lambda done: self._fill_done(read, done))
        return task

    def _fill_done(self, read: Read, task: asyncio.Task[Any]) -> None:
        if self._fills.get(read.key) is task:
            del self._fills[read.key]
        if task.cancelled():
            return
        error = task.exception()  # retrieved here so an unawaited failure is not "lost"
        if error is not None and not isinstance(error, NotFoundError | BackendRejectedError):
            self._stats[read.kind].backend_failures += 1
            log.info("cache fill of %s failed: %r", read.key, error)

    async def _run_fill(self, ctx: CallContext, read: Read, known: Stored[Any] | None) -> Any:
        policy = self._policy
        bound = policy.refresh_timeout
        # The fill has its own deadline: it may outlive the request that started it.
        fill_ctx = msgspec.structs.replace(ctx, deadline=time.monotonic() + bound)
        stats = self._stats[read.kind]
        try:
            async with asyncio.timeout(bound):
                lock = await self.cache.acquire_lock(read.key, ttl=policy.lock_seconds)
                if lock.held_elsewhere:
                    peer = await self.cache.wait_for_peer(
                        read.key,
                        read.codec,
                        # Nothing known: a value written during the lock's life is theirs.
                        newer_than=known.stored_at
                        if known is not None
                        else self._clock() - policy.lock_seconds,
                        until=time.monotonic() + policy.lock_seconds,
                        poll=policy.lock_poll_seconds,
                    )
                    if peer is not None:
                        stats.filled_by_peer += 1
                        return peer.value
                try:
                    stats.backend_calls += 1
                    value = await read.fetch(fill_ctx)
                    # Stored before the lock goes: a replica waiting on the lock must find the
                    # value once it is free, or it would call the backend a second time.
                    await self.cache.set(
                        read.key,
                        value,
                        read.codec,
                        keep_for=policy.for_kind(read.kind).keep_seconds,
                    )
                except NotFoundError:
                    await self.cache.invalidate_key(read.key)
                    raise
                finally:
                    await self.cache.release_lock(lock)
                return value
        except TimeoutError:
            raise BackendTimeoutError(
                f"{self.vendor} did not answer within {bound:.3f} s", vendor=self.vendor
            ) from None

    # ------------------------------------------------------------------ admin

    async def warm(
        self,
        ctx: CallContext,
        *,
        customers: Iterable[str] = (),
        items: Iterable[str] = (),
        prices: Iterable[PriceQuery] = (),
        availability: Iterable[tuple[str, tuple[str, ...]]] = (),
    ) -> WarmReport:
        """Load values now, fresh or not (e.g. a customer's credit and price list before a
        sales rep opens their quotes). Bounded concurrency; failures are reported, not raised.
        """
        reads = [
            *(credit_read(self._inner, ctx, c) for c in customers),
            *(item_read(self._inner, ctx, i) for i in items),
            *(price_read(self._inner, ctx, q) for q in prices),
            *(availability_read(self._inner, ctx, i, w) for i, w in availability),
        ]
        report = WarmReport()
        slots = asyncio.Semaphore(self._policy.warm_concurrency)

        async def load(read: Read) -> None:
            async with slots:
                try:
                    await asyncio.shield(self._fill(ctx, read, None))
                except Exception as exc:
                    kind = getattr(exc, "kind", type(exc).__name__)
                    report.failed[read.key] = str(kind)
                else:
                    report.loaded += 1

        await asyncio.gather(*(load(read) for read in reads))
        return report

    async def invalidate(
        self,
        *,
        kind: Kind | None = None,
        company: str | None = None,
        division: str | None = None,
        customer_id: str | None = None,
        item_id: str | None = None,
    ) -> InvalidationResult:
        """Drop this vendor's cached entries, here, in Redis and in every replica's L1.

        Narrow by kind, company/division and an entity (a customer: credit and prices; an
        item: item master, availability and prices). Nothing given: everything of this vendor.
        """
        kinds = (kind,) if kind is not None else KINDS
        l1 = l2 = 0
        propagated = True
        for k in kinds:
            pattern = pattern_for(
                k,
                self.vendor,
                company=company,
                division=division,
                customer_id=customer_id,
                item_id=item_id,
            )
            if pattern is None:
                continue
            result = await self.cache.invalidate_matching(pattern)
            l1 += result.l1_removed
            l2 += result.l2_removed
            propagated = propagated and result.propagated
        return InvalidationResult(l1_removed=l1, l2_removed=l2, propagated=propagated)

    # ------------------------------------------------------------------ lifecycle and stats

    async def aclose(self) -> None:
        """Cancel fills still running (shutdown); the inner backend is not closed here."""
        fills = list(self._fills.values())
        for task in fills:
            task.cancel()
        for task in fills:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    def snapshot(self) -> CacheSnapshot:
        return CacheSnapshot(
            vendor=self.vendor,
            kinds={kind: msgspec.structs.replace(s) for kind, s in self._stats.items()},
            fills_in_flight=len(self._fills),
            cache=self.cache.snapshot(),
        )
