"""Infor reads under latency: how many rounds of requests an answer takes, and bulk requests."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx

from sandbox.infor import InforEmulator
from system_apis.contract import CallContext
from system_apis.infor_m3 import IonApiCredentials, M3Adapter
from system_apis.infor_m3.errors import M3NotFoundError

M3 = CallContext(company="100", division="US1")


class HeldTransport(httpx.AsyncBaseTransport):
    """Holds every request until the test lets the round go: what is held is one round."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.held: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # .../execute/PROGRAM/TRANSACTION;matrix...: the transaction's name
        program, transaction = request.url.path.split(";")[0].rsplit("/", 2)[-2:]
        self.held.append(f"{program}/{transaction}")
        await self.gate.wait()
        return await self.inner.handle_async_request(request)


def _adapter(emulator: InforEmulator, http: httpx.AsyncClient, **options: float) -> M3Adapter:
    with tempfile.TemporaryDirectory() as tmp:
        ionapi = IonApiCredentials.from_file(emulator.write_ionapi(Path(tmp) / "t.ionapi"))
    return M3Adapter(http, ionapi=ionapi, **options)


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_availability_asks_the_known_warehouses_with_the_listing() -> None:
    emulator = InforEmulator(public_url="http://ion.test")
    transport = HeldTransport(httpx.ASGITransport(emulator.app))
    async with httpx.AsyncClient(transport=transport) as http:
        adapter = _adapter(emulator, http)
        first = await adapter.get_availability(M3, "A1001")  # learns where A1001 is stocked
        transport.held.clear()
        transport.gate.clear()

        call = asyncio.ensure_future(adapter.get_availability(M3, "A1001"))
        await _settle()
        one_round = sorted(transport.held)
        transport.gate.set()
        again = await call

    assert one_round == sorted(
        ["MMS200MI/LstItmWhsByItm"]
        + [tx for _ in first for tx in ("MMS200MI/GetItmWhsBal", "OIS100MI/GetATP")]
    )
    assert [(a.warehouse_id, a.on_hand) for a in again] == [
        (a.warehouse_id, a.on_hand) for a in first
    ]


async def test_reads_starting_together_share_one_bulk_request_per_program() -> None:
    emulator = InforEmulator(public_url="http://ion.test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(emulator.app)) as http:
        single = _adapter(emulator, http)
        alone = await asyncio.gather(single.get_item(M3, "A1001"), single.get_item(M3, "A1002"))
        emulator.received.clear()

        batched = _adapter(emulator, http, batch_window=0.001)
        together = await asyncio.gather(
            batched.get_item(M3, "A1001"),
            batched.get_item(M3, "A1002"),
            batched.get_item(M3, "NOPE"),
            return_exceptions=True,
        )

    assert [(i.item_id, i.base_uom, i.uoms) for i in alone] == [
        (i.item_id, i.base_uom, i.uoms)
        for i in together[:2]  # type: ignore[union-attr]
    ]
    assert isinstance(together[2], M3NotFoundError)  # its refusal is its own
    mi = [(r.kind, r.name) for r in emulator.received if r.kind != "token"]
    assert sorted(mi) == sorted(
        [("bulk", "MMS200MI/GetItmBasic")] * 3 + [("bulk", "MMS015MI/Lst")] * 3
    )
