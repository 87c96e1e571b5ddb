"""ResilientBackend over the in-memory ERP: timeouts, retries, retry budget, breaker, bulkhead."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from system_apis.contract import CallContext, ErpBackend, OrderRequest, Price, PriceQuery
from system_apis.errors import (
    BackendError,
    BackendProtocolError,
    BackendRateLimitedError,
    BackendRejectedError,
    BackendTimeoutError,
    BackendUnavailableError,
    NotFoundError,
)
from system_apis.resilience import (
    BreakerPolicy,
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    ResiliencePolicy,
    ResilientBackend,
    RetryPolicy,
)
from system_apis.resilience.backend import CALLS_PER_SLOT
from tests.support.fake_erp import FakeErp, seeded_fake
from tests.support.waiting import eventually

CTX = CallContext(company="100", division="US1")


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def no_backoff() -> RetryPolicy:
    """The one switch tests use to retry without waiting."""
    return RetryPolicy.without_backoff()


def _unavailable(status: int | None = 503) -> BackendUnavailableError:
    return BackendUnavailableError("injected", vendor="infor_m3", status_code=status)


def _query(qty: int = 1) -> PriceQuery:
    return PriceQuery(
        customer_id="C1",
        item_id="I1",
        quantity=Decimal(qty),
        uom="EA",
        currency="USD",
        on_date=date(2026, 11, 23),
    )


def _within(seconds: float) -> CallContext:
    return CallContext(company="100", division="US1", deadline=time.monotonic() + seconds)


def _backend(fake: FakeErp, **policy: object) -> ResilientBackend:
    return ResilientBackend(fake, policy=ResiliencePolicy(**policy))  # type: ignore[arg-type]


def test_resilient_backend_implements_the_contract() -> None:
    assert isinstance(ResilientBackend(seeded_fake()), ErpBackend)


# ---------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    "error",
    [
        _unavailable(503),
        _unavailable(502),
        _unavailable(None),  # connection refused / reset
        BackendTimeoutError("gateway", vendor="infor_m3", status_code=504),
        BackendRateLimitedError("slow down", vendor="infor_m3", status_code=429, retry_after=0),
    ],
    ids=["503", "502", "connection", "504", "429"],
)
async def test_safe_read_is_retried_on_transient_errors(
    error: BackendError, no_backoff: RetryPolicy
) -> None:
    fake = seeded_fake()
    fake.fail["get_item"] = error
    backend = _backend(fake, retry=no_backoff)

    with pytest.raises(type(error)):
        await backend.get_item(CTX, "I1")

    assert [c[0] for c in fake.calls] == ["get_item"] * 3


@pytest.mark.parametrize(
    "error",
    [
        _unavailable(500),
        NotFoundError("no such item", vendor="infor_m3"),
        BackendRejectedError("closed period", vendor="infor_m3", status_code=400),
        BackendProtocolError("malformed", vendor="infor_m3", status_code=200),
        BackendTimeoutError("our own clock", vendor="infor_m3"),
        BackendUnavailableError(
            "edge timeout", vendor="sage_intacct", status_code=503, retryable=False
        ),
    ],
    ids=["500", "not-found", "rejected", "malformed", "own-timeout", "vendor-says-no"],
)
async def test_other_errors_are_not_retried(error: BackendError, no_backoff: RetryPolicy) -> None:
    fake = seeded_fake()
    fake.fail["get_item"] = error
    backend = _backend(fake, retry=no_backoff)

    with pytest.raises(type(error)):
        await backend.get_item(CTX, "I1")

    assert len(fake.calls) == 1


async def test_create_order_is_never_retried(no_backoff: RetryPolicy) -> None:
    calls: list[str] = []

    class OrderDesk(FakeErp):
        async def create_order(self, ctx: CallContext, order: OrderRequest) -> object:  # type: ignore[override]
            calls.append(order.external_ref)
            raise _unavailable(503)

    backend = _backend(OrderDesk(), retry=no_backoff)
    order = OrderRequest(
        external_ref="SF-1", customer_id="C1", currency="USD", order_date=date(2026, 1, 1), lines=()
    )

    with pytest.raises(BackendUnavailableError):
        await backend.create_order(CTX, order)

    assert calls == ["SF-1"]


async def test_retry_waits_at_least_retry_after() -> None:
    fake = seeded_fake()
    fake.fail["get_item"] = BackendRateLimitedError(
        "throttled", vendor="infor_m3", status_code=429, retry_after=0.05
    )
    backend = _backend(fake, retry=RetryPolicy(max_attempts=2, base_delay=0.0))
    started = time.monotonic()

    with pytest.raises(BackendRateLimitedError):
        await backend.get_item(CTX, "I1")

    assert time.monotonic() - started >= 0.05
    assert len(fake.calls) == 2


async def test_no_retry_when_the_wait_would_pass_the_deadline() -> None:
    fake = seeded_fake()
    fake.fail["get_item"] = BackendRateLimitedError(
        "throttled", vendor="infor_m3", status_code=429, retry_after=1.0
    )
    backend = _backend(fake, retry=RetryPolicy())

    with pytest.raises(BackendRateLimitedError):
        await backend.get_item(_within(0.2), "I1")

    assert len(fake.calls) == 1  # a second attempt would have waited past the deadline
    assert backend.snapshot().retries == 0


async def test_retry_budget_holds_a_failing_backend_to_about_1_2x_the_calls(
    no_backoff: RetryPolicy,
) -> None:
    fake = seeded_fake()
    fake.fail["get_item"] = _unavailable(503)
    # A breaker that never opens, to see the budget alone.
    backend = _backend(
        fake, retry=no_backoff, breaker=BreakerPolicy(consecutive_failures=10**6, failure_ratio=2)
    )
    client_calls = 200

    for _ in range(client_calls):
        with pytest.raises(BackendUnavailableError):
            await backend.get_item(CTX, "I1")

    backend_calls = len(fake.calls)
    assert client_calls < backend_calls <= 1.2 * client_calls + 3
    assert backend.snapshot().retries_refused_by_budget > 0


# ---------------------------------------------------------------------------- timeouts


async def test_a_hung_backend_is_cut_off_at_the_deadline() -> None:
    fake = seeded_fake()
    fake.delay["get_item"] = float("inf")
    backend = _backend(fake)

    with pytest.raises(BackendTimeoutError):
        await backend.get_item(_within(0.1), "I1")

    assert fake.cancelled == ["get_item"]  # our timer, at the deadline, ended the hang
    assert backend.snapshot().timeouts == 1


async def test_a_caller_cancelling_a_call_gets_a_cancellation_not_a_timeout() -> None:
    fake = seeded_fake()
    fake.delay["get_item"] = float("inf")
    backend = _backend(fake)

    call = asyncio.ensure_future(backend.get_item(_within(30), "I1"))
    await eventually(lambda: fake.calls != [])
    call.cancel()

    with pytest.raises(asyncio.CancelledError):
        await call
    assert backend.snapshot().timeouts == 0


async def test_a_call_past_its_deadline_is_not_made() -> None:
    fake = seeded_fake()
    backend = _backend(fake)

    with pytest.raises(BackendTimeoutError):
        await backend.get_item(_within(-1), "I1")

    assert fake.calls == []


# ---------------------------------------------------------------------------- breaker


async def test_breaker_opens_after_consecutive_failures_and_then_answers_at_once(
    no_backoff: RetryPolicy,
) -> None:
    fake = seeded_fake()
    fake.fail["get_item"] = _unavailable(500)  # not retried: one backend call per client call
    backend = _backend(fake, retry=no_backoff, breaker=BreakerPolicy(consecutive_failures=3))
    for _ in range(3):
        with pytest.raises(BackendUnavailableError):
            await backend.get_item(CTX, "I1")

    with pytest.raises(CircuitOpenError) as raised:
        await backend.get_item(CTX, "I1")

    assert len(fake.calls) == 3  # refused without a call
    assert raised.value.retry_after is not None
    assert backend.snapshot().breakers["100"].state == "open"


async def test_business_answers_never_trip_the_breaker() -> None:
    fake = seeded_fake()
    backend = _backend(fake, breaker=BreakerPolicy(consecutive_failures=2, min_calls=2))

    for _ in range(10):
        with pytest.raises(NotFoundError):
            await backend.get_item(CTX, "NOPE")

    assert backend.breaker_state("100") == "closed"


def test_breaker_opens_on_failure_ratio() -> None:
    breaker = CircuitBreaker(
        BreakerPolicy(consecutive_failures=100, failure_ratio=0.5, window=10, min_calls=10)
    )
    for _ in range(5):
        assert breaker.try_acquire()
        breaker.record_success()
        assert breaker.try_acquire()
        breaker.record_failure()

    assert breaker.state == "open"


def test_breaker_probes_half_open_then_closes_on_success() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerPolicy(consecutive_failures=1, open_seconds=5), clock=clock)
    assert breaker.try_acquire()
    breaker.record_failure()
    assert not breaker.try_acquire()

    clock.now += 5
    assert breaker.state == "half_open"
    assert breaker.try_acquire()  # the probe
    assert not breaker.try_acquire()  # only one probe at a time
    breaker.record_success()

    assert breaker.state == "closed"
    assert breaker.try_acquire()


def test_breaker_reopens_when_the_probe_fails() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerPolicy(consecutive_failures=1, open_seconds=5), clock=clock)
    breaker.try_acquire()
    breaker.record_failure()
    clock.now += 5
    assert breaker.try_acquire()

    breaker.record_failure()

    assert breaker.state == "open"
    assert breaker.snapshot().opened == 2
    clock.now += 4.9
    assert not breaker.try_acquire()


@dataclass
class _PerCompany(FakeErp):
    broken: str = "DE01"

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> Price:
        if ctx.company == self.broken:
            self.calls.append(("get_price", ctx.company))
            raise _unavailable(500)
        return await super().get_price(ctx, query)


async def test_breaker_is_kept_per_company(no_backoff: RetryPolicy) -> None:
    fake = _PerCompany(vendor_name="sage_intacct", prices={"I1": Decimal(10)})
    backend = _backend(fake, retry=no_backoff, breaker=BreakerPolicy(consecutive_failures=2))
    broken, healthy = CallContext(company="DE01"), CallContext(company="UK01")
    for _ in range(2):
        with pytest.raises(BackendUnavailableError):
            await backend.get_price(broken, _query())

    with pytest.raises(CircuitOpenError):
        await backend.get_price(broken, _query())
    price = await backend.get_price(healthy, _query())

    assert price.net_price == Decimal(10)
    states = {c: b.state for c, b in backend.snapshot().breakers.items()}
    assert states == {"DE01": "open", "UK01": "closed"}


# ---------------------------------------------------------------------------- bulkhead


async def test_bulkhead_caps_calls_in_flight_and_refuses_the_rest_quickly() -> None:
    fake = seeded_fake()
    erp = fake.gate("get_item")
    backend = _backend(fake, max_in_flight=2, queue_wait=0.02)
    hung = [asyncio.create_task(backend.get_item(CTX, "I1")) for _ in range(2)]
    assert await eventually(lambda: len(fake.calls) == 2)

    with pytest.raises(BulkheadFullError):
        await backend.get_item(CTX, "I1")

    assert backend.snapshot().in_flight == 2
    assert len(fake.calls) == 2
    erp.open()
    await asyncio.gather(*hung)
    assert backend.snapshot().in_flight == 0
    assert backend.breaker_state("100") == "closed"  # a full bulkhead says nothing of the ERP


async def test_a_hung_backend_does_not_starve_another() -> None:
    infor, intacct = seeded_fake("infor_m3"), seeded_fake("sage_intacct")
    erp = infor.gate("get_item")
    hung_backend = _backend(infor, max_in_flight=2, queue_wait=0.01)
    other = _backend(intacct, max_in_flight=2)
    hung = [asyncio.create_task(hung_backend.get_item(CTX, "I1")) for _ in range(5)]
    assert await eventually(lambda: sum(t.done() for t in hung) == 3)  # refused by the bulkhead

    items = await asyncio.gather(*(other.get_item(CTX, "I1") for _ in range(10)))

    assert {i.item_id for i in items} == {"I1"}
    assert hung_backend.snapshot().in_flight == 2  # answered while Infor still hangs
    erp.open()
    results = await asyncio.gather(*hung, return_exceptions=True)
    assert sum(isinstance(r, BulkheadFullError) for r in results) == 3
    assert sum(not isinstance(r, BaseException) for r in results) == 2


# ---------------------------------------------------------------------------- hangs


async def _until_called(fake: FakeErp, count: int) -> None:
    """One turn of the loop takes a call through every layer into the fake's hang."""
    await asyncio.sleep(0)
    assert count == len(fake.calls)


