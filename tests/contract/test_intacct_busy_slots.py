"""Intacct reads while the company's request slots are busy, and the reads one request shares.

The emulator is reached in-process (no sockets); a held transport keeps a request in flight
until the test lets it go, so what waits for a slot, and what goes together, never depends
on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from sandbox.intacct import IntacctEmulator
from system_apis.contract import CallContext, PriceQuery
from system_apis.sage_intacct import IntacctAdapter, IntacctTimeoutError
from tests.support.intacct_env import intacct_adapter

DE = CallContext(company="DE01")
_ITEM = ("ITEMID", "NAME")


class HeldTransport(httpx.AsyncBaseTransport):
    """Holds every request while ``gate`` is clear; ``held`` counts those waiting in it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.gate.set()
        self.held = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.held += 1
        try:
            await self.gate.wait()
        finally:
            self.held -= 1
        return await self.inner.handle_async_request(request)


@pytest.fixture
def emulator() -> IntacctEmulator:
    return IntacctEmulator(public_url="http://intacct.test")


@pytest.fixture
async def transport(emulator: IntacctEmulator) -> HeldTransport:
    return HeldTransport(httpx.ASGITransport(emulator.app))


@pytest.fixture
async def adapter(
    emulator: IntacctEmulator, transport: HeldTransport
) -> AsyncIterator[IntacctAdapter]:
    async with httpx.AsyncClient(transport=transport) as http:
        # One request slot; a zero window: a batch goes on the loop's next turn.
        yield intacct_adapter(
            http, emulator, max_in_flight=1, batch_window=0.0, request_timeout=5.0
        )


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


def _reads(emulator: IntacctEmulator) -> list[list[str]]:
    """Per request after sign-in, the query of each function it carried."""
    return [
        [f.inputs.get("query", "") for f in r.functions]
        for r in emulator.received
        if r.function_names != ("getAPISession",)
    ]


def _item(n: int) -> str:
    return f"ITEMID = 'ITM-{n:04d}'"


async def test_reads_waiting_for_a_busy_slot_go_out_together_in_the_next_request(
    adapter: IntacctAdapter, emulator: IntacctEmulator, transport: HeldTransport
) -> None:
    client = adapter.client
    await client.read_by_query(DE, "LOCATION", ("LOCATIONID",), "")  # signs in
    emulator.received.clear()
    transport.gate.clear()

    first = asyncio.ensure_future(client.read_by_query(DE, "ITEM", _ITEM, _item(1)))
    await _settle()
    assert transport.held == 1  # in flight, holding the only slot
    later = []
    for n in (2, 3, 3, 4):  # each in a window of its own, while the slot is busy
        later.append(asyncio.ensure_future(client.read_by_query(DE, "ITEM", _ITEM, _item(n))))
        await _settle()
    assert transport.held == 1  # they wait for the slot, none has a request of its own
    transport.gate.set()
    rows = await asyncio.gather(first, *later)

    # Everything queued while the slot was busy went in the next request; the same read
    # asked twice went once.
    assert _reads(emulator) == [[_item(1)], [_item(2), _item(3), _item(4)]]
    assert [r[0]["ITEMID"] for r in rows] == [
        "ITM-0001",
        "ITM-0002",
        "ITM-0003",
        "ITM-0003",
        "ITM-0004",
    ]


async def test_a_shared_read_with_more_pages_is_paged_by_each_reader_on_its_own(
    adapter: IntacctAdapter, emulator: IntacctEmulator
) -> None:
    client = adapter.client
    alone = await client.read_by_query(DE, "WAREHOUSE", ("WAREHOUSEID",), "", pagesize=1)
    assert len(alone) > 1  # more than one page

    both = await asyncio.gather(
        client.read_by_query(DE, "WAREHOUSE", ("WAREHOUSEID",), "", pagesize=1),
        client.read_by_query(DE, "WAREHOUSE", ("WAREHOUSEID",), "", pagesize=1),
    )

    assert both == [alone, alone]


