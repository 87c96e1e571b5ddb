"""SingleFlightBackend over the in-memory ERP: identical reads in flight share one call.

A slow ERP is a gate the test holds shut; the tests wait for what they need (the first call at
the gate, the other reads waiting on it), never for a length of time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from system_apis.cache import SingleFlightBackend
from system_apis.contract import CallContext, ErpBackend, Freshness, OrderRequest, PriceQuery
from system_apis.errors import BackendTimeoutError, BackendUnavailableError, NotFoundError
from tests.support.fake_erp import FakeErp, Gate, price_query, seeded_fake
from tests.support.waiting import eventually

CTX = CallContext(company="100", division="US1")


def _within(seconds: float) -> CallContext:
    return CallContext(company="100", division="US1", deadline=time.monotonic() + seconds)


def _calls(fake: FakeErp, method: str) -> int:
    return sum(1 for name, _ in fake.calls if name == method)


async def _one_then_another(
    shared: SingleFlightBackend,
    gate: Gate,
    read: Callable[[CallContext], Awaitable[Any]],
    first: CallContext = CTX,
    second: CallContext = CTX,
) -> tuple[asyncio.Future[Any], asyncio.Future[Any]]:
    """A read held at the ERP's gate, then an identical one waiting on its call."""
    leader = asyncio.ensure_future(read(first))
    await gate.reached.wait()
    joiner = asyncio.ensure_future(read(second))
    assert await eventually(lambda: shared.waiting == 1)
    return leader, joiner


@pytest.fixture
def fake() -> FakeErp:
    return seeded_fake()


@pytest.fixture
def shared(fake: FakeErp) -> SingleFlightBackend:
    return SingleFlightBackend(fake)


def test_it_implements_the_contract(shared: SingleFlightBackend) -> None:
    assert isinstance(shared, ErpBackend)
    assert shared.vendor == "infor_m3"


async def test_identical_reads_in_flight_make_one_call_and_get_its_live_answer(
    shared: SingleFlightBackend, fake: FakeErp
) -> None:
    erp = fake.gate("get_price")
    reads = asyncio.gather(*(shared.get_price(CTX, price_query()) for _ in range(50)))
    await erp.reached.wait()
    assert await eventually(lambda: shared.waiting == 49)
    erp.open()
    prices = await reads

    assert _calls(fake, "get_price") == 1
    assert {p.net_price for p in prices} == {Decimal("10.00")}
    assert {p.freshness for p in prices} == {Freshness()}  # live, not from a cache
    assert shared.joined == 49
    assert shared.waiting == 0
    assert shared.in_flight == 0


async def test_every_kind_is_shared(shared: SingleFlightBackend, fake: FakeErp) -> None:
    gates = [fake.gate(m) for m in ("get_customer_credit", "get_item", "get_availability")]
    reads = asyncio.gather(
        *(shared.get_customer_credit(CTX, "C1") for _ in range(3)),
        *(shared.get_item(CTX, "I1") for _ in range(3)),
        *(shared.get_availability(CTX, "I1", ("W1",)) for _ in range(3)),
    )
    for gate in gates:
        await gate.reached.wait()
    assert await eventually(lambda: shared.waiting == 6)
    for gate in gates:
        gate.open()
    answers = await reads

    assert [_calls(fake, m) for m in ("get_customer_credit", "get_item", "get_availability")] == [
        1,
        1,
        1,
    ]
    assert len({a.customer_id for a in answers[:3]}) == 1  # type: ignore[union-attr]
    assert answers[6] == answers[8]


async def test_reads_that_differ_in_any_key_field_make_calls_of_their_own(
    shared: SingleFlightBackend, fake: FakeErp
) -> None:
    fake.gate("get_price")
    variants = [
        (CTX, price_query()),
        (CTX, price_query(customer_id="C2")),
        (CTX, price_query(quantity=Decimal(2))),
        (CTX, price_query(uom="BOX")),
        (CTX, price_query(on_date=date(2026, 11, 24))),
        (CallContext(company="200", division="US1"), price_query()),
        (CallContext(company="100", division="US2"), price_query()),
    ]
    reads = [asyncio.ensure_future(shared.get_price(c, q)) for c, q in variants]
    assert await eventually(lambda: _calls(fake, "get_price") == len(variants))
    assert shared.waiting == 0
    fake.gates["get_price"].open()
    await asyncio.gather(*reads)
    assert shared.joined == 0


async def test_reads_one_after_another_each_make_a_call(
    shared: SingleFlightBackend, fake: FakeErp
) -> None:
    await shared.get_item(CTX, "I1")
    await shared.get_item(CTX, "I1")
    assert _calls(fake, "get_item") == 2  # nothing is remembered once the call has answered
    assert shared.joined == 0