async def test_a_hang_cut_off_by_an_outer_timeout_at_the_deadline_opens_the_breaker() -> None:
    # An outer layer (the cache's fill bound, the request's fan-out cut-off) whose timer fires
    # at the same deadline as ours cancels the call before our own timer can say "timeout".
    # That is still a hang: it must count as a failure, and the breaker must open on it.
    now = ManualClock()
    fake = seeded_fake()
    fake.delay["get_item"] = float("inf")
    backend = ResilientBackend(
        fake,
        policy=ResiliencePolicy(breaker=BreakerPolicy(consecutive_failures=3)),
        clock=now,
        now=now,
    )
    for n in range(1, 4):
        ctx = CallContext(company="100", division="US1", deadline=now.now + 0.4)
        call = asyncio.ensure_future(backend.get_item(ctx, "I1"))
        await _until_called(fake, n)
        now.now += 0.4  # the deadline is reached while the ERP hangs ...
        call.cancel()  # ... and the outer timer fires
        with pytest.raises(asyncio.CancelledError):
            await call

    snapshot = backend.snapshot()
    assert backend.breaker_state("100") == "open"
    assert snapshot.timeouts == 3
    assert snapshot.in_flight == 0
    with pytest.raises(CircuitOpenError):
        await backend.get_item(CallContext(company="100", deadline=now.now + 0.4), "I1")
    assert len(fake.calls) == 3  # the open breaker made no fourth call


