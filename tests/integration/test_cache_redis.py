"""The two-level cache against a real redis-server: sharing, single flight, invalidation, outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from system_apis.cache import CachedBackend, CachePolicy, KindPolicy, TwoLevelCache
from system_apis.contract import CallContext, PriceQuery
from tests.support.fake_erp import FakeErp, seeded_fake
from tests.support.redis_server import RedisServer
from tests.support.waiting import eventually

pytestmark = pytest.mark.redis

CTX = CallContext(company="100", division="US1")
LONG = KindPolicy(fresh_seconds=60, stale_seconds=60, error_seconds=600)
QUERY = PriceQuery(
    customer_id="C1",
    item_id="I1",
    quantity=Decimal(1),
    uom="EA",
    currency="USD",
    on_date=date(2026, 11, 23),
)


def _redis(url: str, timeout: float = 0.05) -> Redis:
    # As the gateway builds it: a dying Redis must cost tens of milliseconds.
    return Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=5
    )


Replica = Callable[..., Awaitable[CachedBackend]]


class PeerWatchingCache(TwoLevelCache):
    """The real cache, telling the test when it starts waiting for another replica's fill."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_for_peer = asyncio.Event()

    async def wait_for_peer(self, *args: Any, **kwargs: Any) -> Any:
        self.waiting_for_peer.set()
        return await super().wait_for_peer(*args, **kwargs)


@pytest.fixture
async def replica() -> AsyncIterator[Replica]:
    """Builds gateway replicas: each its own Redis client, L1 and listener, sharing one ERP.

    ``redis_timeout``: the client's and L2's bound on one Redis call. Patient by default, so
    that a busy machine cannot make L2 look down to tests that are not about a slow Redis.
    """
    async with AsyncExitStack() as stack:

        async def make(
            url: str, fake: FakeErp, *, redis_timeout: float = 5.0, **policy: object
        ) -> CachedBackend:
            redis = _redis(url, redis_timeout)
            stack.push_async_callback(redis.aclose)
            cache = PeerWatchingCache(redis, l2_retry_after=0.2, l2_timeout=redis_timeout)
            await cache.start()
            stack.push_async_callback(cache.aclose)
            values = {"price": LONG, "credit": LONG, "item": LONG, "availability": LONG, **policy}
            backend = CachedBackend(fake, cache=cache, policy=CachePolicy(**values))  # type: ignore[arg-type]
            stack.push_async_callback(backend.aclose)
            return backend

        yield make


async def test_a_value_fetched_by_one_replica_is_served_to_another_from_redis(
    redis_url: str, replica: Replica
) -> None:
    fake = seeded_fake()
    first, second = await replica(redis_url, fake), await replica(redis_url, fake)

    await first.get_price(CTX, QUERY)
    price = await second.get_price(CTX, QUERY)

    assert len(fake.calls) == 1
    assert price.freshness.cached
    assert price.net_price == Decimal("10.00")
    assert second.cache.snapshot().l2_hits == 1


async def test_200_concurrent_cold_requests_across_two_replicas_make_one_backend_call(
    redis_url: str, replica: Replica
) -> None:
    fake = seeded_fake()
    erp = fake.gate("get_price")  # the one ERP call waits until both replicas are in line
    # Generous bounds: this test is about who calls the ERP, not about time.
    patient = {"lock_seconds": 30.0, "refresh_timeout": 30.0}
    first, second = (
        await replica(redis_url, fake, **patient),
        await replica(redis_url, fake, **patient),
    )

    requests = asyncio.gather(
        *((first if i % 2 else second).get_price(CTX, QUERY) for i in range(200))
    )
    # One replica holds the lock and is inside the ERP call; the other waits for its value.
    await erp.reached.wait()
    caches = [first.cache, second.cache]
    assert all(isinstance(c, PeerWatchingCache) for c in caches)
    waiting = [asyncio.ensure_future(c.waiting_for_peer.wait()) for c in caches]  # type: ignore[attr-defined]
    _, not_waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    for task in not_waiting:
        task.cancel()
    erp.open()
    prices = await requests

    assert fake.calls == [("get_price", "I1")]
    assert {p.net_price for p in prices} == {Decimal("10.00")}
    peers = first.snapshot().kinds["price"].filled_by_peer
    peers += second.snapshot().kinds["price"].filled_by_peer
    assert peers == 1


