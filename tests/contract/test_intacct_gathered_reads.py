"""Reads of one object by id that start together go to Intacct as one ``readByQuery`` with
``IN (...)``, and each caller gets exactly the rows its own query reads alone.

Against the emulator over loopback HTTP. The client's batch window is a minute and closes on
``batch_max_functions``, so which reads share a request never depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.intacct import Fault, IntacctEmulator
from system_apis.contract import CallContext
from system_apis.sage_intacct import IntacctClient, IntacctError
from system_apis.sage_intacct.gathered import MAX_GATHERED, Gathered
from system_apis.sage_intacct.wire import Record
from tests.support.intacct_env import intacct_adapter, served_intacct

DE = CallContext(company="DE01")
_MINUTE = 60.0
_ENTRY = ("PRICELISTID", "ITEMID", "PRODUCTLINEID", "VALUE")
_STOCK = ("WAREHOUSEID", "WONHAND")
_WHERE = "PRICELISTID IN ('EUR Standard')"


@pytest.fixture
async def emulator() -> AsyncIterator[IntacctEmulator]:
    async with served_intacct() as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _client(
    emulator: IntacctEmulator, http: httpx.AsyncClient, *, batch_max_functions: int = 1
) -> IntacctClient:
    return intacct_adapter(
        http,
        emulator,
        request_timeout=5.0,
        batch_window=_MINUTE,
        batch_max_functions=batch_max_functions,
    ).client


def _gathered(client: IntacctClient) -> Gathered:
    return Gathered(client.read_by_query)


def _queries(emulator: IntacctEmulator) -> list[tuple[str, str]]:
    return [
        (f.inputs.get("object", ""), f.inputs.get("query", ""))
        for r in emulator.received
        for f in r.functions
        if f.name == "readByQuery"
    ]


def _product_lines(emulator: IntacctEmulator) -> dict[str, str]:
    return {r["ITEMID"]: r.get("PRODUCTLINEID", "") for r in emulator.store.tables["ITEM"]}


async def _alone(
    client: IntacctClient, obj: str, fields: tuple[str, ...], query: str
) -> list[Record]:
    return await client.read_by_query(DE, obj, fields, query)


async def test_reads_started_together_are_one_query_and_each_gets_its_own_rows(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http)
    await client.read_by_query(DE, "LOCATION", ("LOCATIONID",), "")  # signs in
    lines = _product_lines(emulator)
    items = ["ITM-0001", "ITM-0002", "ITM-0003", "ITM-0005"]
    gathered = _gathered(client)
    emulator.received.clear()

    answers = await asyncio.gather(
        *(
            gathered.rows(
                DE, "SOPRICELISTENTRY", _ENTRY, [("ITEMID", i), ("PRODUCTLINEID", lines[i])], _WHERE
            )
            for i in items
        )
    )

    # One function, by every item and every product line.
    [(obj, query)] = _queries(emulator)
    assert obj == "SOPRICELISTENTRY"
    assert query.startswith("(ITEMID IN ('ITM-0001', 'ITM-0002', 'ITM-0003', 'ITM-0005') OR ")
    assert query.endswith(f") AND {_WHERE}")
    # Each caller's rows are what its own query reads: no more, no fewer, in the same order.
    for item, rows in zip(items, answers, strict=True):
        own = (
            f"(ITEMID = '{item}' OR PRODUCTLINEID = '{lines[item]}') AND {_WHERE}"
            if lines[item]
            else f"ITEMID = '{item}' AND {_WHERE}"
        )
        expected = await _alone(client, "SOPRICELISTENTRY", _ENTRY, own)
        assert expected, item
        assert [{k: r[k] for k in _ENTRY} for r in rows] == expected


async def test_a_read_alone_goes_as_its_own_query(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http)
    gathered = _gathered(client)

    rows = await gathered.rows(DE, "ITEMWAREHOUSEINFO", _STOCK, [("ITEMID", "ITM-0001")])

    assert _queries(emulator)[-1] == ("ITEMWAREHOUSEINFO", "ITEMID = 'ITM-0001'")
    assert rows == await _alone(client, "ITEMWAREHOUSEINFO", _STOCK, "ITEMID = 'ITM-0001'")
    assert rows


async def test_reads_of_different_objects_or_conditions_are_not_gathered(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http, batch_max_functions=3)
    gathered = _gathered(client)

    await asyncio.gather(
        gathered.rows(DE, "ITEMWAREHOUSEINFO", _STOCK, [("ITEMID", "ITM-0001")]),
        gathered.rows(DE, "ITEMWAREHOUSEINFO", _STOCK, [("ITEMID", "ITM-0002")], "WONHAND > 0"),
        gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "ITM-0003")]),
    )

    assert sorted(_queries(emulator)[-3:]) == [
        ("ITEM", "ITEMID = 'ITM-0003'"),
        ("ITEMWAREHOUSEINFO", "ITEMID = 'ITM-0001'"),
        ("ITEMWAREHOUSEINFO", "ITEMID = 'ITM-0002' AND WONHAND > 0"),
    ]


async def test_more_reads_than_one_gathering_holds_are_split(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http, batch_max_functions=2)
    gathered = _gathered(client)
    ids = [f"ITM-{n:04d}" for n in range(1, MAX_GATHERED + 6)]

    answers = await asyncio.gather(
        *(gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", i)]) for i in ids)
    )

    queries = [q for o, q in _queries(emulator) if o == "ITEM"]
    assert len(queries) == 2
    assert queries[0].count("'ITM-") == MAX_GATHERED
    assert queries[1].count("'ITM-") == 5
    known = {r["ITEMID"] for r in emulator.store.tables["ITEM"]}
    for item, rows in zip(ids, answers, strict=True):
        assert [r["ITEMID"] for r in rows] == ([item] if item in known else [])


async def test_a_failed_query_fails_every_read_gathered_into_it(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http)
    await client.read_by_query(DE, "LOCATION", ("LOCATIONID",), "")  # signs in
    gathered = _gathered(client)
    emulator.set_fault("readByQuery", Fault(kind="status", status=503))

    outcomes = await asyncio.gather(
        gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "ITM-0001")]),
        gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "ITM-0002")]),
        return_exceptions=True,
    )

    assert all(isinstance(o, IntacctError) for o in outcomes), outcomes
    assert outcomes[0] is outcomes[1]  # one request failed: the same error for both


async def test_a_caller_that_leaves_does_not_stop_the_others(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http)
    gathered = _gathered(client)

    leaving = asyncio.ensure_future(
        gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "ITM-0001")])
    )
    staying = gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "ITM-0002")])
    leaving.cancel()

    rows = await staying

    assert [r["ITEMID"] for r in rows] == ["ITM-0002"]
    assert leaving.cancelled()


async def test_an_empty_id_reads_nothing_and_asks_nothing(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http)
    before = len(emulator.received)

    rows = await _gathered(client).rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "")])

    assert rows == []
    assert len(emulator.received) == before


async def test_with_batching_off_every_read_is_its_own_query(
    emulator: IntacctEmulator, http: httpx.AsyncClient
) -> None:
    client = _client(emulator, http)
    gathered = Gathered(
        client.read_by_query,
        enabled=False,
    )

    await asyncio.gather(
        gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "ITM-0001")]),
        gathered.rows(DE, "ITEM", ("ITEMID",), [("ITEMID", "ITM-0002")]),
    )

    assert sorted(q for o, q in _queries(emulator) if o == "ITEM") == [
        "ITEMID = 'ITM-0001'",
        "ITEMID = 'ITM-0002'",
    ]
