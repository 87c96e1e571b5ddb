"""CachedBackend over the in-memory ERP, L1 only (no Redis): what a caller sees, and when.

Ages are read from a clock the tests move by hand; a slow or hanging ERP is a gate the test
holds shut. Only the request's own deadline and the fill's bound are real time, and no test
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from system_apis.cache import CachedBackend, CachePolicy, KindPolicy, TwoLevelCache
from system_apis.cache.keys import item_key
from system_apis.contract import CallContext, ErpBackend, Freshness
from system_apis.errors import BackendTimeoutError, BackendUnavailableError, NotFoundError
from system_apis.resilience import BreakerPolicy, ResiliencePolicy, ResilientBackend, RetryPolicy
from tests.support.clock import ManualClock
from tests.support.fake_erp import FakeErp, price_query, seeded_fake
from tests.support.waiting import eventually

CTX = CallContext(company="100", division="US1")
SHORT = KindPolicy(fresh_seconds=5, stale_seconds=5, error_seconds=60)
"""Fresh for 5 s, then served stale while refreshing for 5 s, then live-or-degraded."""
PAST_FRESH = 6
PAST_STALE = 11


def _policy(**overrides: object) -> CachePolicy:
    kinds = {"credit": SHORT, "item": SHORT, "price": SHORT, "availability": SHORT}
    return CachePolicy(**{**kinds, "refresh_timeout": 30, **overrides})  # type: ignore[arg-type]


def _within(seconds: float, company: str = "100") -> CallContext:
    return CallContext(company=company, division="US1", deadline=time.monotonic() + seconds)


@pytest.fixture
def fake() -> FakeErp:
    return seeded_fake()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _cached(inner: ErpBackend, clock: ManualClock, **policy: object) -> CachedBackend:
    return CachedBackend(
        inner, cache=TwoLevelCache(None, clock=clock), policy=_policy(**policy), clock=clock
    )


@pytest.fixture
async def cached(fake: FakeErp, clock: ManualClock) -> AsyncIterator[CachedBackend]:
    backend = _cached(fake, clock)
    yield backend
    await backend.aclose()


def _calls(fake: FakeErp, method: str) -> int:
    return sum(1 for name, _ in fake.calls if name == method)


def test_cached_backend_implements_the_contract(cached: CachedBackend) -> None:
    assert isinstance(cached, ErpBackend)


async def test_first_read_is_live_and_the_next_comes_from_cache(
    cached: CachedBackend, fake: FakeErp, clock: ManualClock
) -> None:
    first = await cached.get_customer_credit(CTX, "C1")
    clock.advance(2)
    second = await cached.get_customer_credit(CTX, "C1")

    assert first.freshness == Freshness()
    assert second.freshness.cached
    assert not second.freshness.stale
    assert second.freshness.age_seconds == 2
    assert second.credit_limit == first.credit_limit
    assert _calls(fake, "get_customer_credit") == 1


async def test_stale_value_is_answered_at_once_and_refreshed_in_the_background(
    cached: CachedBackend, fake: FakeErp, clock: ManualClock
) -> None:
    await cached.get_item(CTX, "I1")
    clock.advance(PAST_FRESH)
    erp = fake.gate("get_item")

    stale = await cached.get_item(CTX, "I1")  # answered while the refresh waits at the gate
    assert cached.snapshot().fills_in_flight == 1
    erp.open()
    assert await eventually(lambda: cached.snapshot().fills_in_flight == 0)
    refreshed = await cached.get_item(CTX, "I1")

    assert stale.freshness.stale
    assert not stale.freshness.degraded
    assert _calls(fake, "get_item") == 2
    assert refreshed.freshness.cached
    assert not refreshed.freshness.stale
    assert refreshed.freshness.age_seconds == 0


async def test_failing_backend_gets_the_old_value_flagged_degraded_with_its_age(
    cached: CachedBackend, fake: FakeErp, clock: ManualClock
) -> None:
    await cached.get_price(CTX, price_query())
    clock.advance(PAST_STALE)
    fake.fail["get_price"] = BackendUnavailableError("503", vendor="infor_m3", status_code=503)

    price = await cached.get_price(CTX, price_query())

    assert price.net_price == Decimal("10.00")
    assert price.freshness.degraded
    assert price.freshness.stale
    assert price.freshness.age_seconds == PAST_STALE


async def test_hanging_backend_gets_the_old_value_when_the_deadline_comes(
    cached: CachedBackend, fake: FakeErp, clock: ManualClock
) -> None:
    await cached.get_availability(CTX, "I1", ("W1",))
    clock.advance(PAST_STALE)
    fake.delay["get_availability"] = float("inf")

    rows = await cached.get_availability(_within(0.05), "I1", ("W1",))

    assert cached.snapshot().fills_in_flight == 1  # the deadline, not the ERP, ended the wait
    assert [(r.warehouse_id, r.available_now) for r in rows] == [("W1", Decimal(50))]
    assert all(r.freshness.degraded for r in rows)


async def test_the_abandoned_call_is_cancelled_at_the_refresh_timeout(
    fake: FakeErp, clock: ManualClock
) -> None:
    cached = _cached(fake, clock, refresh_timeout=0.05)
    await cached.get_item(CTX, "I1")
    clock.advance(PAST_STALE)
    fake.delay["get_item"] = float("inf")

    degraded = await cached.get_item(_within(0.01), "I1")
    assert await eventually(lambda: cached.snapshot().fills_in_flight == 0)

    assert degraded.freshness.degraded
    assert fake.cancelled == ["get_item"]
    assert cached.snapshot().kinds["item"].backend_failures == 1


async def test_nothing_cached_and_backend_failing_raises_the_backend_error(
    cached: CachedBackend, fake: FakeErp
) -> None:
    fake.fail["get_item"] = BackendUnavailableError("down", vendor="infor_m3")

    with pytest.raises(BackendUnavailableError):
        await cached.get_item(CTX, "I1")


async def test_nothing_cached_and_backend_hanging_times_out_at_the_deadline(
    cached: CachedBackend, fake: FakeErp
) -> None:
    fake.delay["get_item"] = float("inf")

    with pytest.raises(BackendTimeoutError):
        await cached.get_item(_within(0.05), "I1")

    assert cached.snapshot().fills_in_flight == 1  # the call goes on, bounded by its own limit


async def test_not_found_is_an_answer_never_hidden_behind_a_cached_value(
    cached: CachedBackend, fake: FakeErp, clock: ManualClock
) -> None:
    await cached.get_item(CTX, "I1")
    clock.advance(PAST_STALE)
    del fake.items["I1"]

    with pytest.raises(NotFoundError):
        await cached.get_item(CTX, "I1")
    with pytest.raises(NotFoundError):
        await cached.get_item(CTX, "I1")

    assert cached.cache.peek(item_key(cached.vendor, CTX, "I1")) is None


async def test_too_old_values_are_not_served_even_when_the_backend_fails(
    fake: FakeErp, clock: ManualClock
) -> None:
    short = KindPolicy(fresh_seconds=2, stale_seconds=2, error_seconds=6)
    cached = _cached(fake, clock, item=short)
    await cached.get_item(CTX, "I1")
    clock.advance(7)
    fake.fail["get_item"] = BackendUnavailableError("down", vendor="infor_m3")

    with pytest.raises(BackendUnavailableError):
        await cached.get_item(CTX, "I1")
    await cached.aclose()


async def test_200_concurrent_cold_requests_make_one_backend_call(
    cached: CachedBackend, fake: FakeErp
) -> None:
    erp = fake.gate("get_price")

    requests = asyncio.gather(*(cached.get_price(CTX, price_query()) for _ in range(200)))
    await erp.reached.wait()
    erp.open()
    prices = await requests

    assert _calls(fake, "get_price") == 1
    assert {p.net_price for p in prices} == {Decimal("10.00")}


async def test_keys_tell_apart_every_query_field(cached: CachedBackend, fake: FakeErp) -> None:
    variants = [
        price_query(),
        price_query(on_date=date(2026, 11, 24)),
        price_query(quantity=Decimal(100)),
        price_query(uom="BOX"),
        price_query(customer_id="HOLD"),
        price_query(warehouse_id="W1"),
    ]
    for query in variants:
        await cached.get_price(CTX, query)
    await cached.get_price(CallContext(company="200", division="US1"), price_query())
    await cached.get_price(CallContext(company="100", division="CA1"), price_query())
    await cached.get_price(CTX, price_query(quantity=Decimal("1.000")))  # same quantity as 1

    assert _calls(fake, "get_price") == len(variants) + 2


async def test_open_breaker_answers_from_cache_without_calling_the_erp(
    fake: FakeErp, clock: ManualClock
) -> None:
    resilient = ResilientBackend(
        fake,
        policy=ResiliencePolicy(
            retry=RetryPolicy.without_backoff(), breaker=BreakerPolicy(consecutive_failures=2)
        ),
        clock=clock,
    )
    cached = _cached(resilient, clock)
    await cached.get_customer_credit(CTX, "C1")
    clock.advance(PAST_STALE)
    fake.fail["get_customer_credit"] = BackendUnavailableError("down", vendor="infor_m3")
    for _ in range(2):
        await cached.get_customer_credit(CTX, "C1")
    assert resilient.breaker_state("100") == "open"
    calls = len(fake.calls)

    credit = await cached.get_customer_credit(CTX, "C1")

    assert len(fake.calls) == calls  # refused by the breaker, answered from cache
    assert credit.freshness.degraded
    await cached.aclose()


async def test_invalidating_a_customer_drops_its_credit_and_prices_only(
    cached: CachedBackend, fake: FakeErp
) -> None:
    await cached.get_customer_credit(CTX, "C1")
    await cached.get_customer_credit(CTX, "HOLD")
    await cached.get_price(CTX, price_query())
    await cached.get_price(CTX, price_query(customer_id="HOLD"))
    await cached.get_item(CTX, "I1")

    result = await cached.invalidate(customer_id="C1")
    for _ in range(2):
        await cached.get_customer_credit(CTX, "C1")
        await cached.get_customer_credit(CTX, "HOLD")
        await cached.get_price(CTX, price_query())
        await cached.get_price(CTX, price_query(customer_id="HOLD"))
        await cached.get_item(CTX, "I1")

    assert result.l1_removed == 2
    assert not result.propagated  # no Redis: nobody else to tell
    assert [name for name, _ in fake.calls[5:]] == ["get_customer_credit", "get_price"]


async def test_invalidating_an_item_drops_item_availability_and_its_prices(
    cached: CachedBackend,
) -> None:
    await cached.get_item(CTX, "I1")
    await cached.get_item(CTX, "I2")
    await cached.get_availability(CTX, "I1", ("W1",))
    await cached.get_price(CTX, price_query())
    await cached.get_price(CTX, price_query(item_id="I2"))

    result = await cached.invalidate(item_id="I1")

    assert result.l1_removed == 3


async def test_invalidating_a_kind_of_one_company(cached: CachedBackend) -> None:
    await cached.get_price(CTX, price_query())
    await cached.get_price(CallContext(company="200", division="US1"), price_query())
    await cached.get_item(CTX, "I1")

    result = await cached.invalidate(kind="price", company="200")

    assert result.l1_removed == 1


async def test_warm_loads_a_customers_data_ahead_of_time(
    cached: CachedBackend, fake: FakeErp
) -> None:
    report = await cached.warm(
        CTX,
        customers=["C1", "NOPE"],
        items=["I1"],
        prices=[price_query(), price_query(item_id="I2")],
        availability=[("I1", ("W1", "W2"))],
    )
    calls_after_warm = len(fake.calls)
    credit = await cached.get_customer_credit(CTX, "C1")
    rows = await cached.get_availability(CTX, "I1", ("W1", "W2"))

    assert report.loaded == 5
    assert list(report.failed.values()) == ["not_found"]
    assert len(fake.calls) == calls_after_warm
    assert credit.freshness.cached
    assert [r.warehouse_id for r in rows] == ["W1", "W2"]


async def test_l1_is_bounded_by_entries(fake: FakeErp, clock: ManualClock) -> None:
    fake.prices.update({f"X{i}": Decimal(i) for i in range(50)})
    cache = TwoLevelCache(None, l1_max_entries=10, clock=clock)
    cached = CachedBackend(fake, cache=cache, policy=_policy(), clock=clock)

    for i in range(50):
        await cached.get_price(CTX, price_query(item_id=f"X{i}"))

    assert cache.snapshot().l1_entries == 10


async def test_snapshot_counts_hits_stale_misses_and_degraded(
    cached: CachedBackend, fake: FakeErp, clock: ManualClock
) -> None:
    await cached.get_item(CTX, "I1")  # miss, live
    await cached.get_item(CTX, "I1")  # hit
    clock.advance(PAST_FRESH)
    await cached.get_item(CTX, "I1")  # stale (+ background refresh)
    assert await eventually(lambda: cached.snapshot().fills_in_flight == 0)
    clock.advance(PAST_STALE)
    fake.fail["get_item"] = BackendUnavailableError("down", vendor="infor_m3")
    await cached.get_item(CTX, "I1")  # miss, degraded

    stats = cached.snapshot().kinds["item"]

    assert (stats.hits, stats.stale, stats.misses, stats.live, stats.degraded) == (1, 1, 2, 1, 1)
    assert stats.backend_calls == 3


async def test_stats_encode_as_json_for_readiness_and_metrics(cached: CachedBackend) -> None:
    import msgspec

    resilient = ResilientBackend(seeded_fake())
    await resilient.get_item(CTX, "I1")
    await cached.get_item(CTX, "I1")

    cache_stats = msgspec.json.decode(msgspec.json.encode(cached.snapshot()))
    breaker_stats = msgspec.json.decode(msgspec.json.encode(resilient.snapshot()))

    assert cache_stats["kinds"]["item"]["misses"] == 1
    assert cache_stats["cache"]["l2_configured"] is False
    assert breaker_stats["breakers"]["100"]["state"] == "closed"


async def test_fills_that_hang_past_their_bound_open_the_breaker_and_stop_calling(
    fake: FakeErp,
) -> None:
    # The fill's own bound and the resilience layer's timeout expire at the same instant;
    # whichever fires, the hang counts as a failure and the breaker opens on it, as on a 503.
    fake.delay["get_customer_credit"] = float("inf")
    resilient = ResilientBackend(
        fake,
        policy=ResiliencePolicy(
            retry=RetryPolicy.without_backoff(), breaker=BreakerPolicy(consecutive_failures=3)
        ),
    )
    cached = CachedBackend(
        resilient, cache=TwoLevelCache(None), policy=_policy(refresh_timeout=0.05)
    )

    report = await cached.warm(CTX, customers=["C1", "C2", "C3"])

    assert {"timeout"} == set(report.failed.values())
    assert resilient.breaker_state("100") == "open"
    assert resilient.snapshot().timeouts == 3
    assert resilient.snapshot().in_flight == 0
    for _ in range(20):  # hung calls do not pile up: the open breaker makes none
        with pytest.raises(BackendUnavailableError):
            await cached.get_customer_credit(CTX, "C4")
    assert len(fake.calls) == 3
    await cached.aclose()