async def test_one_requests_reads_of_a_customer_and_an_item_are_made_once(
    adapter: IntacctAdapter, emulator: IntacctEmulator
) -> None:
    quote = CallContext(company="DE01", deadline=time.monotonic() + 30, correlation_id="q-1")
    price = PriceQuery(
        customer_id="CUST-DE-001",
        item_id="ITM-0001",
        quantity=Decimal(1),
        uom="EA",
        currency="EUR",
        on_date=date.today(),
    )
    await adapter.get_item(DE, "ITM-0009")  # signs in
    emulator.received.clear()

    credit, item, priced, availability = await asyncio.gather(
        adapter.get_customer_credit(quote, "CUST-DE-001"),
        adapter.get_item(quote, "ITM-0001"),
        adapter.get_price(quote, price),
        adapter.get_availability(quote, "ITM-0001"),
    )

    objects = [f.inputs.get("object") for r in emulator.received for f in r.functions]
    assert objects.count("CUSTOMER") == 1  # for credit and for the price
    assert objects.count("ITEM") == 1  # for the item, its price and its availability
    assert objects.count("UOMDETAIL") == 1
    assert (credit.customer_id, item.item_id, priced.item_id) == (
        "CUST-DE-001",
        "ITM-0001",
        "ITM-0001",
    )
    assert {a.item_id for a in availability} == {"ITM-0001"}
    # Another request reads for itself.
    other = CallContext(company="DE01", deadline=time.monotonic() + 30, correlation_id="q-2")
    await adapter.get_item(other, "ITM-0001")
    objects = [f.inputs.get("object") for r in emulator.received for f in r.functions]
    assert objects.count("ITEM") == 2


def _price_query(item_id: str = "ITM-0001") -> PriceQuery:
    return PriceQuery(
        customer_id="CUST-DE-001",
        item_id=item_id,
        quantity=Decimal(1),
        uom="EA",
        currency="EUR",
        on_date=date.today(),
    )


async def test_a_price_of_a_customer_and_item_read_before_takes_one_request(
    adapter: IntacctAdapter, emulator: IntacctEmulator
) -> None:
    first = await adapter.get_price(DE, _price_query())  # learns the price list, unit group
    emulator.received.clear()

    again = await adapter.get_price(DE, _price_query())

    assert [sorted(f.inputs.get("object", "") for f in r.functions) for r in emulator.received] == [
        ["CUSTOMER", "ITEM", "SOPRICELISTENTRY", "UOMDETAIL"]
    ]
    assert (again.net_price, again.price_list) == (first.net_price, first.price_list)


async def test_a_price_whose_item_changed_since_is_read_again_and_right(
    adapter: IntacctAdapter, emulator: IntacctEmulator
) -> None:
    await adapter.get_price(DE, _price_query())
    item = next(r for r in emulator.store.tables["ITEM"] if r["ITEMID"] == "ITM-0001")
    other_line = next(
        r["PRODUCTLINEID"]
        for r in emulator.store.tables["ITEM"]
        if r.get("PRODUCTLINEID") and r["PRODUCTLINEID"] != item.get("PRODUCTLINEID")
    )
    item["PRODUCTLINEID"] = other_line
    fresh = intacct_adapter(  # knows nothing yet: what the answer must be
        adapter.client._http, emulator, batch_window=0.0, request_timeout=5.0
    )
    expected = await fresh.get_price(DE, _price_query())
    emulator.received.clear()

    again = await adapter.get_price(DE, _price_query())

    # The guess went out with the first request and was wrong: one more request, right answer.
    assert len(emulator.received) == 2
    last = [f.inputs for f in emulator.received[-1].functions]
    assert [i["object"] for i in last] == ["SOPRICELISTENTRY"]
    assert other_line in last[0]["query"]
    assert (again.net_price, again.price_list, again.discounts) == (
        expected.net_price,
        expected.price_list,
        expected.discounts,
    )


async def test_a_read_out_of_time_while_the_slot_is_busy_fails_at_once(
    adapter: IntacctAdapter, emulator: IntacctEmulator, transport: HeldTransport
) -> None:
    client = adapter.client
    await client.read_by_query(DE, "LOCATION", ("LOCATIONID",), "")  # signs in
    transport.gate.clear()
    busy = asyncio.ensure_future(client.read_by_query(DE, "ITEM", _ITEM, _item(1)))
    await _settle()
    emulator.received.clear()

    late = CallContext(company="DE01", deadline=time.monotonic())  # nothing left of it
    with pytest.raises(IntacctTimeoutError):
        await client.read_by_query(late, "ITEM", _ITEM, _item(2))

    transport.gate.set()
    assert (await busy)[0]["ITEMID"] == "ITM-0001"
    assert [r.function_names for r in emulator.received] == [("readByQuery",)]  # only the first