async def test_a_price_invalidated_on_one_replica_is_not_served_stale_by_the_other(
    redis_url: str, replica: Replica
) -> None:
    fake = seeded_fake()
    first, second = await replica(redis_url, fake), await replica(redis_url, fake)
    await first.get_price(CTX, QUERY)
    await second.get_price(CTX, QUERY)  # now in the second replica's L1 too
    fake.prices["I1"] = Decimal("12.50")

    result = await first.invalidate(kind="price", customer_id="C1")
    assert await eventually(lambda: second.cache.snapshot().invalidations_received == 1)
    price = await second.get_price(CTX, QUERY)

    assert result.propagated
    assert result.l2_removed == 1
    assert price.net_price == Decimal("12.50")
    assert not price.freshness.cached


async def test_requests_keep_succeeding_while_redis_is_down_and_use_it_again_when_back(
    killable_redis: RedisServer, replica: Replica
) -> None:
    fake = seeded_fake()
    gateway = await replica(killable_redis.url, fake)
    await gateway.get_price(CTX, QUERY)

    killable_redis.stop()
    during = [await gateway.get_price(CTX, QUERY) for _ in range(20)]
    item = await gateway.get_item(CTX, "I1")  # not cached: live, L1 only
    stats = gateway.cache.snapshot()

    assert {p.net_price for p in during} == {Decimal("10.00")}
    assert item.item_id == "I1"
    assert stats.l2_errors >= 1
    assert stats.l2_skipped >= 1  # after the first failure L2 is not even tried for a while
    assert not stats.l2_available

    killable_redis.start()
    await asyncio.sleep(0.25)  # past l2_retry_after
    await gateway.get_item(CTX, "I2")  # a fill after recovery goes to Redis again
    assert await eventually(lambda: gateway.cache.snapshot().listener_connected)
    other = await replica(killable_redis.url, fake)
    calls_before = len(fake.calls)
    shared = await other.get_item(CTX, "I2")

    assert len(fake.calls) == calls_before
    assert shared.freshness.cached
    assert other.cache.snapshot().l2_hits == 1
    assert gateway.cache.snapshot().l1_flushes == 1  # may have missed invalidations


async def test_without_redis_the_cache_runs_l1_only() -> None:
    fake = seeded_fake()
    cache = TwoLevelCache(None)
    await cache.start()
    gateway = CachedBackend(fake, cache=cache, policy=CachePolicy(price=LONG))

    await gateway.get_price(CTX, QUERY)
    again = await gateway.get_price(CTX, QUERY)
    stats = cache.snapshot()
    await cache.aclose()

    assert again.freshness.cached
    assert len(fake.calls) == 1
    assert (stats.l2_configured, stats.l2_errors) == (False, 0)


async def test_records_round_trip_through_redis_unchanged(redis_url: str, replica: Replica) -> None:
    fake = seeded_fake()
    first, second = await replica(redis_url, fake), await replica(redis_url, fake)
    credit = await first.get_customer_credit(CTX, "HOLD")
    item = await first.get_item(CTX, "I1")
    rows = await first.get_availability(CTX, "I1")

    assert (await second.get_customer_credit(CTX, "HOLD")).freshness.cached
    same_credit = await second.get_customer_credit(CTX, "HOLD")
    same_item = await second.get_item(CTX, "I1")
    same_rows = await second.get_availability(CTX, "I1")

    def plain(record: object) -> object:
        return msgspec.structs.replace(record, freshness=credit.freshness)  # type: ignore[type-var]

    assert plain(same_credit) == credit
    assert plain(same_item) == item
    assert tuple(plain(r) for r in same_rows) == rows
    assert len(fake.calls) == 3


async def test_a_redis_that_stops_answering_costs_one_short_timeout_then_nothing() -> None:
    """A Redis that accepts connections but never replies (hung, or a black-holed network)."""
    connections: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    redis = _redis(f"redis://127.0.0.1:{port}/0")
    cache = TwoLevelCache(redis, l2_timeout=0.05, l2_retry_after=3600.0)
    gateway = CachedBackend(seeded_fake(), cache=cache, policy=CachePolicy(price=LONG))
    try:
        prices = []
        for quantity in range(1, 11):  # cold keys: each would read, lock and write L2
            query = msgspec.structs.replace(QUERY, quantity=Decimal(quantity))
            # No request deadline: only the L2 guard's own timeout stands between this
            # request and a Redis that never answers.
            prices.append(await gateway.get_price(CTX, query))
        stats = cache.snapshot()
    finally:
        await gateway.aclose()
        await redis.aclose()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()

    assert {p.net_price for p in prices} == {Decimal("10.00")}
    assert all(not p.freshness.cached for p in prices)  # answered live, L1 only
    assert stats.l2_errors == 1  # one timed-out call ...
    assert stats.l2_skipped >= 9 * 3  # ... then L2 latched off: not even tried
    assert len(connections) == 1  # no reconnect storm either