async def test_a_caller_giving_up_before_the_deadline_says_nothing_about_the_backend() -> None:
    now = ManualClock()
    fake = seeded_fake()
    fake.delay["get_item"] = float("inf")
    backend = ResilientBackend(
        fake,
        policy=ResiliencePolicy(breaker=BreakerPolicy(consecutive_failures=1)),
        clock=now,
        now=now,
    )
    call = asyncio.ensure_future(
        backend.get_item(CallContext(company="100", deadline=now.now + 0.4), "I1")
    )
    await _until_called(fake, 1)
    now.now += 0.1  # the client went away with 300 ms left
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    assert backend.breaker_state("100") == "closed"
    assert backend.snapshot().breakers["100"].consecutive_failures == 0


async def test_a_correlation_id_many_requests_reuse_still_meets_the_cap() -> None:
    """A client that sends one fixed correlation id gets a slot per CALLS_PER_SLOT calls, not
    one slot for everything it ever has in flight."""
    fake = seeded_fake()
    erp = fake.gate("get_item")
    backend = _backend(fake, max_in_flight=2, queue_wait=0.02)
    fixed = CallContext(company="100", correlation_id="always-the-same")
    calls = [asyncio.create_task(backend.get_item(fixed, "I1")) for _ in range(2 * CALLS_PER_SLOT)]
    assert await eventually(lambda: len(fake.calls) == 2 * CALLS_PER_SLOT)
    assert backend.snapshot().in_flight == 2

    with pytest.raises(BulkheadFullError):
        await backend.get_item(fixed, "I1")

    erp.open()
    await asyncio.gather(*calls)
    assert backend.snapshot().in_flight == 0


async def test_the_calls_of_one_request_hold_one_bulkhead_slot_together() -> None:
    fake = seeded_fake()
    erp = fake.gate("get_item")
    backend = _backend(fake, max_in_flight=1, queue_wait=0.02)
    quote = CallContext(company="100", division="US1", correlation_id="quote-1")
    fan_out = [asyncio.create_task(backend.get_item(quote, "I1")) for _ in range(3)]
    assert await eventually(lambda: len(fake.calls) == 3)  # all three in flight on one slot

    with pytest.raises(BulkheadFullError):  # another request finds the bulkhead full
        await backend.get_item(CallContext(company="100", correlation_id="quote-2"), "I1")

    assert backend.snapshot().in_flight == 1
    erp.open()
    await asyncio.gather(*fan_out)
    assert backend.snapshot().in_flight == 0
    await backend.get_item(CallContext(company="100", correlation_id="quote-2"), "I1")
