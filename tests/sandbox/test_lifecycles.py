"""The emulators' order-to-cash controls refuse what the ERP would refuse, stamp every change
on the ERP's own modification fields, and M3's EXPORTMI reads them the way M3 does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from sandbox.infor import InforEmulator
from sandbox.intacct import IntacctEmulator
from tests.support.orders_env import FakeClock

BASE = "http://erp.test"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at=datetime(2026, 12, 3, 10, 0, tzinfo=UTC))


@pytest.fixture
async def intacct(clock: FakeClock) -> AsyncIterator[tuple[IntacctEmulator, httpx.AsyncClient]]:
    # Seeded as of the test's clock, not the machine's date: the seed's change stamps stay
    # before the test's own changes whatever day it runs.
    emulator = IntacctEmulator(public_url=BASE, wall_clock=clock.now, today=clock.now().date())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app),
                                 base_url=BASE) as http:  # fmt: skip
        yield emulator, http


@pytest.fixture
async def infor(clock: FakeClock) -> AsyncIterator[tuple[InforEmulator, httpx.AsyncClient]]:
    emulator = InforEmulator(public_url=BASE, wall_clock=clock.now, today=clock.now().date())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app),
                                 base_url=BASE) as http:  # fmt: skip
        yield emulator, http


async def step(http: httpx.AsyncClient, action: str, **spec: Any) -> httpx.Response:
    return await http.post(f"/_sandbox/lifecycle/{action}", json=spec)


async def test_intacct_refuses_unknown_orders_and_shipping_more_than_ordered(
    intacct: tuple[IntacctEmulator, httpx.AsyncClient],
) -> None:
    emulator, http = intacct
    assert (await step(http, "ship", order="SO9999")).status_code == 404
    open_order = next(
        r for r in emulator.store.tables["SODOCUMENT"]
        if r["DOCPARID"] == "Sales Order" and r["STATE"] == "Pending"
    )  # fmt: skip
    too_many = await step(http, "ship", order=open_order["DOCNO"], lines={"1": "100000"})
    assert too_many.status_code == 422
    assert "more than" in too_many.json()["error"]
    assert (await step(http, "invoice", order=open_order["DOCNO"])).status_code == 409
    assert (await step(http, "credit", customer="CUST-DE-001", limit=-1)).status_code == 422
    assert (await http.get("/_sandbox/lifecycle/ship")).status_code == 405


async def test_intacct_stamps_each_change_on_what_it_touched(
    intacct: tuple[IntacctEmulator, httpx.AsyncClient], clock: FakeClock
) -> None:
    emulator, http = intacct
    order = next(
        r for r in emulator.store.tables["SODOCUMENT"]
        if r["DOCPARID"] == "Sales Order" and r["STATE"] == "Pending"
    )  # fmt: skip
    clock.advance(60)
    shipped = (await step(http, "ship", order=order["DOCNO"], carrier="DHL", tracking="T-1")).json()
    assert order["WHENMODIFIED"] == "12/03/2026 10:01:00"
    shipper = next(
        r for r in emulator.store.tables["SODOCUMENT"] if r["DOCNO"] == shipped["shipment"]
    )
    assert (shipper["CREATEDFROM"], shipper["SHIPVIA"], shipper["TRACKINGNUMBER"]) == (
        order["DOCID"], "DHL", "T-1"
    )  # fmt: skip
    clock.advance(60)
    billed = (await step(http, "invoice", order=order["DOCNO"], tax_rate="0.19")).json()
    invoice = next(
        r for r in emulator.store.tables["ARINVOICE"] if r["RECORDID"] == billed["invoice"]
    )
    customer = next(r for r in emulator.store.tables["CUSTOMER"]
                    if r["CUSTOMERID"] == order["CUSTVENDID"])  # fmt: skip
    assert invoice["WHENMODIFIED"] == customer["WHENMODIFIED"] == "12/03/2026 10:02:00"
    assert invoice["TOTALDUE"] == billed["total"]
    clock.advance(60)
    paid = (await step(http, "pay", invoice=billed["invoice"], amount="1.00")).json()
    assert paid["applied"] == {billed["invoice"]: "1"}
    assert (invoice["STATE"], invoice["WHENMODIFIED"]) == ("Partially Paid", "12/03/2026 10:03:00")
    detail = emulator.store.tables["ARPYMTDETAIL"][-1]
    assert detail["RECORDKEY"] == invoice["RECORDNO"]


async def _mi(
    http: httpx.AsyncClient, em: InforEmulator, name: str, **inputs: str
) -> httpx.Response:
    doc = em.ionapi_document()
    token = (await http.post(doc["pu"] + doc["ot"], data={
        "grant_type": "password", "username": doc["saak"], "password": doc["sask"],
        "client_id": doc["ci"], "client_secret": doc["cs"],
    })).json()["access_token"]  # fmt: skip
    url = f"/{em.tenant}/M3/m3api-rest/v2/execute/{name};maxrecs=0?{urlencode(inputs)}"
    return await http.get(url, headers={"Authorization": f"Bearer {token}"})


async def test_m3_changes_are_found_by_change_stamp_through_exportmi(
    infor: tuple[InforEmulator, httpx.AsyncClient], clock: FakeClock
) -> None:
    emulator, http = infor
    clock.advance(60)
    assert (await step(http, "allocate", order="1000000002")).status_code == 200
    clock.advance(60)
    shipped = (await step(http, "ship", order="1000000002", carrier="FDX", tracking="T-9")).json()
    since = (clock.now() - timedelta(seconds=90)).strftime("%Y%m%d%H%M%S") + "000"
    heads = await _mi(http, emulator, "EXPORTMI/Select", SEPC=";",
                      QERY=f"OAORNO, OAORST, OALMTS from OOHEAD where OALMTS >= {since}")  # fmt: skip
    records = heads.json()["results"][0]["records"]
    assert [r["REPL"].strip() for r in records] == ["1000000002;66;20261203100200000"]
    deliveries = await _mi(http, emulator, "EXPORTMI/Select", SEPC=";",
                           QERY=f"OQDLIX, OQFWNO, OQETRN from MHDISH where OQLMTS >= {since}")  # fmt: skip
    assert [r["REPL"].strip() for r in deliveries.json()["results"][0]["records"]] == [
        f"{shipped['delivery']};FDX;T-9"
    ]  # fmt: skip
    lines = await _mi(http, emulator, "OIS100MI/LstLine", ORNO="1000000002")
    assert {r["DLQT"].strip() for r in lines.json()["results"][0]["records"]} != {"0"}


@pytest.mark.parametrize(("query", "code"), [
    ("OAORNO FROM OOHEAD", "XEX0002"),
    ("OAORNO from NOSUCH", "XEX0001"),
    ("OAXXXX from OOHEAD", "XEX0003"),
    ("OAORNO from OOHEAD where OACONO = 100", "XEX0004"),
    ("OAORNO from OOHEAD where OAORST >", "XEX0002"),
])  # fmt: skip
async def test_exportmi_refuses_queries_m3_refuses(
    infor: tuple[InforEmulator, httpx.AsyncClient], query: str, code: str
) -> None:
    emulator, http = infor
    response = await _mi(http, emulator, "EXPORTMI/Select", QERY=query)
    body = response.json()
    error = body.get("errorCode") or body["results"][0]["errorCode"]
    assert error.strip() == code


async def test_the_autopilot_starts_and_stops_by_control_call(
    intacct: tuple[IntacctEmulator, httpx.AsyncClient],
    infor: tuple[InforEmulator, httpx.AsyncClient],
) -> None:
    for _emulator, http in (intacct, infor):
        assert (await step(http, "autopilot", every_s=0.01)).status_code == 422
        assert (await step(http, "autopilot", every_s=30)).json() == {"autopilot": 30}
        assert (await step(http, "autopilot", every_s=None)).json() == {"autopilot": None}
        assert (await step(http, "tick")).json() == {"advanced": []}