async def test_not_found_is_everyones_answer(shared: SingleFlightBackend, fake: FakeErp) -> None:
    erp = fake.gate("get_item")
    reads = asyncio.gather(
        *(shared.get_item(CTX, "NOPE") for _ in range(3)), return_exceptions=True
    )
    await erp.reached.wait()
    assert await eventually(lambda: shared.waiting == 2)
    erp.open()
    outcomes = await reads

    assert all(isinstance(o, NotFoundError) for o in outcomes)
    assert _calls(fake, "get_item") == 1


async def test_an_unavailable_erp_is_not_asked_again_by_each_waiting_read(
    shared: SingleFlightBackend, fake: FakeErp
) -> None:
    fake.fail["get_item"] = BackendUnavailableError("503 from the ERP", vendor="infor_m3")
    erp = fake.gate("get_item")
    first, later = await _one_then_another(
        shared, erp, lambda c: shared.get_item(c, "I1"), _within(5), _within(50)
    )
    erp.open()

    for read in (first, later):
        with pytest.raises(BackendUnavailableError):
            await read
    assert _calls(fake, "get_item") == 1


async def test_a_read_whose_leader_went_away_makes_its_own_call(
    shared: SingleFlightBackend, fake: FakeErp
) -> None:
    erp = fake.gate("get_price")
    leader, joiner = await _one_then_another(
        shared, erp, lambda c: shared.get_price(c, price_query())
    )

    leader.cancel()
    assert await eventually(lambda: _calls(fake, "get_price") == 2)
    erp.open()
    price = await joiner

    assert leader.cancelled()
    assert fake.cancelled == ["get_price"]  # the leader's own call, and only that
    assert price.net_price == Decimal("10.00")
    assert shared.in_flight == 0


async def test_a_read_that_leaves_does_not_cancel_the_call_others_wait_for(
    shared: SingleFlightBackend, fake: FakeErp
) -> None:
    erp = fake.gate("get_price")
    leader, joiner = await _one_then_another(
        shared, erp, lambda c: shared.get_price(c, price_query())
    )

    joiner.cancel()
    assert await eventually(lambda: shared.waiting == 0)
    erp.open()

    assert (await leader).net_price == Decimal("10.00")
    assert joiner.cancelled()
    assert fake.cancelled == []
    assert _calls(fake, "get_price") == 1


@dataclass
class _TimesOutFirst:
    """The ERP's first price call times out (at its caller's deadline); later ones answer."""

    inner: FakeErp
    timeouts: list[str] = field(default_factory=lambda: ["first"])

    @property
    def vendor(self) -> str:
        return self.inner.vendor

    async def get_price(self, ctx: CallContext, query: PriceQuery) -> object:
        answer = await self.inner.get_price(ctx, query)
        if self.timeouts:
            self.timeouts.pop()
            raise BackendTimeoutError("no answer before the deadline", vendor="infor_m3")
        return answer

    async def create_order(self, ctx: CallContext, order: OrderRequest) -> object:
        raise AssertionError("not used")


async def test_a_read_with_more_time_than_a_timed_out_call_makes_its_own(
    fake: FakeErp,
) -> None:
    shared = SingleFlightBackend(_TimesOutFirst(fake))  # type: ignore[arg-type]
    erp = fake.gate("get_price")
    hurried, patient = await _one_then_another(
        shared, erp, lambda c: shared.get_price(c, price_query()), _within(5), _within(50)
    )
    erp.open()

    with pytest.raises(BackendTimeoutError):
        await hurried
    assert (await patient).net_price == Decimal("10.00")
    assert _calls(fake, "get_price") == 2


async def test_a_read_with_no_more_time_than_a_timed_out_call_shares_its_timeout(
    fake: FakeErp,
) -> None:
    shared = SingleFlightBackend(_TimesOutFirst(fake))  # type: ignore[arg-type]
    erp = fake.gate("get_price")
    deadline = _within(50)
    first, second = await _one_then_another(
        shared, erp, lambda c: shared.get_price(c, price_query()), deadline, deadline
    )
    erp.open()

    for read in (first, second):
        with pytest.raises(BackendTimeoutError):
            await read
    assert _calls(fake, "get_price") == 1


async def test_what_is_not_a_reference_read_passes_straight_through(
    shared: SingleFlightBackend, fake: FakeErp
) -> None:
    erp = fake.gate("ping")
    pings = asyncio.gather(shared.ping(CTX), shared.ping(CTX))
    assert await eventually(lambda: _calls(fake, "ping") == 2)
    assert shared.waiting == 0
    erp.open()
    await pings
    with pytest.raises(BackendUnavailableError, match="not supported by the fake"):
        await shared.get_order(CTX, "ORD-1")  # the inner backend's own answer
