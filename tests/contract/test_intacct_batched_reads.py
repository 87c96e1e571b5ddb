"""Intacct reads that start together share one multi-function request; each read still gets
its own answer or its own error, and writes always go alone.

A batch here is flushed by reaching ``batch_max_functions`` (the window is a minute), so what
shares a request never depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from sandbox.intacct import Fault, IntacctEmulator
from system_apis.contract import CallContext, OrderLine, OrderRequest, PriceQuery
from system_apis.sage_intacct import (
    IntacctAdapter,
    IntacctClient,
    IntacctError,
    IntacctUnavailableError,
)
from tests.support.intacct_env import intacct_adapter, served_intacct

DE = CallContext(company="DE01")
_MINUTE = 60.0
_ITEM = ("ITEMID", "NAME")


@pytest.fixture
async def emulator() -> AsyncIterator[IntacctEmulator]:
    async with served_intacct() as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _client(emulator: IntacctEmulator, http: httpx.AsyncClient, **options: object) -> IntacctClient:
    adapter: IntacctAdapter = intacct_adapter(http, emulator, request_timeout=5.0, **options)
    return adapter.client


def _reads(emulator: IntacctEmulator) -> list[tuple[str, ...]]:
    """The function names of each request after sign-in."""
    return [r.function_names for r in emulator.received if r.function_names != ("getAPISession",)]


async def test_one_failing_read_in_a_batch_fails_only_its_own_caller(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http, batch_window=_MINUTE, batch_max_functions=3)

    item, unknown, customer = await asyncio.gather(
        client.read_by_query(DE, "ITEM", _ITEM, "ITEMID = 'ITM-0001'"),
        client.read_by_query(DE, "NO_SUCH_OBJECT", ("X",), ""),
        client.read_by_query(DE, "CUSTOMER", ("CUSTOMERID",), "CUSTOMERID = 'CUST-DE-001'"),
        return_exceptions=True,
    )

    assert _reads(emulator) == [("readByQuery", "readByQuery", "readByQuery")]
    batch = emulator.received[-1]
    assert (batch.transaction, batch.outcome) == (False, "failure")
    assert item == [{"ITEMID": "ITM-0001", "NAME": item[0]["NAME"]}]  # type: ignore[index]
    assert customer == [{"CUSTOMERID": "CUST-DE-001"}]
    # The same error the read gets when it goes alone.
    alone = _client(emulator, http)
    with pytest.raises(IntacctError) as expected:
        await alone.read_by_query(DE, "NO_SUCH_OBJECT", ("X",), "")
    assert isinstance(unknown, type(expected.value))
    assert str(unknown) == str(expected.value)


async def test_a_batch_that_fails_as_a_whole_fails_each_of_its_reads(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http, batch_window=_MINUTE, batch_max_functions=2)
    await asyncio.gather(  # signs in
        client.read_by_query(DE, "LOCATION", ("LOCATIONID",), ""),
        client.read_by_query(DE, "WAREHOUSE", ("WAREHOUSEID",), ""),
    )
    emulator.set_fault("readByQuery", Fault(kind="status", status=503, times=1))

    outcomes = await asyncio.gather(
        client.read_by_query(DE, "ITEM", _ITEM, "ITEMID = 'ITM-0001'"),
        client.read_by_query(DE, "ITEM", _ITEM, "ITEMID = 'ITM-0002'"),
        return_exceptions=True,
    )

    assert [type(o) for o in outcomes] == [IntacctUnavailableError, IntacctUnavailableError]
    assert emulator.received[-1].function_names == ("readByQuery", "readByQuery")


async def test_a_refused_session_is_renewed_and_the_batch_sent_once_more(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http, batch_window=_MINUTE, batch_max_functions=2)
    await asyncio.gather(
        client.read_by_query(DE, "ITEM", _ITEM, "ITEMID = 'ITM-0001'"),
        client.read_by_query(DE, "ITEM", _ITEM, "ITEMID = 'ITM-0002'"),
    )
    emulator.expire_sessions()
    emulator.received.clear()

    again = await asyncio.gather(
        client.read_by_query(DE, "ITEM", _ITEM, "ITEMID = 'ITM-0003'"),
        client.read_by_query(DE, "ITEM", _ITEM, "ITEMID = 'ITM-0004'"),
    )

    assert [rows[0]["ITEMID"] for rows in again] == ["ITM-0003", "ITM-0004"]
    assert [(r.function_names, r.outcome) for r in emulator.received] == [
        (("readByQuery", "readByQuery"), "auth_failure"),
        (("getAPISession",), "success"),
        (("readByQuery", "readByQuery"), "success"),
    ]


async def test_writes_are_never_batched(emulator: IntacctEmulator, http: httpx.AsyncClient) -> None:
    adapter = intacct_adapter(http, emulator, request_timeout=5.0, batch_window=0.001)
    order = OrderRequest(
        external_ref="SF-BATCH-1",
        customer_id="CUST-DE-001",
        currency="EUR",
        order_date=date.today(),
        lines=(OrderLine(line_no=1, item_id="ITM-0001", quantity=Decimal(2), uom="BOX"),),
    )
    price = PriceQuery(
        customer_id="CUST-DE-001",
        item_id="ITM-0002",
        quantity=Decimal(1),
        uom="EA",
        currency="EUR",
        on_date=date.today(),
    )

    ack, _, _ = await asyncio.gather(
        adapter.create_order(DE, order),
        adapter.get_price(DE, price),
        adapter.get_availability(DE, "ITM-0003"),
    )

    assert ack.created
    writes = [r for r in emulator.received if "create_sotransaction" in r.function_names]
    assert [w.function_names for w in writes] == [("create_sotransaction",)]
    assert any(len(names) > 1 for names in _reads(emulator))  # the reads did share requests
