"""Cache over resilience over the M3 adapter over its emulator (real loopback HTTP), with faults.

The composition the gateway uses: ``CachedBackend(ResilientBackend(M3Adapter))``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from sandbox.infor.faults import Fault
from system_apis.cache import CachedBackend, CachePolicy, KindPolicy, TwoLevelCache
from system_apis.contract import CallContext, PriceQuery
from system_apis.errors import BackendUnavailableError
from system_apis.resilience import (
    BreakerPolicy,
    CircuitOpenError,
    ResiliencePolicy,
    ResilientBackend,
    RetryPolicy,
)
from tests.support.clock import ManualClock
from tests.support.contract_env import ContractEnv
from tests.support.infor_env import infor_contract_env
from tests.support.waiting import eventually

PRICE_TX = "OIS320MI/GetPriceLine"
GONE_STALE = KindPolicy(fresh_seconds=0.05, stale_seconds=0.0, error_seconds=60)
"""Past 50 ms a value needs a live call, but may stand in for a failing Infor for a minute."""


@dataclass
class Stack:
    env: ContractEnv
    resilient: ResilientBackend
    cached: CachedBackend
    clock: ManualClock | None
    """When given: the clock of the breakers and of cache ages, moved by the test."""

    def ctx(self, deadline_in: float | None = None) -> CallContext:
        deadline = None if deadline_in is None else time.monotonic() + deadline_in
        return CallContext(company="100", division="US1", deadline=deadline)

    def price_calls(self) -> int:
        return len(self.env.emulator.received_named(PRICE_TX))


def _query(quantity: int = 1) -> PriceQuery:
    return PriceQuery(
        customer_id="US0001",
        item_id="A1001",
        quantity=Decimal(quantity),
        uom="EA",
        currency="USD",
        on_date=date.today(),
    )


@pytest.fixture
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    options = getattr(request, "param", {})
    clock: ManualClock | None = options.get("clock")
    clocked = {"clock": clock} if clock is not None else {}
    async with infor_contract_env(request_timeout=2.0) as env:
        resilient = ResilientBackend(
            env.backend,
            policy=ResiliencePolicy(
                retry=RetryPolicy.without_backoff(),
                breaker=options.get("breaker", BreakerPolicy()),
            ),
            **clocked,
        )
        cached = CachedBackend(
            resilient,
            cache=TwoLevelCache(None, **clocked),
            policy=CachePolicy(
                price=GONE_STALE, refresh_timeout=options.get("refresh_timeout", 0.3)
            ),
            **clocked,
        )
        try:
            yield Stack(env, resilient, cached, clock)
        finally:
            await cached.aclose()


@pytest.mark.parametrize("stack", [{"clock": ManualClock()}], indirect=True, ids=["manual-clock"])
async def test_infor_hanging_answers_cached_values_degraded_within_the_deadline(
    stack: Stack,
) -> None:
    assert stack.clock is not None
    known = await stack.cached.get_price(stack.ctx(), _query())
    stack.clock.advance(0.06)  # past freshness: the next read wants Infor
    stack.env.emulator.set_fault(PRICE_TX, Fault(kind="hang"))

    price = await stack.cached.get_price(stack.ctx(0.25), _query())

    # Answered while the hung call is still in flight: the deadline, not Infor, ended the wait.
    assert stack.cached.snapshot().fills_in_flight == 1
    assert price.freshness.degraded
    assert price.freshness.age_seconds == pytest.approx(0.06)
    assert (price.net_price, price.list_price) == (known.net_price, known.list_price)
    # The hung call outlives the request only until the refresh timeout, then is cancelled.
    assert await eventually(lambda: stack.cached.snapshot().fills_in_flight == 0)
    assert stack.resilient.snapshot().in_flight == 0
    assert stack.cached.snapshot().kinds["price"].backend_failures == 1


@pytest.mark.parametrize(
    "stack",
    [
        {
            "breaker": BreakerPolicy(consecutive_failures=10**6, failure_ratio=2.0),
            "refresh_timeout": 30.0,  # counting calls here, not timing them
        }
    ],
    indirect=True,
    ids=["breaker-never-opens"],
)
async def test_infor_at_100_percent_503_sees_at_most_1_2x_the_client_calls(stack: Stack) -> None:
    stack.env.emulator.set_fault(PRICE_TX, Fault(kind="status", status=503, retry_after=0))
    client_requests = 60

    for quantity in range(1, client_requests + 1):  # each a cold key: one fill per request
        with pytest.raises(BackendUnavailableError):
            await stack.cached.get_price(stack.ctx(), _query(quantity))

    backend_calls = stack.price_calls()
    assert client_requests < backend_calls <= 1.2 * client_requests + 3
    assert stack.resilient.snapshot().retries == backend_calls - client_requests


@pytest.mark.parametrize(
    "stack",
    [
        {
            "breaker": BreakerPolicy(consecutive_failures=5, open_seconds=5.0),
            "clock": ManualClock(),
            "refresh_timeout": 30.0,
        }
    ],
    indirect=True,
    ids=["open-for-5s-on-a-manual-clock"],
)
async def test_breaker_opens_on_503s_and_closes_when_infor_recovers(stack: Stack) -> None:
    # Time moves only when the test says so: the breaker cannot drift to half-open while the
    # 30 requests run, however slowly a busy machine runs them.
    assert stack.clock is not None
    cached_price = await stack.cached.get_price(stack.ctx(), _query())
    stack.clock.advance(0.06)  # past the price's freshness: the next reads want Infor
    stack.env.emulator.set_fault(PRICE_TX, Fault(kind="status", status=503, retry_after=0))
    client_requests = 30
    answers = [await stack.cached.get_price(stack.ctx(), _query()) for _ in range(client_requests)]
    with pytest.raises(CircuitOpenError):
        await stack.cached.get_price(stack.ctx(), _query(7))  # nothing cached for this one

    calls_while_failing = stack.price_calls() - 1
    assert stack.resilient.breaker_state("100") == "open"
    assert calls_while_failing <= 1.2 * client_requests + 3
    assert calls_while_failing < 10  # the breaker, not the budget, stopped them
    assert all(a.freshness.degraded for a in answers)
    assert {a.net_price for a in answers} == {cached_price.net_price}

    stack.env.emulator.clear_faults()
    stack.clock.advance(4.9)
    assert stack.resilient.breaker_state("100") == "open"  # still refusing, 0.1 s to go
    stack.clock.advance(0.1)
    recovered = await stack.cached.get_price(stack.ctx(), _query())

    assert stack.resilient.breaker_state("100") == "closed"
    assert not recovered.freshness.cached
    assert recovered.net_price == cached_price.net_price
